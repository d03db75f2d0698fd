// The plain-TCP throughput engine: one io_uring, every sender with one batched
// send in flight (up to `batchFrames` frames per write), every receiver with
// one large recv in flight whose bytes are counted by header skipping. One
// thread drives all connections; per message it costs a few ns of parsing
// plus 1/batch of a system call, far below what the relay spends.
@preconcurrency import Glibc
import HDProtocol
import Synchronization

final class UringThroughputEngine {
  struct Sender {
    var fd: Int32
    var batch: FrameBatch
    var bytesWritten: UInt64 = 0
    var inFlight = false
    var dead = false
    var errors: UInt64 = 0
    var windowStartFrames: UInt64 = 0
    var windowEndFrames: UInt64 = 0
    /// Jittered pacing only: this sender's own schedule.
    var schedule = JitterSchedule()
    /// Stream offset the send in flight ends at.
    var postedEnd: UInt64 = 0
    var framesWritten: UInt64 { bytesWritten / UInt64(batch.frameBytes) }
    var atFrameBoundary: Bool { bytesWritten % UInt64(batch.frameBytes) == 0 }
  }

  struct Receiver {
    var fd: Int32
    var buffer: UnsafeMutableRawPointer
    var counter = StreamCounter()
    var closed = false
    var windowStartPackets: UInt64 = 0
    var windowStartBytes: UInt64 = 0
    var windowEndPackets: UInt64 = 0
    var windowEndBytes: UInt64 = 0
  }

  enum Phase { case warmup, window, stopping, draining, done }

  /// Bounds of the paced senders' clock tick (see `pacedTickNanoseconds`).
  static let pacedTickMinNanoseconds: Int64 = 200_000
  static let pacedTickMaxNanoseconds: Int64 = 2_000_000

  let config: ThroughputConfig
  /// nil = unlimited; otherwise each sender stops after this many messages.
  let messagesPerSender: UInt64?
  var senders: [Sender] = []
  var receivers: [Receiver] = []
  let ring: Ring
  let paced: Bool
  let senderBytesPerSecond: Double
  /// Paced: the loop wakes once per tick, long enough for each sender's
  /// allowance to fill half a batch (so one write carries many frames) and
  /// short enough that a whole batch never waits for the next tick.
  let pacedTickNanoseconds: Int64
  /// Ends the window early when set (background load for the latency mode).
  var externalStop: StopFlags?
  /// Paced with `--jitter`: every sender follows its own JitterSchedule.
  let jittered: Bool
  var random = BenchRandom(seed: UInt64(truncatingIfNeeded: MonoClock.nanoseconds()))
  /// Paced: some sender has frames due beyond the write it has in flight
  /// (small batches, e.g. one frame per write), so the loop must not sleep
  /// until the next tick but post again as sends complete.
  var backlog = false
  /// Paced, and one write per tick carries fewer frames than a tick makes due
  /// (small batches against the 0.2 ms tick floor, e.g. one frame per write):
  /// the backlog then follows what is due. Batched senders keep the allowance
  /// (at most one batch ahead), so a sender behind a saturated relay still
  /// writes once per tick rather than waking the loop on every completion.
  let batchSlowerThanTick: Bool

  /// The paced tick for `config` (both engines): half a batch per sender, bounded.
  static func pacedTick(_ config: ThroughputConfig) -> Int64 {
    let senderBytesPerSecond = config.rateMbps * 1e6 / 8 / Double(max(1, config.pairs))
    let framesPerSecond = senderBytesPerSecond / Double(max(1, config.messageBytes))
    let halfBatchNanoseconds = framesPerSecond > 0 ? Double(config.batchFrames) / 2 / framesPerSecond * 1e9 : 0
    return min(pacedTickMaxNanoseconds, max(pacedTickMinNanoseconds, Int64(halfBatchNanoseconds)))
  }

