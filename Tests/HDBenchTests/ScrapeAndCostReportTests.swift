@preconcurrency import Glibc
import HDProtocol
import XCTest
@testable import hd_bench

final class ScrapeAndCostReportTests: XCTestCase {
  static func fields(_ json: String) -> ReportCommand.Fields {
    guard case .object(let f)? = try? JSONValue.parse(Array(json.utf8)) else { fatalError("bad JSON in test: \(json)") }
    return f
  }

  func testTLSTableHasRatiosToPlainTCPAndCeilingAndOpenSSLPerPass() {
    let results: [(String, ReportCommand.Fields)] = [
      ("iperf3", Self.fields(#"{"test":"iperf3","bits_per_second":10000000000,"gbps":10.0}"#)),
      ("openssl-speed", Self.fields(#"{"test":"openssl-speed","bytes_per_sec_1024":1000000000,"bytes_per_sec_16384":4000000000}"#)),
      ("tcp-1w-unpaced", Self.fields(#"{"test":"throughput","total_peers":20,"active_pairs":10,"message_size":1400,"runs":3,"goodput_mbps_mean":2500.0,"relay_cpu_sec_per_gb_mean":1.0}"#)),
      ("tls-1w-unpaced", Self.fields(#"{"test":"throughput","total_peers":20,"active_pairs":10,"message_size":1400,"goodput_mbps":1000.0,"relay_cpu_sec_per_gb":2.2}"#)),
    ]
    let table = ReportCostTables.tls(results, ceiling: CeilingRatio(results))
    XCTAssertTrue(table.contains("| tls-1w-unpaced (relay, userspace TLS) | 20 / 10 / 1400 | 1000.0 | 0.100 | **2.200** | 2.20 |"), table)
    XCTAssertTrue(table.contains("| tcp-1w-unpaced (relay, plain TCP) | 20 / 10 / 1400 | 2500.0 | 0.250 | **1.000** | 1.00 |"), table)
    // 1 GB/s → 1 s/GB per pass, 2 for the relay's decrypt + encrypt; 8000 Mbit/s = 0.8 × ceiling.
    XCTAssertTrue(table.contains("1024 B blocks, one core | — | 8000 | 0.800 | 1.000 per pass, 2.000 for 2 | 2.00 (2 passes) |"), table)
    XCTAssertTrue(table.contains("16384 B blocks, one core | — | 32000 | 3.200 | 0.250 per pass, 0.500 for 2 | 0.50 (2 passes) |"), table)
  }

  func testRatiosAreDashWithoutCeiling() {
    XCTAssertEqual(CeilingRatio([]).text(mbps: 1000), "—")
  }

  func testScrapeTableComparesScrapeWithPlacebo() {
    let results: [(String, ReportCommand.Fields)] = [
      ("scrape-1w-10hz", Self.fields(#"{"test":"throughput","goodput_mbps":1900.0,"message_loss_pct":0.0,"relay_cpu_sec_per_gb":1.1}"#)),
      ("scrape-1w-placebo", Self.fields(#"{"test":"throughput","goodput_mbps":2000.0,"message_loss_pct":0.0,"relay_cpu_sec_per_gb":1.0}"#)),
      ("scraper-10hz", Self.fields(#"{"test":"scrape","scrapes_done":110,"scrapes_failed":0,"scrape_ms_p50":1.5,"scrape_ms_max":9.0}"#)),
      ("scraper-placebo", Self.fields(#"{"test":"scrape","scrapes_done":0,"scrapes_failed":0,"scrape_ms_p50":null,"scrape_ms_max":null}"#)),
    ]
    let table = ReportCostTables.scrape(results, ceiling: CeilingRatio(results))
    XCTAssertTrue(table.contains("| 10 Hz GET /metrics | 1900.0 | — | 0.0 | 1.1 | 110 / 0 | 1.5 / 9.0 |"), table)
    XCTAssertTrue(table.contains("goodput -5.0 %, relay CPU s/GB +10.0 %"), table)
    // The placebo row comes first: it is the baseline.
    let placebo = table.range(of: "10 Hz placebo")!.lowerBound
    XCTAssertLessThan(placebo, table.range(of: "10 Hz GET /metrics")!.lowerBound)
  }

  /// A real loopback HTTP server answering two keep-alive requests on one
  /// connection, then closing: two scrapes succeed, the third fails.
  func testScraperKeepsOneConnectionAndCountsTheBody() throws {
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    XCTAssertGreaterThanOrEqual(listener, 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } }
    XCTAssertEqual(listen(listener, 4), 0)
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
    let port = UInt16(bigEndian: addr.sin_port)

    let body = String(repeating: "hd_metric 1\n", count: 2000)  // larger than one recv
    let response = Array("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8)
    let server = JoinableThread.spawn {
      let conn = accept(listener, nil, nil)
      var buf = [UInt8](repeating: 0, count: 4096)
      var answered = 0
      while answered < 2 {
        let n = buf.withUnsafeMutableBytes { recv(conn, $0.baseAddress!, $0.count, 0) }
        if n <= 0 { break }
        var off = 0
        while off < response.count {
          let w = response.withUnsafeBytes { send(conn, $0.baseAddress! + off, $0.count - off, Int32(MSG_NOSIGNAL)) }
          if w <= 0 { break }
          off += w
        }
        answered += 1
      }
      close(conn)
    }
    defer {
      server.join()
      close(listener)
    }

    var scraper = MetricsScraper(host: "127.0.0.1", port: port)
    for _ in 0..<2 {
      guard case .success(let bytes) = scraper.scrape() else { return XCTFail("scrape failed") }
      XCTAssertEqual(bytes, body.utf8.count)
    }
    guard case .failure = scraper.scrape() else { return XCTFail("a closed connection must count as a failed scrape") }
    scraper.close()
  }
}
