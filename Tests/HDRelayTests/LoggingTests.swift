import Foundation
import HDConfig
import XCTest
@testable import HDRelay

final class LoggingTests: XCTestCase {
  func testLevelFiltersAndCanChangeAtRuntime() {
    let capture = LogCapture()
    let sink = LogSink(level: .warning, format: .text, output: capture.output)
    let log = Logger(label: "test", sink: sink)
    log.info("hidden")
    log.warning("shown")
    XCTAssertEqual(capture.lines.count, 1)
    sink.setLevel(.debug)
    log.debug("now shown")
    log.trace("still hidden")
    XCTAssertEqual(capture.lines.count, 2)
    sink.setLevel(.off)
    log.critical("nothing at off")
    XCTAssertEqual(capture.lines.count, 2)
  }

  func testMessageIsNotBuiltWhenDisabled() {
    let sink = LogSink(level: .error, format: .text, output: LogCapture().output)
    var built = false
    func expensive() -> String {
      built = true
      return "x"
    }
    Logger(label: "t", sink: sink).debug(expensive())
    XCTAssertFalse(built)
  }

  func testTextLineShape() throws {
    let capture = LogCapture()
    let log = Logger(label: "daemon", sink: LogSink(level: .info, format: .text, output: capture.output))
    log.info("listening", ["port": "3340", "bind": "all addresses"])
    let line = try XCTUnwrap(capture.lines.first)
    XCTAssertTrue(line.hasSuffix("\n"))
    let pattern = #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info \[daemon\] listening port=3340 bind="all addresses"\n$"#
    XCTAssertNotNil(line.range(of: pattern, options: .regularExpression), line)
  }

  func testJSONLinesParseAndEscape() throws {
    let capture = LogCapture()
    let sink = LogSink(level: .info, format: .text, output: capture.output)
    sink.setFormat(.json)
    Logger(label: "relay", sink: sink).error("bad \"frame\"\nfrom\tpeer\u{1}", ["peer": "nodekey:ab"])
    let line = try XCTUnwrap(capture.lines.first)
    XCTAssertEqual(line.filter { $0 == "\n" }.count, 1, "one record per line")
    let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
    XCTAssertEqual(object["level"], "error")
    XCTAssertEqual(object["logger"], "relay")
    XCTAssertEqual(object["msg"], "bad \"frame\"\nfrom\tpeer\u{1}")
    XCTAssertEqual(object["peer"], "nodekey:ab")
    XCTAssertNotNil(object["time"])
  }

  func testLinesFromManyThreadsStayWhole() {
    let capture = LogCapture()
    let log = Logger(label: "t", sink: LogSink(level: .info, format: .json, output: capture.output))
    DispatchQueue.concurrentPerform(iterations: 200) { i in log.info("line \(i)") }
    XCTAssertEqual(capture.lines.count, 200)
    for line in capture.lines {
      XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(line.utf8)))
    }
  }

  func testRateLimiterBurstThenOnePerSecondAndCountsSuppressed() {
    let limiter2 = LogRateLimiter(perSecond: 1, burst: 3)
    var admitted = 0
    for _ in 0..<10 where limiter2.admit(nowNanoseconds: LogRateLimiter.monotonicNanoseconds()) != nil {
      admitted += 1
    }
    XCTAssertEqual(admitted, 3)
    let later = LogRateLimiter.monotonicNanoseconds() + 1_100_000_000
    XCTAssertEqual(limiter2.admit(nowNanoseconds: later), 7)
    XCTAssertNil(limiter2.admit(nowNanoseconds: later))
  }
}