  init(config: ThroughputConfig, peers: [ConnectedPeer], messagesPerSender: UInt64? = nil) throws(BenchError) {
    precondition(peers.count >= 2 * config.pairs, "not enough connected peers for the pairs")
    self.config = config
    self.messagesPerSender = messagesPerSender
    paced = config.rateMbps > 0
    senderBytesPerSecond = config.rateMbps * 1e6 / 8 / Double(max(1, config.pairs))
    pacedTickNanoseconds = Self.pacedTick(config)
    let framesPerTick = senderBytesPerSecond / Double(max(1, config.messageBytes)) * Double(pacedTickNanoseconds) / 1e9
    batchSlowerThanTick = paced && framesPerTick >= Double(config.batchFrames)
    jittered = paced && config.jitterPercent > 0
    ring = try Ring(entries: UInt32(max(64, (4 * config.pairs).nextPowerOfTwo)))
    for i in 0..<config.pairs {
      let sender = peers[2 * i]
      let receiver = peers[2 * i + 1]
      senders.append(Sender(fd: sender.fd, batch: FrameBatch(destination: receiver.keys.publicKey,
                                                             messageBytes: config.messageBytes, frames: config.batchFrames)))
      var r = Receiver(fd: receiver.fd, buffer: UnsafeMutableRawPointer.allocate(byteCount: config.receiveBufferBytes, alignment: 64))
      receiver.leftover.withUnsafeBytes { if $0.count > 0 { r.counter.consume($0.baseAddress!, $0.count) } }
      receivers.append(r)
    }
  }

  deinit {
    ring.close()  // before freeing buffers the kernel may still write to
    for s in senders { s.batch.free() }
    for r in receivers { r.buffer.deallocate() }
  }

  static func sendData(_ index: Int) -> UInt64 { UInt64(index) << 1 }
  static func recvData(_ index: Int) -> UInt64 { UInt64(index) << 1 | 1 }

  struct Outcome {
    var sendingSeconds = 0.0
    var windowSeconds = 0.0
    var drainedSeconds = 0.0
    /// Paced: writes posted in a loop pass that a send completion started, not
    /// the tick (senders catching up with what is due, see `backlog`).
    var writesOffTick: UInt64 = 0
  }

