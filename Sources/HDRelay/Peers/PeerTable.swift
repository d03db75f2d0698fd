// A worker's replica of "which connection receives packets for key K". Each
// worker keeps its own copy, updated by its own registrations and by control
// messages from the other workers over the cross-worker rings, so the hot
// lookup takes no lock. The owner of a connection re-checks the slot's
// generation on delivery, so a stale entry costs one `gone_disconnected`.
//
// Duplicate keys follow derper: every connection is kept; the active one is
// the member with the highest sequence number, where a member's sequence is
// its registration number, raised again whenever it sends a frame while not
// active ("last writer is active"). Sequence numbers come from one relay-wide
// counter, so every replica picks the same active member whatever order the
// messages arrive in.
import HDProtocol

final class PeerTable {
  struct Member: Equatable {
    var location: PeerLocation
    var seq: UInt64
  }

  // Open addressing, linear probing, backward-shift deletion (no tombstones).
  private var keys: UnsafeMutablePointer<DERPKey>
  private var locations: UnsafeMutablePointer<UInt64>  // 0 = empty slot
  private var seqs: UnsafeMutablePointer<UInt64>
  private var capacity: Int
  private(set) var count: Int = 0
  /// Keys with more than one connection: all members (control path only).
  private(set) var duplicates: [DERPKey: [Member]] = [:]

  init(initialCapacity: Int = 1024) {
    capacity = initialCapacity
    keys = .allocate(capacity: capacity)
    locations = .allocate(capacity: capacity)
    locations.initialize(repeating: 0, count: capacity)
    seqs = .allocate(capacity: capacity)
  }

  deinit {
    keys.deallocate()
    locations.deallocate()
    seqs.deallocate()
  }

  @inline(__always) private func home(_ key: DERPKey) -> Int { Int(truncatingIfNeeded: key.tableHash) & (capacity - 1) }

  @inline(__always) private func find(_ key: DERPKey) -> Int? {
    var i = home(key)
    while locations[i] != 0 {
      if keys[i] == key { return i }
      i = (i + 1) & (capacity - 1)
    }
    return nil
  }

  /// The active connection for `key` (hot path).
  @inline(__always) func lookup(_ key: DERPKey) -> PeerLocation? {
    guard let i = find(key) else { return nil }
    return PeerLocation(raw: locations[i])
  }

  /// Every key with its active connection (control path: WatchConns).
  func forEachActive(_ body: (DERPKey, PeerLocation) -> Void) {
    for i in 0..<capacity where locations[i] != 0 { body(keys[i], PeerLocation(raw: locations[i])) }
  }

  var dupConnectionCount: Int { duplicates.values.reduce(0) { $0 + $1.count } }

  /// Adds a connection for `key`. Returns true if the key already had one.
  @discardableResult
  func add(_ key: DERPKey, _ location: PeerLocation, seq: UInt64) -> Bool {
    if let i = find(key) {
      var members = duplicates[key] ?? [Member(location: PeerLocation(raw: locations[i]), seq: seqs[i])]
      if !members.contains(where: { $0.location == location }) {
        members.append(Member(location: location, seq: seq))
      }
      duplicates[key] = members
      setActive(i, members)
      return true
    }
    if (count + 1) * 2 > capacity { grow() }
    insertNew(key, location.raw, seq)
    return false
  }

  /// Removes one connection of `key`; returns how many remain.
  @discardableResult
  func remove(_ key: DERPKey, _ location: PeerLocation) -> Int {
    guard let i = find(key) else { return 0 }
    if var members = duplicates[key] {
      members.removeAll { $0.location == location }
      if members.count <= 1 {
        duplicates[key] = nil
        if let last = members.first {
          locations[i] = last.location.raw
          seqs[i] = last.seq
          return 1
        }
        delete(at: i)
        return 0
      }
      duplicates[key] = members
      setActive(i, members)
      return members.count
    }
    guard locations[i] == location.raw else { return 1 }  // stale remove of an older connection
    delete(at: i)
    return 0
  }

  /// A member sent a frame while not active: it becomes active with `seq`.
  func activate(_ key: DERPKey, _ location: PeerLocation, seq: UInt64) {
    guard let i = find(key), var members = duplicates[key],
      let m = members.firstIndex(where: { $0.location == location })
    else { return }
    members[m].seq = max(members[m].seq, seq)
    duplicates[key] = members
    setActive(i, members)
  }

  /// Every member's location for `key` (control path).
  func members(of key: DERPKey) -> [PeerLocation] {
    if let members = duplicates[key] { return members.map(\.location) }
    return lookup(key).map { [$0] } ?? []
  }

  private func setActive(_ i: Int, _ members: [Member]) {
    let best = members.max { $0.seq < $1.seq }!
    locations[i] = best.location.raw
    seqs[i] = best.seq
  }

  private func insertNew(_ key: DERPKey, _ location: UInt64, _ seq: UInt64) {
    var i = home(key)
    while locations[i] != 0 { i = (i + 1) & (capacity - 1) }
    keys[i] = key
    locations[i] = location
    seqs[i] = seq
    count += 1
  }

  private func delete(at index: Int) {
    var hole = index
    var i = (index + 1) & (capacity - 1)
    while locations[i] != 0 {
      let want = home(keys[i])
      // Move entry i into the hole if its home is not in (hole, i] cyclically.
      let inRange = hole <= i ? (want > hole && want <= i) : (want > hole || want <= i)
      if !inRange {
        keys[hole] = keys[i]
        locations[hole] = locations[i]
        seqs[hole] = seqs[i]
        hole = i
      }
      i = (i + 1) & (capacity - 1)
    }
    locations[hole] = 0
    count -= 1
  }

  private func grow() {
    let oldKeys = keys, oldLocations = locations, oldSeqs = seqs, oldCapacity = capacity
    capacity *= 2
    keys = .allocate(capacity: capacity)
    locations = .allocate(capacity: capacity)
    locations.initialize(repeating: 0, count: capacity)
    seqs = .allocate(capacity: capacity)
    count = 0
    for i in 0..<oldCapacity where oldLocations[i] != 0 {
      insertNew(oldKeys[i], oldLocations[i], oldSeqs[i])
    }
    oldKeys.deallocate()
    oldLocations.deallocate()
    oldSeqs.deallocate()
  }
}
