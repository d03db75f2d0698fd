// Validates a scrape two ways: with the reference parser (python3
// prometheus_client, installed by scripts/install-deps.sh) and with strict
// checks of our own that the parser doesn't make (HELP and TYPE on every
// family, each family in one block, no duplicate series).
import Foundation
import XCTest

struct ParsedSample: Decodable, Equatable {
  var name: String
  var labels: [String: String]
  var value: Double
}

struct ParsedFamily: Decodable {
  var type: String
  var help: String
  var samples: [ParsedSample]
}

enum PrometheusValidation {
  /// Parses `text` with prometheus_client; fails the test if it doesn't parse.
  /// Keys are the parser's family names (counters lose their `_total`).
  static func parseWithPrometheusClient(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws
    -> [String: ParsedFamily]
  {
    let script = """
      import json, sys
      from prometheus_client.parser import text_string_to_metric_families
      out = {}
      for family in text_string_to_metric_families(sys.stdin.read()):
          out[family.name] = {"type": family.type, "help": family.documentation,
              "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in family.samples]}
      print(json.dumps(out))
      """
    let python = try XCTUnwrap(
      pythonWithPrometheusClient,
      "no python3 with prometheus_client (PATH's python3 or /usr/bin/python3): run scripts/install-deps.sh",
      file: file, line: line)
    let result = try runProcess(python.executable, python.arguments + ["-c", script], input: Data(text.utf8))
    XCTAssertEqual(result.status, 0, "prometheus_client rejected the scrape: \(result.stderr)", file: file, line: line)
    return try JSONDecoder().decode([String: ParsedFamily].self, from: result.stdout)
  }

  /// The first interpreter that can import the parser: PATH's python3 (pyenv on
  /// the dev machines), else Debian's (python3-prometheus-client).
  static let pythonWithPrometheusClient: (executable: String, arguments: [String])? = {
    for candidate in [("/usr/bin/env", ["python3"]), ("/usr/bin/python3", [])] {
      if let result = try? runProcess(candidate.0, candidate.1 + ["-c", "import prometheus_client"]), result.status == 0
      {
        return candidate
      }
    }
    return nil
  }()

  /// Our own rules; returns a list of problems (empty = valid).
  static func strictProblems(_ text: String) -> [String] {
    var problems: [String] = []
    var helped: Set<String> = []
    var typed: [String: String] = [:]
    var finishedFamilies: Set<String> = []
    var currentFamily: String?
    var series: Set<String> = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
      if line.isEmpty { continue }
      if line.hasPrefix("# HELP ") {
        let name = String(line.dropFirst(7).split(separator: " ").first ?? "")
        if !helped.insert(name).inserted { problems.append("second HELP for \(name)") }
        if let current = currentFamily, current != name { finishedFamilies.insert(current) }
        if finishedFamilies.contains(name) { problems.append("family \(name) split into two blocks") }
        currentFamily = name
        continue
      }
      if line.hasPrefix("# TYPE ") {
        let parts = line.dropFirst(7).split(separator: " ")
        guard parts.count == 2 else {
          problems.append("bad TYPE line: \(line)")
          continue
        }
        let name = String(parts[0])
        if typed[name] != nil { problems.append("second TYPE for \(name)") }
        if !helped.contains(name) { problems.append("TYPE before HELP for \(name)") }
        typed[name] = String(parts[1])
        continue
      }
      if line.hasPrefix("#") {
        problems.append("unexpected comment: \(line)")
        continue
      }
      let nameEnd = line.firstIndex(where: { $0 == "{" || $0 == " " }) ?? line.endIndex
      let name = String(line[..<nameEnd])
      guard let family = currentFamily, name == family else {
        problems.append("sample \(name) outside its family block (current: \(currentFamily ?? "none"))")
        continue
      }
      guard let valueStart = line.lastIndex(of: " ") else {
        problems.append("sample without value: \(line)")
        continue
      }
      let seriesKey = String(line[..<valueStart])
      if !series.insert(seriesKey).inserted { problems.append("duplicate series \(seriesKey)") }
      if typed[family] == "counter" && !family.hasSuffix("_total") { problems.append("counter \(family) lacks _total") }
    }
    for name in helped where typed[name] == nil { problems.append("HELP without TYPE for \(name)") }
    if !text.hasSuffix("\n") { problems.append("scrape does not end with a newline") }
    return problems
  }

  /// The value of one series, labels matched exactly (ignores label order).
  static func value(_ families: [String: ParsedFamily], _ sampleName: String, _ labels: [String: String] = [:])
    -> Double?
  {
    for family in families.values {
      for sample in family.samples where sample.name == sampleName && sample.labels == labels { return sample.value }
    }
    return nil
  }
}

struct ProcessResult {
  var status: Int32
  var stdout: Data
  var stderr: String
}

func runProcess(_ executable: String, _ arguments: [String], input: Data? = nil) throws -> ProcessResult {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: executable)
  process.arguments = arguments
  let stdinPipe = Pipe()
  let stdoutPipe = Pipe()
  let stderrPipe = Pipe()
  process.standardInput = stdinPipe
  process.standardOutput = stdoutPipe
  process.standardError = stderrPipe
  try process.run()
  if let input { stdinPipe.fileHandleForWriting.write(input) }
  try stdinPipe.fileHandleForWriting.close()
  // Read both pipes to EOF before waiting, so a chatty child cannot block on a full pipe.
  let errData = Mutex2()
  let errThread = Thread { errData.set(stderrPipe.fileHandleForReading.readDataToEndOfFile()) }
  errThread.start()
  let out = stdoutPipe.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  while !errData.done { usleep(1000) }
  return ProcessResult(
    status: process.terminationStatus, stdout: out, stderr: String(decoding: errData.data, as: UTF8.self))
}

/// Tiny lock-protected box for the stderr reader thread.
final class Mutex2: @unchecked Sendable {
  private let lock = NSLock()
  private var value = Data()
  private var finished = false
  func set(_ data: Data) {
    lock.lock()
    value = data
    finished = true
    lock.unlock()
  }
  var done: Bool {
    lock.lock()
    defer { lock.unlock() }
    return finished
  }
  var data: Data {
    lock.lock()
    defer { lock.unlock() }
    return value
  }
}
