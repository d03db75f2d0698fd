// Which (mesh source, local receiver) pairs a worker has already reported to
// MeshRoutes, so a stream of forwarded packets takes the routes mutex once
// per pair instead of once per packet. Direct-mapped and fixed-size
// (allocated once): a collision or an eviction only costs another report,
// which MeshRoutes deduplicates. Entries from before the routes' receivers
// epoch (some key's receivers were handed out since) are reported again.
import HDProtocol

final class MeshReceiverCache {
  private struct Entry {
    var source: DERPKey
    var receiver: UInt64
    /// `receiversEpoch + 1` when reported; 0 = empty.
    var stamp: UInt64
  }

  static let slotCount = 1024
  private let entries: UnsafeMutablePointer<Entry>

  init() {
    entries = .allocate(capacity: Self.slotCount)
    entries.initialize(repeating: Entry(source: .zero, receiver: 0, stamp: 0), count: Self.slotCount)
  }

  deinit {
    entries.deallocate()
  }

  /// Reports `receiver` got a packet from `source` unless this worker already
  /// did since `routes`' last hand-out.
  @inline(__always)
  func note(_ source: DERPKey, _ receiver: UInt64, in routes: MeshRoutes) {
    let stamp = routes.receiversEpoch.load(ordering: .acquiring) &+ 1
    let mixed = (source.w0 ^ receiver &* 0x9E37_79B9_7F4A_7C15) >> 7
    let entry = entries + Int(mixed % UInt64(Self.slotCount))
    if entry.pointee.stamp == stamp && entry.pointee.receiver == receiver && entry.pointee.source == source { return }
    // Not claimed by any peer: nothing to remember, and nothing cached, so
    // the pair is reported again once a peer announces the key.
    guard routes.noteReceiver(source, receiver) else { return }
    entry.pointee = Entry(source: source, receiver: receiver, stamp: stamp)
  }
}
