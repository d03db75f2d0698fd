// docs/metrics.md must list exactly the families a scrape contains, so the
// operator documentation cannot drift from the exposition.
import Foundation
import HDConfig
import HDProtocol
import HDRelay
import HDTLS
import XCTest

@testable import HDMetrics

final class MetricsDocumentationTests: XCTestCase {
  func testEveryFamilyIsDocumentedAndEveryDocumentedFamilyExists() throws {
    let docsURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("docs/metrics.md")
    let docs = try String(contentsOf: docsURL, encoding: .utf8)
    // Families are the first column of the tables: "| `name` |".
    var documented: Set<String> = []
    for line in docs.split(separator: "\n") where line.hasPrefix("| `") {
      let name = line.dropFirst(3).prefix(while: { $0 != "`" })
      if name.hasPrefix("hyper_derp_") || name.hasPrefix("process_") { documented.insert(String(name)) }
    }
    let source = FakeMetricsSource()
    // With a STUN responder and a metrics certificate, so their (conditional)
    // families are checked too.
    let certificate = CertificateSummary(
      notBefore: 0, notAfter: 86_400, selfSigned: true, pin: CertificatePin(derCertificate: [1, 2, 3]))
    let metrics = CollectedMetrics.collect(
      from: source, server: MetricsServerCounters(), build: BuildInfo(version: "docs"),
      kernelTLSSetting: "auto", stun: STUNStatsSnapshot(), metricsCertificate: certificate, acme: ACMEStatus())
    XCTAssertNotNil(metrics.process)
    let exposed = Set(
      MetricsExposition.render(metrics).split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map {
        String($0.split(separator: " ")[2])
      })
    XCTAssertGreaterThan(exposed.count, 40)
    XCTAssertEqual(exposed.subtracting(documented).sorted(), [], "exposed but not in docs/metrics.md")
    XCTAssertEqual(documented.subtracting(exposed).sorted(), [], "in docs/metrics.md but not exposed")
  }
}
