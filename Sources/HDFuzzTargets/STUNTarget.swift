// STUN Binding Request validation (HDRelay.STUNRequestParser): every datagram
// on the STUN port goes through it before an answer is written.
import HDRelay

extension FuzzTargets {
  static let stun = FuzzTarget(
    name: "stun",
    summary: "STUN datagram validation (header, length, attributes, FINGERPRINT)",
    maxInputBytes: 1_500
  ) { raw, checks throws(FuzzFailure) in
    let count = raw.count
    // An empty datagram has no address; the parser must refuse it without reading.
    let reason = raw.baseAddress.map { STUNRequestParser.dropReason($0, count: count) } ?? .tooShort
    guard reason == nil else { return }
    let bytes = Array(raw)
    func u16(_ at: Int) -> Int { Int(bytes[at]) << 8 | Int(bytes[at + 1]) }
    try checks.require(count >= 20, "accepted a \(count)-byte datagram")
    try checks.require(u16(0) == 0x0001, "accepted message type \(u16(0))")
    try checks.require(bytes[4...7].elementsEqual([0x21, 0x12, 0xA4, 0x42]), "accepted without the magic cookie")
    try checks.require(u16(2) + 20 == count && u16(2) % 4 == 0, "accepted length \(u16(2)) for \(count) bytes")
    // Every attribute lies inside the datagram; none is required (< 0x8000); FINGERPRINT is last.
    var offset = 20
    while offset < count {
      try checks.require(offset + 4 <= count, "attribute header past the end")
      let type = u16(offset)
      let next = offset + 4 + (u16(offset + 2) + 3) & ~3
      try checks.require(next <= count, "attribute past the end")
      try checks.require(type >= 0x8000, "accepted required attribute \(type)")
      try checks.require(type != 0x8028 || next == count, "accepted an attribute after FINGERPRINT")
      offset = next
    }
  }
}
