// What travels in an SQE's user_data: the operation and the connection slot
// with its generation, so a completion for a slot that was reused is ignored.

/// Operation tag in the top byte of user_data.
enum Op: UInt8 {
  /// Multishot accept on listener `slot`.
  case accept = 1
  /// Multishot recv on connection `slot`.
  case recv
  /// sendmsg on connection `slot`.
  case send
  /// Cancel request (its own completion is ignored).
  case cancel
  /// Eventfd read: another worker wrote to our cross-worker rings.
  case wake
}

/// Packed user_data: op (8 bits) | generation (24 bits) | slot (32 bits).
struct UserData: Equatable {
  var raw: UInt64

  init(raw: UInt64) { self.raw = raw }

  init(_ op: Op, slot: Int32, generation: UInt32) {
    raw = UInt64(op.rawValue) << 56 | UInt64(generation & 0xFF_FFFF) << 32 | UInt64(UInt32(bitPattern: slot))
  }

  var op: Op? { Op(rawValue: UInt8(truncatingIfNeeded: raw >> 56)) }
  var slot: Int32 { Int32(bitPattern: UInt32(truncatingIfNeeded: raw)) }
  var generation: UInt32 { UInt32(truncatingIfNeeded: raw >> 32) & 0xFF_FFFF }
}
