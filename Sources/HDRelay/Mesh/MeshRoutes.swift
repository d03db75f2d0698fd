// Keys this relay can reach through its mesh peers: "key K is connected to
// mesh peer P", learned from the PeerPresent / PeerGone stream of each
// outbound watch connection. Several peers may claim a key; the first one
// seen stays preferred while it has it (derper keeps the path stable). When a
// watch connection drops, every key learned from it is forgotten.
// Workers look keys up only for destinations that are not local; the mesh
// links write. A mutex is enough: no allocation on lookup, short holds.
// Like derper, the table also remembers which local connections sent to each
// mesh key, so they get PeerGone(Disconnected) when the key leaves the region.
import HDProtocol
import Synchronization

final class MeshRoutes: Sendable {
  private struct State {
    /// Claimants per key, in the order they were seen.
    var claimants: [DERPKey: [Int]] = [:]
    /// Local senders (`PeerLocation.raw`) per mesh key, at most `sendersPerKeyMax`.
    var senders: [DERPKey: [UInt64]] = [:]
  }

  /// Bound on remembered senders per key (memory stays bounded; like
  /// Tuning.sentToTrackedMax on the local path).
  static let sendersPerKeyMax = 256

  private let state = Mutex(State())

  /// The mesh peer to forward to, or nil when no peer has `key`.
  func route(_ key: DERPKey) -> Int? {
    state.withLock { $0.claimants[key]?.first }
  }

  /// `route(key)`, remembering `sender` for PeerGone when the key leaves.
  func route(_ key: DERPKey, sender: UInt64) -> Int? {
    state.withLock { s -> Int? in
      guard let peer = s.claimants[key]?.first else { return nil }
      if let list = s.senders[key] {
        if list.count < MeshRoutes.sendersPerKeyMax && !list.contains(sender) { s.senders[key]!.append(sender) }
      } else {
        s.senders[key] = [sender]
      }
      return peer
    }
  }

  func present(_ key: DERPKey, via peer: Int) {
    state.withLock { s in
      var list = s.claimants[key] ?? []
      if !list.contains(peer) { list.append(peer) }
      s.claimants[key] = list
    }
  }

  /// `peer` no longer has `key`. Returns the local senders to tell
  /// PeerGone when no peer has it any more.
  func gone(_ key: DERPKey, via peer: Int) -> [UInt64] {
    state.withLock { s -> [UInt64] in
      guard var list = s.claimants[key] else { return [] }
      list.removeAll { $0 == peer }
      s.claimants[key] = list.isEmpty ? nil : list
      guard list.isEmpty else { return [] }
      return s.senders.removeValue(forKey: key) ?? []
    }
  }

  /// The watch connection to `peer` is gone: so is everything it told us.
  /// Returns, per key that no peer has any more, the senders to tell.
  func forgetAll(via peer: Int) -> [(DERPKey, [UInt64])] {
    state.withLock { s -> [(DERPKey, [UInt64])] in
      var left: [(DERPKey, [UInt64])] = []
      for (key, list) in s.claimants where list.contains(peer) {
        let rest = list.filter { $0 != peer }
        s.claimants[key] = rest.isEmpty ? nil : rest
        if rest.isEmpty, let senders = s.senders.removeValue(forKey: key) { left.append((key, senders)) }
      }
      return left
    }
  }

  /// Keys reachable through `peer` (tests, /debug).
  func keyCount(via peer: Int) -> Int {
    state.withLock { s in s.claimants.values.reduce(0) { $0 + ($1.contains(peer) ? 1 : 0) } }
  }
}
