// Where the metrics server gets its numbers. `Relay` conforms (see
// Relay+MetricsSource.swift); tests substitute a fake. Every call is made
// from the metrics thread and must only read counters or ask the workers
// through their own off-hot-path channels.
import HDRelay
import HDTLS

public protocol MetricsSource: Sendable {
  /// Counters summed over all workers.
  func statsSnapshot() -> RelayStatsSnapshot
  /// One entry per data-plane thread (per-worker connection, peer and pool gauges).
  func workersSnapshot() -> [WorkerInfo]
  /// Every registered peer connection (only /debug/peers asks for this).
  func peersSnapshot() -> [PeerInfo]
  /// How the DERP port carries bytes: `plain`, or the TLS data path new
  /// connections get (`userspace` or `kernel`), as decided at start.
  var dataPlaneTLSMode: String { get }
  /// The certificate the DERP port serves now (follows SIGHUP reloads); nil
  /// for plain TCP.
  var derpCertificate: CertificateSummary? { get }
  /// The mesh.peers links and the keys learned through them (only
  /// /debug/mesh asks); nil without mesh.peers.
  func meshSnapshot() -> MeshInfo?
}

extension MetricsSource {
  public var derpCertificate: CertificateSummary? { nil }
  public func meshSnapshot() -> MeshInfo? { nil }
}

/// A source that can also report each worker's own counters, for the
/// per-worker counter families (`hyper_derp_worker_*_total{worker}`).
public protocol PerWorkerStatsSource: MetricsSource {
  /// Each worker's own counters; element i belongs to worker i.
  func workerStatsSnapshots() -> [RelayStatsSnapshot]
}
