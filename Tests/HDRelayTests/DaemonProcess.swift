// Runs the built `hyper-derp` binary as a child process and watches its stderr.
// `swift test` does not build executables for test targets, so `swift build`
// must run first (the Makefile's `test` target does); a missing binary fails
// the test with that instruction.
import Foundation
import XCTest

final class DaemonProcess: @unchecked Sendable {
  /// `<scratch>/debug/hyper-derp`, next to the running test bundle.
  static var binaryPath: String {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var dir = (exe as NSString).deletingLastPathComponent
    // The bundle executable may sit inside `<name>.xctest/` on some layouts.
    if dir.hasSuffix(".xctest") { dir = (dir as NSString).deletingLastPathComponent }
    return dir + "/hyper-derp"
  }

  let process = Process()
  private let stderrPipe = Pipe()
  private let stdoutPipe = Pipe()
  private let lock = NSLock()
  private var stderrText = ""
  private var stdoutText = ""

  /// Starts `hyper-derp arguments…`; with `shellPrefix` the binary is exec'd
  /// from /bin/sh after that prefix (e.g. "ulimit -Sn 1024").
  init(arguments: [String], environment: [String: String] = [:], shellPrefix: String? = nil) throws {
    let binary = DaemonProcess.binaryPath
    guard FileManager.default.isExecutableFile(atPath: binary) else {
      throw DaemonProcessError("hyper-derp binary not found at \(binary): run `swift build` (same --scratch-path) before `swift test`")
    }
    if let prefix = shellPrefix {
      process.executableURL = URL(fileURLWithPath: "/bin/sh")
      let quoted = ([binary] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
      process.arguments = ["-c", prefix + " && exec " + quoted.joined(separator: " ")]
    } else {
      process.executableURL = URL(fileURLWithPath: binary)
      process.arguments = arguments
    }
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "NOTIFY_SOCKET")
    for (key, value) in environment { env[key] = value }
    process.environment = env
    process.standardError = stderrPipe
    process.standardOutput = stdoutPipe
    stderrPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
      let data = handle.availableData
      guard let self, !data.isEmpty else { return }
      self.lock.lock()
      self.stderrText += String(decoding: data, as: UTF8.self)
      self.lock.unlock()
    }
    stdoutPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
      let data = handle.availableData
      guard let self, !data.isEmpty else { return }
      self.lock.lock()
      self.stdoutText += String(decoding: data, as: UTF8.self)
      self.lock.unlock()
    }
    try process.run()
  }

  deinit {
    if process.isRunning {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
    }
    stderrPipe.fileHandleForReading.readabilityHandler = nil
    stdoutPipe.fileHandleForReading.readabilityHandler = nil
  }

  var pid: Int32 { process.processIdentifier }

  var stderr: String {
    lock.lock()
    defer { lock.unlock() }
    return stderrText
  }

  var stdout: String {
    lock.lock()
    defer { lock.unlock() }
    return stdoutText
  }

  var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }

  /// Waits until stderr contains `text`; false after the timeout or if the process exited first.
  @discardableResult
  func waitForLog(_ text: String, timeoutSeconds: Double = 10) -> Bool {
    let deadline = Date().addingTimeInterval(timeoutSeconds)
    while Date() < deadline {
      if stderr.contains(text) { return true }
      if !process.isRunning {
        Thread.sleep(forTimeInterval: 0.1)
        return stderr.contains(text)
      }
      Thread.sleep(forTimeInterval: 0.02)
    }
    return false
  }

  func signal(_ number: Int32) { kill(pid, number) }

  /// The exit status, or nil if still running after the timeout.
  func waitForExit(timeoutSeconds: Double) -> Int32? {
    let deadline = Date().addingTimeInterval(timeoutSeconds)
    while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
    guard !process.isRunning else { return nil }
    drainPipes()
    return process.terminationStatus
  }

  /// After exit: stop the async readers and take whatever is still in the pipes.
  private func drainPipes() {
    stderrPipe.fileHandleForReading.readabilityHandler = nil
    stdoutPipe.fileHandleForReading.readabilityHandler = nil
    let restErr = stderrPipe.fileHandleForReading.readDataToEndOfFile()
    let restOut = stdoutPipe.fileHandleForReading.readDataToEndOfFile()
    lock.lock()
    stderrText += String(decoding: restErr, as: UTF8.self)
    stdoutText += String(decoding: restOut, as: UTF8.self)
    lock.unlock()
  }

  /// Runs to completion (one-shot actions): status, stdout, stderr.
  static func run(_ arguments: [String], timeoutSeconds: Double = 10) throws -> (status: Int32?, stdout: String, stderr: String) {
    let daemon = try DaemonProcess(arguments: arguments)
    let status = daemon.waitForExit(timeoutSeconds: timeoutSeconds)
    return (status, daemon.stdout, daemon.stderr)
  }
}

struct DaemonProcessError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

