import HDMetrics
// A MetricsSource with numbers chosen by the test, for the server and
// exposition tests that don't need a running relay.
import HDProtocol
import HDRelay
import Synchronization

final class FakeMetricsSource: PerWorkerStatsSource {
  struct State {
    var workers: [RelayStatsSnapshot]
    var workerInfo: [WorkerInfo]
    var peers: [PeerInfo]
  }

  let state: Mutex<State>

  init(workerCount: Int = 2) {
    var workers: [RelayStatsSnapshot] = []
    var infos: [WorkerInfo] = []
    for index in 0..<workerCount {
      var stats = RelayStatsSnapshot()
      stats.bytesReceived = UInt64(1000 * (index + 1))
      stats.bytesSent = UInt64(2000 * (index + 1))
      stats.packetsReceived = UInt64(10 * (index + 1))
      stats.packetsReceivedOther = UInt64(10 * (index + 1))
      stats.packetsSent = UInt64(20 * (index + 1))
      stats.currentPeers = UInt64(index + 1)
      workers.append(stats)
      infos.append(
        WorkerInfo(
          index: index, threadID: Int32(100 + index), pinnedCore: index == 0 ? 0 : nil, ringFlags: "SINGLE_ISSUER",
          connections: index + 1, peers: index + 1, poolBytesInUse: 4096))
    }
    let key = DERPKey(w0: 1, w1: 2, w2: 3, w3: 4)
    let peer = PeerInfo(
      key: key, remoteAddress: "127.0.0.1:5555", worker: 0, isPreferred: true, isDuplicate: false, isActive: true,
      transport: .plain, queuedPackets: 3, connectedSeconds: 1.5)
    state = Mutex(State(workers: workers, workerInfo: infos, peers: [peer]))
  }

  func statsSnapshot() -> RelayStatsSnapshot {
    state.withLock { state in
      // Sums only the fields the tests set; the real relay sums every counter.
      var total = RelayStatsSnapshot()
      total.meshPeersConfigured = 2
      total.meshPeersConnected = 1
      for worker in state.workers {
        total.bytesReceived += worker.bytesReceived
        total.bytesSent += worker.bytesSent
        total.packetsReceived += worker.packetsReceived
        total.packetsReceivedOther += worker.packetsReceivedOther
        total.packetsSent += worker.packetsSent
        total.currentConnections += worker.currentConnections
        total.currentPeers += worker.currentPeers
        for reason in 0..<worker.packetsDropped.count {
          for kind in 0..<worker.packetsDropped[reason].count {
            total.packetsDropped[reason][kind] += worker.packetsDropped[reason][kind]
            total.bytesDropped[reason][kind] += worker.bytesDropped[reason][kind]
          }
        }
      }
      return total
    }
  }

  func workerStatsSnapshots() -> [RelayStatsSnapshot] { state.withLock { $0.workers } }
  func workersSnapshot() -> [WorkerInfo] { state.withLock { $0.workerInfo } }
  func peersSnapshot() -> [PeerInfo] { state.withLock { $0.peers } }
  var dataPlaneTLSMode: String { "plain" }
}