  /// Runs warm-up, window, stop and drain on the calling thread.
  func run() -> Outcome {
    for i in receivers.indices { postRecv(i) }
    let t0 = MonoClock.nanoseconds()
    let warmEnd = t0 + Int64(config.warmupSeconds * 1e9)
    let windowEnd = warmEnd + Int64(config.durationSeconds * 1e9)
    var drainDeadline: Int64 = 0
    var sendStopped: Int64 = 0
    var phase = Phase.warmup
    var outcome = Outcome()
    var nextTick = t0
    if config.warmupSeconds <= 0 { phase = .window }
    if jittered {
      for i in senders.indices {
        senders[i].schedule = JitterSchedule(start: t0, gapNanoseconds: config.frameGapNanoseconds, random: &random)
      }
    }
    while phase != .done {
      let now = MonoClock.nanoseconds()
      switch phase {
      case .warmup where now >= warmEnd:
        snapshotWindowStart()
        phase = .window
      case .window where now >= windowEnd || (messagesPerSender != nil && allSendersFinished())
        || externalStop?.sending.load(ordering: .relaxed) == true:
        snapshotWindowEnd()
        outcome.windowSeconds = Double(now - max(warmEnd, t0)) / 1e9
        phase = .stopping
      case .stopping where senders.allSatisfy({ !$0.inFlight && ($0.atFrameBoundary || $0.dead) }):
        sendStopped = now
        outcome.sendingSeconds = Double(now - t0) / 1e9
        drainDeadline = now + Int64(config.drainSeconds * 1e9)
        phase = .draining
      case .draining where allReceived() || now >= drainDeadline || receivers.allSatisfy({ $0.closed }):
        outcome.drainedSeconds = Double(now - sendStopped) / 1e9
        phase = .done
        continue
      default: break
      }
      backlog = false
      if phase == .warmup || phase == .window || phase == .stopping {
        let elapsed = Double(now - t0) / 1e9
        if jittered && phase != .stopping {
          let gap = config.frameGapNanoseconds
          for i in senders.indices {
            senders[i].schedule.advance(to: now, gapNanoseconds: gap, jitter: config.jitterFraction, random: &random)
          }
        }
        let tickPass = now >= nextTick
        for i in senders.indices where !senders[i].dead {
          let due = paced ? framesDue(i, elapsedSeconds: elapsed) : 0
          let allowed = framesAllowed(i, phase: phase, due: due)
          if !senders[i].inFlight {
            postSend(i, framesAllowed: allowed)
            if paced && !tickPass && senders[i].inFlight { outcome.writesOffTick &+= 1 }
          }
          // With small batches the backlog follows what is due: the allowance is
          // clamped to one batch ahead, so at one frame per write it never
          // exceeded the frame in flight and each sender wrote one frame per
          // tick (10 pairs topped out at ~560 Mbit/s whatever the offered rate).
          let ahead = batchSlowerThanTick ? due : allowed
          if paced && senders[i].inFlight && ahead &* UInt64(senders[i].batch.frameBytes) > senders[i].postedEnd {
            backlog = true
          }
        }
      }
      // Paced senders need a clock tick; unpaced ones are driven by completions.
      // Paced, the loop sleeps until the next tick whatever completes:
      // waking for each receive would cost the generator a system call and a
      // wake-up per relay write, more than the relay spends per message at
      // moderate rates. Received bytes wait in the socket buffer meanwhile (a
      // tick is at most half a batch per pair).
      var timeout: Int64 = 5_000_000
      var waitCompletions = 1
      if paced && (phase == .warmup || phase == .window) {
        // Fixed tick boundaries; one more completion than can arrive, so
        // only the tick ends the wait, unless frames are due beyond the
        // writes in flight: then the next completion ends it.
        let wokeAt = MonoClock.nanoseconds()
        if wokeAt >= nextTick {
          nextTick += pacedTickNanoseconds
          if nextTick <= wokeAt { nextTick = wokeAt + pacedTickNanoseconds }
        }
        timeout = nextTick - wokeAt
        waitCompletions = backlog ? 1 : outstandingOperations + 1
      } else if paced && phase == .stopping {
        timeout = pacedTickNanoseconds
      }
      ring.submitAndDrain(timeoutNanoseconds: timeout, waitCompletions: waitCompletions) { userData, result, _ in
        let index = Int(userData >> 1)
        if userData & 1 == 0 { completeSend(index, result) } else { completeRecv(index, result) }
      }
    }
    return outcome
  }

  /// Frames sender `i` may have written after its next write; `due` is its
  /// `framesDue` (the loop computes it once per pass, paced runs only).
  @inline(__always)
  func framesAllowed(_ i: Int, phase: Phase, due: UInt64) -> UInt64 {
    let s = senders[i]
    // Stopping: only finish a partly written frame, never start a new one.
    if phase == .stopping { return (s.bytesWritten + UInt64(s.batch.frameBytes) - 1) / UInt64(s.batch.frameBytes) }
    var allowed = s.framesWritten + UInt64(s.batch.frames)
    if paced {
      // Cumulative allowance (like the C++ tool, no burst cap), at most one batch ahead.
      allowed = min(allowed, max(due, (s.bytesWritten + UInt64(s.batch.frameBytes) - 1) / UInt64(s.batch.frameBytes)))
    }
    if let cap = messagesPerSender { allowed = min(allowed, cap) }
    return allowed
  }

  /// Paced: frames this sender should have written by now (its schedule, or the
  /// rate), at most the per-sender cap.
  @inline(__always)
  func framesDue(_ i: Int, elapsedSeconds: Double) -> UInt64 {
    let s = senders[i]
    let due = jittered ? s.schedule.due : UInt64(elapsedSeconds * senderBytesPerSecond / Double(config.messageBytes))
    if let cap = messagesPerSender { return min(due, cap) }
    return due
  }

