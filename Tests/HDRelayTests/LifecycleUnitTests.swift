import Foundation
import HDConfig
import HDProtocol
import XCTest
@testable import HDRelay

final class SystemdNotifierTests: XCTestCase {
  func testReadyAndStoppingReachAPathSocket() throws {
    let tree = TestFixtureTree()
    let receiver = try DatagramReceiver(path: tree.path("notify"))
    let notifier = SystemdNotifier(socketAddress: tree.path("notify"))
    XCTAssertNoThrow(try notifier.ready(status: "serving").get())
    XCTAssertNoThrow(try notifier.stopping().get())
    let first = try XCTUnwrap(receiver.receive(timeoutSeconds: 2))
    XCTAssertTrue(first.split(separator: "\n").contains("READY=1"), first)
    XCTAssertEqual(receiver.receive(timeoutSeconds: 2), "STOPPING=1")
  }

  func testAbstractNamespaceSocket() throws {
    let name = "hd-life-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let receiver = try DatagramReceiver(abstractName: name)
    XCTAssertNoThrow(try SystemdNotifier(socketAddress: "@" + name).stopping().get())
    XCTAssertEqual(receiver.receive(timeoutSeconds: 2), "STOPPING=1")
  }

  func testWithoutSocketItIsANoOp() {
    XCTAssertFalse(SystemdNotifier(socketAddress: nil).isEnabled)
    XCTAssertFalse(SystemdNotifier(socketAddress: "").isEnabled)
    XCTAssertNoThrow(try SystemdNotifier(socketAddress: nil).ready(status: "x").get())
  }

  func testMissingSocketIsReportedNotFatal() {
    XCTAssertThrowsError(try SystemdNotifier(socketAddress: "/nonexistent/notify").stopping().get())
  }
}

final class FileDescriptorLimitTests: XCTestCase {
  func testSoftLimitIsRaisedToHard() throws {
    var limit = rlimit()
    getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    let original = limit
    defer {
      var restore = original
      setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &restore)
    }
    try XCTSkipIf(limit.rlim_max < 1024, "hard limit too small to lower")
    limit.rlim_cur = 512
    XCTAssertEqual(setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit), 0)
    let (before, after) = try FileDescriptorLimit.raiseSoftToHard()
    XCTAssertEqual(before.soft, 512)
    XCTAssertEqual(after.soft, UInt64(original.rlim_max))
    XCTAssertEqual(FileDescriptorLimit.current()?.soft, UInt64(original.rlim_max))
  }
}

final class SocketBufferCheckTests: XCTestCase {
  func testWarnsWhenTheKernelCapsTheBuffer() {
    let tree = TestFixtureTree()
    tree.write("proc/sys/net/core/rmem_max", "212992\n")
    tree.write("proc/sys/net/core/wmem_max", "4194304\n")
    let warnings = SocketBufferCheck.warnings(sockbufBytes: 1_048_576, root: tree.root)
    XCTAssertEqual(warnings.count, 1)
    XCTAssertTrue(warnings[0].contains("net.core.rmem_max = 212992"), warnings[0])
    XCTAssertTrue(SocketBufferCheck.warnings(sockbufBytes: 0, root: tree.root).isEmpty)
    XCTAssertTrue(SocketBufferCheck.warnings(sockbufBytes: 100_000, root: tree.root).isEmpty)
  }
}

final class ServerKeyLoaderTests: XCTestCase {
  func testKeyFileIsCreatedPrivateAndReused() throws {
    let tree = TestFixtureTree()
    let path = tree.path("derp.key")
    let capture = LogCapture()
    let log = Logger(label: "t", sink: LogSink(level: .info, format: .text, output: capture.output))
    let first = try ServerKeyLoader.load(keyFile: path, logger: log)
    var info = stat()
    XCTAssertEqual(stat(path, &info), 0)
    XCTAssertEqual(info.st_mode & 0o777, 0o600)
    let text = try String(contentsOfFile: path, encoding: .utf8)
    XCTAssertTrue(text.hasPrefix("privkey:"), text)
    let second = try ServerKeyLoader.load(keyFile: path, logger: log)
    XCTAssertEqual(first.publicKey, second.publicKey)
    XCTAssertTrue(capture.lines[0].contains("created"), capture.lines[0])
    XCTAssertTrue(capture.lines[1].contains("loaded"), capture.lines[1])
  }

  func testWithoutKeyFileAFreshKeyIsLoggedAsANotice() throws {
    let capture = LogCapture()
    let log = Logger(label: "t", sink: LogSink(level: .info, format: .text, output: capture.output))
    let a = try ServerKeyLoader.load(keyFile: nil, logger: log)
    let b = try ServerKeyLoader.load(keyFile: nil, logger: log)
    XCTAssertNotEqual(a.publicKey, b.publicKey)
    XCTAssertTrue(capture.lines[0].contains("no key_file"), capture.lines[0])
  }

