// Where a connection lives: worker, slot and the slot's generation (so a
// location that outlived its connection is recognised as stale).

struct PeerLocation: Equatable {
  /// worker (8 bits) | generation (24 bits) | slot (32 bits).
  var raw: UInt64

  static let none = PeerLocation(raw: 0)

  init(raw: UInt64) { self.raw = raw }

  init(worker: Int, slot: Int32, generation: UInt32) {
    raw = UInt64(UInt8(truncatingIfNeeded: worker)) << 56 | UInt64(generation & 0xFF_FFFF) << 32
      | UInt64(UInt32(bitPattern: slot))
  }

  var worker: Int { Int(raw >> 56) }
  var slot: Int32 { Int32(bitPattern: UInt32(truncatingIfNeeded: raw)) }
  var generation: UInt32 { UInt32(truncatingIfNeeded: raw >> 32) & 0xFF_FFFF }
}