  func allSendersFinished() -> Bool {
    guard let cap = messagesPerSender else { return false }
    return senders.allSatisfy { $0.dead || ($0.framesWritten >= cap && !$0.inFlight) }
  }

  /// Sends in flight plus receives armed (every open receiver has one).
  var outstandingOperations: Int {
    var n = 0
    for s in senders where s.inFlight { n += 1 }
    for r in receivers where !r.closed { n += 1 }
    return n
  }

  func allReceived() -> Bool {
    var sent: UInt64 = 0
    var received: UInt64 = 0
    for s in senders { sent += s.framesWritten }
    for r in receivers { received += r.counter.packets }
    return received >= sent
  }

  @inline(__always)
  func postSend(_ i: Int, framesAllowed: UInt64) {
    let (pointer, length) = senders[i].batch.nextWrite(bytesWritten: senders[i].bytesWritten, framesAllowed: framesAllowed)
    guard length > 0 else { return }
    senders[i].inFlight = true
    senders[i].postedEnd = senders[i].bytesWritten + UInt64(length)
    ring.prepSend(fd: senders[i].fd, buffer: pointer, bytes: length, userData: Self.sendData(i))
  }

  @inline(__always)
  func postRecv(_ i: Int) {
    ring.prepRecv(fd: receivers[i].fd, buffer: receivers[i].buffer, bytes: config.receiveBufferBytes, userData: Self.recvData(i))
  }

  @inline(__always)
  func completeSend(_ i: Int, _ result: Int32) {
    senders[i].inFlight = false
    if result > 0 {
      senders[i].bytesWritten += UInt64(result)
    } else if result != -EINTR && result != -EAGAIN {
      // The relay closed or reset us: a send error, and no more sends.
      senders[i].errors += 1
      senders[i].dead = true
    }
  }

  @inline(__always)
  func completeRecv(_ i: Int, _ result: Int32) {
    if result > 0 {
      receivers[i].counter.consume(receivers[i].buffer, Int(result))
      // Re-armed at once: deferring reads to batch them at low rates was
      // tried and made the relay's sends stall (and drop), changing what we measure.
      postRecv(i)
    } else if result == 0 || (result != -EINTR && result != -EAGAIN && result != -ENOBUFS) {
      receivers[i].closed = true
    } else {
      postRecv(i)
    }
  }

  func snapshotWindowStart() {
    for i in senders.indices { senders[i].windowStartFrames = senders[i].framesWritten }
    for i in receivers.indices {
      receivers[i].windowStartPackets = receivers[i].counter.packets
      receivers[i].windowStartBytes = receivers[i].counter.packetBytes
    }
  }

  func snapshotWindowEnd() {
    for i in senders.indices { senders[i].windowEndFrames = senders[i].framesWritten }
    for i in receivers.indices {
      receivers[i].windowEndPackets = receivers[i].counter.packets
      receivers[i].windowEndBytes = receivers[i].counter.packetBytes
    }
  }

  /// Per-pair counts after `run()`.
  func pairResults() -> [PairResult] {
    senders.indices.map { i in
      PairResult(pairID: i, senderID: 2 * i, receiverID: 2 * i + 1,
                 sent: senders[i].framesWritten, received: receivers[i].counter.packets,
                 sentInWindow: senders[i].windowEndFrames - senders[i].windowStartFrames,
                 receivedInWindow: receivers[i].windowEndPackets - receivers[i].windowStartPackets,
                 receivedBytesInWindow: receivers[i].windowEndBytes - receivers[i].windowStartBytes)
    }
  }

  var sendErrors: UInt64 { senders.reduce(0) { $0 + $1.errors } }
  var receivedBytesTotal: UInt64 { receivers.reduce(0) { $0 + $1.counter.packetBytes } }
  var corruptStreams: Int { receivers.filter { $0.counter.corrupt }.count }
  var otherFrames: UInt64 { receivers.reduce(0) { $0 + $1.counter.otherFrames } }
}

extension Int {
  var nextPowerOfTwo: Int {
    var v = 1
    while v < self { v <<= 1 }
    return v
  }
}