  func testMalformedKeyFileIsAnError() {
    let tree = TestFixtureTree()
    let path = tree.write("bad.key", "privkey:nothex\n")
    XCTAssertThrowsError(try ServerKeyLoader.load(keyFile: path, logger: Logger(label: "t")))
  }
}

final class ConfigReloaderTests: XCTestCase {
  private func makeReloader(_ tree: TestFixtureTree, sink: LogSink, overrides: ConfigOverrides = ConfigOverrides())
    -> (ConfigReloader, String)
  {
    let path = tree.write("hd.yaml", "port: 3340\nlog_level: info\n")
    let (initial, _) = ConfigLoader.load(path: path, overrides: overrides, options: .syntaxOnly)
    let reloader = ConfigReloader(initial: initial!, logSink: sink) {
      ConfigLoader.reload(path: path, overrides: overrides, options: .syntaxOnly)
    }
    return (reloader, path)
  }

  func testValidFileAppliesLogLevelAndReportsRestartOnlyKeys() {
    let tree = TestFixtureTree()
    let sink = LogSink(level: .info, format: .text, output: LogCapture().output)
    let (reloader, _) = makeReloader(tree, sink: sink)
    tree.write("hd.yaml", "port: 4000\nlog_level: debug\nlog_format: json\n")
    guard case .applied(let applied, let restart) = reloader.reload() else {
      return XCTFail("expected applied")
    }
    XCTAssertEqual(Set(applied.map(\.key)), ["log_level", "log_format"])
    XCTAssertEqual(restart.map(\.key), ["port"])
    XCTAssertEqual(sink.level, .debug)
    XCTAssertEqual(sink.format, .json)
    XCTAssertEqual(reloader.current.logLevel, .debug)
    XCTAssertEqual(reloader.current.port, 3340, "the running port does not change")
    XCTAssertEqual(reloader.reload(), .applied(applied: [], needsRestart: restart))
  }

  func testInvalidFileKeepsTheOldSettings() {
    let tree = TestFixtureTree()
    let sink = LogSink(level: .info, format: .text, output: LogCapture().output)
    let (reloader, _) = makeReloader(tree, sink: sink)
    tree.write("hd.yaml", "log_level: debug\nworkerz: 2\n")
    guard case .rejected(let reason) = reloader.reload() else { return XCTFail("expected rejected") }
    XCTAssertTrue(reason.contains("workerz"), reason)
    XCTAssertEqual(sink.level, .info)
    XCTAssertEqual(reloader.current.logLevel, .info)
  }

  func testCommandLineOverridesSurviveTheReload() {
    let tree = TestFixtureTree()
    let sink = LogSink(level: .info, format: .text, output: LogCapture().output)
    let overrides = DaemonCommandLine.parse(["--log-level", "error"], options: .syntaxOnly).overrides
    let (reloader, _) = makeReloader(tree, sink: sink, overrides: overrides)
    XCTAssertEqual(reloader.current.logLevel, .error)
    tree.write("hd.yaml", "port: 3340\nlog_level: trace\n")
    XCTAssertEqual(reloader.reload(), .unchanged)
    XCTAssertEqual(reloader.current.logLevel, .error)
  }

  func testAFailingHookRejectsTheWholeReload() {
    struct Refused: Error {}
    let tree = TestFixtureTree()
    let sink = LogSink(level: .info, format: .text, output: LogCapture().output)
    let (reloader, _) = makeReloader(tree, sink: sink)
    reloader.register(ReloadHook(name: "tls", keys: ["port"]) { _, _ in throw Refused() })
    tree.write("hd.yaml", "port: 4000\nlog_level: debug\n")
    guard case .rejected(let reason) = reloader.reload() else { return XCTFail("expected rejected") }
    XCTAssertTrue(reason.hasPrefix("tls:"), reason)
    XCTAssertEqual(sink.level, .info)
  }
}

/// A bound unix datagram socket standing in for systemd's notify socket.
final class DatagramReceiver {
  let fd: Int32
  let path: String?

  init(path: String) throws {
    self.path = path
    fd = try DatagramReceiver.bind(name: Array(path.utf8), abstract: false)
  }

  init(abstractName: String) throws {
    path = nil
    fd = try DatagramReceiver.bind(name: Array(abstractName.utf8), abstract: true)
  }

  deinit {
    close(fd)
    if let path { unlink(path) }
  }

  private static func bind(name: [UInt8], abstract: Bool) throws -> Int32 {
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = abstract ? [0] + name : name + [0]
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      for (i, b) in bytes.enumerated() { raw[i] = b }
    }
    let length = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count
    let rc = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(length)) }
    }
    guard rc == 0 else {
      close(fd)
      throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
    }
    return fd
  }

  /// One datagram as text, or nil after `timeoutSeconds`.
  func receive(timeoutSeconds: Double) -> String? {
    var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    guard poll(&poller, 1, Int32(timeoutSeconds * 1000)) == 1 else { return nil }
    var buffer = [UInt8](repeating: 0, count: 4096)
    let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
    guard n >= 0 else { return nil }
    return String(decoding: buffer[0..<n], as: UTF8.self)
  }
}
