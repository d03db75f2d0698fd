// The real relay is the metrics source: statsSnapshot(), workerStatsSnapshots()
// and workersSnapshot() read per-worker single-writer counters with relaxed
// loads (no locks, no worker round trip); peersSnapshot() asks the workers and
// only /debug/peers calls it.
import HDRelay
import HDTLS

extension Relay: PerWorkerStatsSource {
  public func meshSnapshot() -> MeshInfo? { meshInfo() }

  public var dataPlaneTLSMode: String {
    guard let tls = options.tls as? RelayTLS else { return "plain" }
    return tls.dataPath.rawValue
  }

  public var derpCertificate: CertificateSummary? { (options.tls as? RelayTLS)?.certificate }
}
