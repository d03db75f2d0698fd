// Keys this relay can reach through its mesh peers: "key K is connected to
// mesh peer P", learned from the PeerPresent / PeerGone stream of each
// outbound watch connection. Several peers may claim a key; the first one
// seen stays preferred while it has it (derper keeps the path stable). When a
// watch connection drops, every key learned from it is forgotten.
// Workers look keys up only for destinations that are not local; the mesh
// links write. A mutex is enough: no allocation on lookup, short holds.
//
// PeerGone across the mesh follows derper's rule (derpserver.go: sendPacket →
// noteSendFromSrc registers the RECEIVING connection for its source; the
// source's departure from the region tells those receivers): the table keeps,
// per mesh key, the local connections that received a packet from it (a
// forwarded packet, or from a local connection of that key that left while
// another relay still had it). When no peer has the key any more, they are
// handed back to be told PeerGone(Disconnected). The local connections that
// SENT to a mesh key are not tracked: derper does not tell them either.
import HDProtocol
import Synchronization

final class MeshRoutes: Sendable {
  private struct State {
    /// Claimants per key, in the order they were seen.
    var claimants: [DERPKey: [Int]] = [:]
    /// Local receivers (`PeerLocation.raw`) per mesh key, at most
    /// `receiversPerKeyMax`, oldest first.
    var receivers: [DERPKey: [UInt64]] = [:]
  }

  /// Bound on remembered receivers per key: the same bound as the local
  /// path's per-connection set (Tuning.sentToTrackedMax). When full, the
  /// oldest receiver gives way (the newest are the likeliest still here).
  static let receiversPerKeyMax = Tuning.sentToTrackedMax

  private let state = Mutex(State())
  /// Bumped whenever some key's receivers are handed out, so workers'
  /// MeshReceiverCache entries from before are checked again.
  let receiversEpoch = Atomic<UInt64>(0)

  /// The mesh peer to forward to, or nil when no peer has `key`.
  func route(_ key: DERPKey) -> Int? {
    state.withLock { s -> Int? in
      // Subscript, not `.first`: the generic getter allocates in debug builds.
      guard let list = s.claimants[key], !list.isEmpty else { return nil }
      return list[0]
    }
  }

  /// `receiver` got a packet from the mesh key `source`. False when no peer
  /// claims `source` (then there is nothing to be told about later).
  func noteReceiver(_ source: DERPKey, _ receiver: UInt64) -> Bool {
    state.withLock { s -> Bool in
      guard s.claimants[source] != nil else { return false }
      Self.add([receiver], to: source, in: &s)
      return true
    }
  }

  /// A local connection of `key` left this relay, and it had sent to
  /// `receivers`. While another relay still has `key` (derper: clientsMesh
  /// holds a forwarder) they are not told yet: they become receivers of the
  /// mesh key. False when no peer has `key`: tell them now.
  func adoptReceivers(of key: DERPKey, _ list: some Collection<UInt64>) -> Bool {
    state.withLock { s -> Bool in
      guard s.claimants[key] != nil else { return false }
      Self.add(list, to: key, in: &s)
      return true
    }
  }

  func present(_ key: DERPKey, via peer: Int) {
    state.withLock { s in
      var list = s.claimants[key] ?? []
      if !list.contains(peer) { list.append(peer) }
      s.claimants[key] = list
    }
  }

  /// `peer` no longer has `key`. Returns the local receivers to tell
  /// PeerGone when no peer has it any more.
  func gone(_ key: DERPKey, via peer: Int) -> [UInt64] {
    state.withLock { s -> [UInt64] in
      guard var list = s.claimants[key] else { return [] }
      list.removeAll { $0 == peer }
      s.claimants[key] = list.isEmpty ? nil : list
      guard list.isEmpty else { return [] }
      return takeReceivers(of: key, &s)
    }
  }

  /// The watch connection to `peer` is gone: so is everything it told us
  /// (derper's mesh client removes every key it learned). Returns, per key
  /// that no peer has any more, the receivers to tell.
  func forgetAll(via peer: Int) -> [(DERPKey, [UInt64])] {
    state.withLock { s -> [(DERPKey, [UInt64])] in
      var left: [(DERPKey, [UInt64])] = []
      for (key, list) in s.claimants where list.contains(peer) {
        let rest = list.filter { $0 != peer }
        s.claimants[key] = rest.isEmpty ? nil : rest
        if rest.isEmpty {
          let receivers = takeReceivers(of: key, &s)
          if !receivers.isEmpty { left.append((key, receivers)) }
        }
      }
      return left
    }
  }

  /// Keys reachable through `peer` (tests, /debug).
  func keyCount(via peer: Int) -> Int {
    state.withLock { s in s.claimants.values.reduce(0) { $0 + ($1.contains(peer) ? 1 : 0) } }
  }

  /// Keys `peer` claims (/debug/mesh).
  func keys(via peer: Int) -> [DERPKey] {
    state.withLock { s in s.claimants.compactMap { $0.value.contains(peer) ? $0.key : nil } }
  }

  /// Every key some peer claims (tests, the region harness's consistency check).
  func claimedKeys() -> [DERPKey] {
    state.withLock { Array($0.claimants.keys) }
  }

  /// Receivers remembered for `key` (tests).
  func receiverCount(of key: DERPKey) -> Int {
    state.withLock { $0.receivers[key]?.count ?? 0 }
  }

  private func takeReceivers(of key: DERPKey, _ s: inout State) -> [UInt64] {
    guard let list = s.receivers.removeValue(forKey: key) else { return [] }
    receiversEpoch.add(1, ordering: .releasing)
    return list
  }

  private static func add(_ new: some Collection<UInt64>, to key: DERPKey, in s: inout State) {
    var list = s.receivers.removeValue(forKey: key) ?? []
    for receiver in new where !list.contains(receiver) {
      if list.count == receiversPerKeyMax { list.removeFirst() }
      list.append(receiver)
    }
    s.receivers[key] = list
  }
}
