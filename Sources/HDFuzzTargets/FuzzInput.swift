// Turns fuzzer bytes into the shapes targets need: a few control bytes, and
// the data split into receives of varying sizes (partial frames and heads
// across reads are where incremental parsers go wrong).

struct FuzzInput {
  private let bytes: UnsafeRawBufferPointer
  private(set) var offset = 0

  init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

  var remaining: Int { bytes.count - offset }

  /// The next byte, or 0 past the end (so short inputs still mean something).
  mutating func byte() -> UInt8 {
    guard offset < bytes.count else { return 0 }
    defer { offset += 1 }
    return bytes[offset]
  }

  /// The next `count` bytes (fewer at the end).
  mutating func take(_ count: Int) -> [UInt8] {
    let n = min(max(0, count), remaining)
    defer { offset += n }
    return Array(bytes[offset..<(offset + n)])
  }

  /// Everything not consumed yet.
  mutating func rest() -> [UInt8] { take(remaining) }
}

/// Splits `data` into chunks whose sizes follow `seed`: seed 0 keeps it whole,
/// otherwise sizes cycle through small and odd values (1, 2, 3, 5, 7, … up to
/// a few KiB), so every boundary position gets exercised somewhere.
func chunks(_ data: [UInt8], seed: UInt8) -> [ArraySlice<UInt8>] {
  guard seed != 0, !data.isEmpty else { return [data[...]] }
  var out: [ArraySlice<UInt8>] = []
  var state = UInt32(seed) &* 2_654_435_761
  var start = 0
  while start < data.count {
    state = state &* 1_103_515_245 &+ 12_345
    let sizes = [1, 2, 3, 5, 7, 13, 64, 200, 1500, 4096]
    let size = sizes[Int((state >> 16) % UInt32(sizes.count))]
    let end = min(data.count, start + size)
    out.append(data[start..<end])
    start = end
  }
  return out
}
