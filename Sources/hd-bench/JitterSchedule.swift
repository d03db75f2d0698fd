// Per-sender pacing with jitter (`--jitter PCT`): production peers don't send
// in lockstep. Each sender starts at a random phase within its first gap and
// spaces its frames by the mean gap times a uniform factor in [1 − J, 1 + J],
// so the aggregate rate is the offered one while single senders drift apart.
// The allowance is cumulative (a sender that was held back catches up), as
// with the unjittered pacing.

/// xorshift64*: cheap, seeded per engine, good enough to spread send times.
struct BenchRandom {
  var state: UInt64

  init(seed: UInt64) { state = seed | 1 }

  @inline(__always)
  mutating func next() -> UInt64 {
    state ^= state >> 12
    state ^= state << 25
    state ^= state >> 27
    return state &* 0x2545_F491_4F6C_DD1D
  }

  /// Uniform in [0, 1).
  @inline(__always)
  mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

struct JitterSchedule {
  /// Frames this sender may have written in total so far.
  var due: UInt64 = 0
  var nextNanoseconds: Int64 = 0

  /// Unused until started (unjittered senders keep this).
  init() {}

  /// A schedule whose first frame is due at a random point of the first gap after `start`.
  init(start: Int64, gapNanoseconds: Double, random: inout BenchRandom) {
    nextNanoseconds = start + Int64(gapNanoseconds * random.unit())
  }

  /// Counts every frame due by `now`.
  @inline(__always)
  mutating func advance(to now: Int64, gapNanoseconds: Double, jitter: Double, random: inout BenchRandom) {
    while nextNanoseconds <= now {
      due += 1
      let factor = 1 + jitter * (2 * random.unit() - 1)
      nextNanoseconds += max(1, Int64(gapNanoseconds * factor))
    }
  }
}

extension ThroughputConfig {
  /// Mean nanoseconds between two frames of one paced sender.
  var frameGapNanoseconds: Double {
    let senderBytesPerSecond = rateMbps * 1e6 / 8 / Double(max(1, pairs))
    return senderBytesPerSecond > 0 ? 1e9 * Double(max(1, messageBytes)) / senderBytesPerSecond : 0
  }

  /// Jitter as a fraction (0 = lockstep pacing).
  var jitterFraction: Double { jitterPercent / 100 }
}
