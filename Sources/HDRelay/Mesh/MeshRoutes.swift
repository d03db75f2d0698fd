// Keys this relay can reach through its mesh peers: "key K is connected to
// mesh peer P", learned from the PeerPresent / PeerGone stream of each
// outbound watch connection. Several peers may claim a key; the first one
// seen stays preferred while it has it (derper keeps the path stable). When a
// watch connection drops, every key learned from it is forgotten.
// Workers look keys up only for destinations that are not local; the mesh
// links write. A mutex is enough: no allocation on lookup, short holds.
import HDProtocol
import Synchronization

final class MeshRoutes: Sendable {
  private struct State {
    /// Claimants per key, in the order they were seen.
    var claimants: [DERPKey: [Int]] = [:]
  }

  private let state = Mutex(State())

  /// The mesh peer to forward to, or nil when no peer has `key`.
  func route(_ key: DERPKey) -> Int? {
    state.withLock { $0.claimants[key]?.first }
  }

  func present(_ key: DERPKey, via peer: Int) {
    state.withLock { s in
      var list = s.claimants[key] ?? []
      if !list.contains(peer) { list.append(peer) }
      s.claimants[key] = list
    }
  }

  func gone(_ key: DERPKey, via peer: Int) {
    state.withLock { s in
      guard var list = s.claimants[key] else { return }
      list.removeAll { $0 == peer }
      s.claimants[key] = list.isEmpty ? nil : list
    }
  }

  /// The watch connection to `peer` is gone: so is everything it told us.
  func forgetAll(via peer: Int) {
    state.withLock { s in
      for (key, list) in s.claimants where list.contains(peer) {
        let rest = list.filter { $0 != peer }
        s.claimants[key] = rest.isEmpty ? nil : rest
      }
    }
  }

  /// Keys reachable through `peer` (tests, /debug).
  func keyCount(via peer: Int) -> Int {
    state.withLock { s in s.claimants.values.reduce(0) { $0 + ($1.contains(peer) ? 1 : 0) } }
  }
}
