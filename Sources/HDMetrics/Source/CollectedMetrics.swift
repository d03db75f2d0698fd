// Everything one /metrics or /health answer is rendered from, gathered once
// per request so all numbers in a response come from the same moment.
import HDConfig
import HDRelay
import HDTLS

struct CollectedMetrics {
  var totals: RelayStatsSnapshot
  /// nil when the source has no per-worker counters (the per-worker counter
  /// families and /debug/workers counter fields are then left out).
  var perWorker: [RelayStatsSnapshot]?
  var workers: [WorkerInfo]
  /// nil when /proc could not be read (the process families are then left out).
  var process: ProcessMetrics?
  var server: MetricsServerCounters
  var build: BuildInfo
  var dataPlaneTLS: DataPlaneTLS
  /// nil when no STUN responder is attached (stun_port 0): the STUN families are then left out.
  var stun: STUNStatsSnapshot?
  /// nil without ACME: the ACME families and the /health `acme` field are then left out.
  var acme: ACMEStatus?
  /// Certificates served now, DERP port first; empty without TLS.
  var certificates: [ListenerCertificate] = []
  /// Wall clock of the collection (expiry in days on /health).
  var nowSeconds: Int64 = UTCDate.nowSeconds()

  static func collect(
    from source: any MetricsSource, server: MetricsServerCounters, build: BuildInfo, kernelTLSSetting: String,
    stun: STUNStatsSnapshot? = nil, metricsCertificate: CertificateSummary? = nil, acme: ACMEStatus? = nil
  ) -> CollectedMetrics {
    var certificates: [ListenerCertificate] = []
    if let derp = source.derpCertificate { certificates.append(ListenerCertificate(listener: .derp, summary: derp)) }
    if let metrics = metricsCertificate {
      certificates.append(ListenerCertificate(listener: .metrics, summary: metrics))
    }
    return CollectedMetrics(
      totals: source.statsSnapshot(), perWorker: (source as? any PerWorkerStatsSource)?.workerStatsSnapshots(),
      workers: source.workersSnapshot(), process: ProcessMetrics.read(), server: server, build: build,
      dataPlaneTLS: DataPlaneTLS(mode: source.dataPlaneTLSMode, kernelTLSSetting: kernelTLSSetting), stun: stun,
      acme: acme, certificates: certificates)
  }

  /// Registered peers over all workers (the C++ `peers_active`).
  var peersActive: UInt64 { totals.currentPeers }
}

/// What `hyper_derp_build_info` reports.
public struct BuildInfo: Sendable, Equatable {
  /// The daemon's version string, as `hyper-derp --version` prints it.
  public var version: String

  public init(version: String) {
    self.version = version
  }
}

/// How the DERP port carries bytes (for /health).
struct DataPlaneTLS: Equatable {
  /// `plain`, `userspace` (userspace TLS) or `kernel` (kernel TLS).
  var mode: String
  /// The `ktls` setting: auto, required or off.
  var kernelTLSSetting: String
}

/// The metrics server's own counters, kept on its thread.
struct MetricsServerCounters {
  /// Responses sent, by status code.
  var responses: [HTTPStatus: UInt64] = [:]
  /// Connections closed at once because `maxConnections` were open.
  var connectionsRejected: UInt64 = 0
  var connectionsAccepted: UInt64 = 0
  var connectionsOpen: Int = 0
}

/// A certificate one of the daemon's TLS listeners serves.
struct ListenerCertificate: Equatable {
  enum Listener: String {
    /// The relay's DERP port (`tls_cert`).
    case derp
    /// The metrics server (`metrics.tls_cert`).
    case metrics
  }

  var listener: Listener
  var summary: CertificateSummary
}
