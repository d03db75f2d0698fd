import XCTest

@testable import HDMetrics

final class PrometheusTextWriterTests: XCTestCase {
  func testFamiliesCarryHelpTypeAndEscapedLabels() {
    var writer = PrometheusTextWriter()
    writer.family(
      "demo_total", type: .counter, help: "Line one\nback\\slash",
      samples: [PrometheusSample([("reason", "a\"b\\c\nd")], .integer(7))])
    writer.gauge("demo_ratio", help: "x", .double(0.25))
    XCTAssertEqual(
      writer.text,
      """
      # HELP demo_total Line one\\nback\\\\slash
      # TYPE demo_total counter
      demo_total{reason="a\\"b\\\\c\\nd"} 7
      # HELP demo_ratio x
      # TYPE demo_ratio gauge
      demo_ratio 0.25

      """)
  }

  func testValuesRenderExactly() {
    XCTAssertEqual(PrometheusValue.integer(UInt64.max).text, "18446744073709551615")
    XCTAssertEqual(PrometheusValue.signed(-3).text, "-3")
    XCTAssertEqual(PrometheusValue.double(3).text, "3")
    XCTAssertEqual(PrometheusValue.double(.infinity).text, "+Inf")
    XCTAssertEqual(PrometheusValue.double(-.infinity).text, "-Inf")
    XCTAssertEqual(PrometheusValue.double(.nan).text, "NaN")
    XCTAssertEqual(PrometheusValue.double(1.5e300).text, "1.5e+300")
  }

  func testNameRules() {
    XCTAssertTrue(isValidMetricName("hyper_derp:x_total"))
    XCTAssertFalse(isValidMetricName("1abc"))
    XCTAssertFalse(isValidMetricName("a-b"))
    XCTAssertTrue(isValidLabelName("worker"))
    XCTAssertFalse(isValidLabelName("__name"))
    XCTAssertFalse(isValidLabelName("a:b"))
  }
}
