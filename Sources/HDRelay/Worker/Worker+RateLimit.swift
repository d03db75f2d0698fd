// `peer_rate_limit`: a token bucket per registered peer, refilled by the
// monotonic clock (not the 100 ms tick) and charged for every byte a receive
// returns. The gate is before every receive is armed: a receive never asks for
// more than the tokens left, so one completion cannot overshoot the budget;
// with fewer than `Tuning.peerRateResumeBytes` left the peer is not read
// (TCP backpressure slows it) and a deadline is set for the moment that many
// tokens are back, so the loop wakes exactly then. Frames are reassembled
// across receives, so reading part of a frame never cuts it.
extension Worker {
  /// Adds the tokens earned since the last refill (at most the burst). The
  /// refill time advances only by the time those whole tokens took, so the
  /// fraction of a token earned between two close calls is never lost.
  @inline(__always)
  func refillRate(_ conn: UnsafeMutablePointer<Connection>, now: UInt64) {
    let last = conn.pointee.rateRefillNanoseconds
    guard now > last else { return }
    let room = rateBurstBytes - conn.pointee.rateTokens
    let earned = Double(now - last) * Double(rateBytesPerSecond) / 1e9
    if earned >= Double(room) {
      conn.pointee.rateTokens = rateBurstBytes
      conn.pointee.rateRefillNanoseconds = now
    } else if earned >= 1 {
      let whole = Int64(earned)
      conn.pointee.rateTokens += whole
      conn.pointee.rateRefillNanoseconds = last + UInt64(Double(whole) * 1e9 / Double(rateBytesPerSecond))
    }
  }

  /// Charges bytes a receive returned.
  @inline(__always)
  func chargeRate(_ conn: UnsafeMutablePointer<Connection>, bytes: Int) {
    conn.pointee.rateTokens -= Int64(bytes)
  }

  /// Bytes the next receive of a rate-limited peer may take (0 when there is
  /// no limit: the whole buffer), or nil when the peer is now paused.
  @inline(__always)
  func rateAllowance(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>) -> UInt32? {
    guard rateBytesPerSecond > 0, conn.pointee.state == .registered, !conn.pointee.flags.contains(.meshPeer) else { return 0 }
    let now = monotonicNanoseconds()
    refillRate(conn, now: now)
    let tokens = conn.pointee.rateTokens
    if tokens >= Tuning.peerRateResumeBytes { return UInt32(min(tokens, Int64(Tuning.recvBufferBytes))) }
    if !conn.pointee.flags.contains(.paused) {
      conn.pointee.flags.insert(.paused)
      stats.add(.rateLimitPauses)
      pausedSlots.append(slot)
    }
    nextRateResumeNanoseconds = min(nextRateResumeNanoseconds, rateResumeNanoseconds(conn))
    return nil
  }

  /// When the bucket of `conn` holds `peerRateResumeBytes` again.
  @inline(__always)
  private func rateResumeNanoseconds(_ conn: UnsafeMutablePointer<Connection>) -> UInt64 {
    let missing = Tuning.peerRateResumeBytes - conn.pointee.rateTokens
    // Rounded up so the peer is not woken a nanosecond early and paused again.
    let wait = (Double(missing) * 1e9 / Double(rateBytesPerSecond)).rounded(.up)
    return conn.pointee.rateRefillNanoseconds + UInt64(wait) + 1
  }

  /// Reads again every paused peer whose deadline came; sets the next deadline.
  func resumePaused(now: UInt64) {
    nextRateResumeNanoseconds = .max
    var i = 0
    while i < pausedSlots.count {
      let slot = pausedSlots[i]
      let conn = conns[slot]
      var done = !conn.pointee.flags.contains(.paused) || conn.pointee.state != .registered
      if !done {
        refillRate(conn, now: now)
        if conn.pointee.rateTokens >= Tuning.peerRateResumeBytes {
          done = true
        } else {
          nextRateResumeNanoseconds = min(nextRateResumeNanoseconds, rateResumeNanoseconds(conn))
        }
      }
      guard done else {
        i += 1
        continue
      }
      conn.pointee.flags.remove(.paused)
      pausedSlots.swapAt(i, pausedSlots.count - 1)
      pausedSlots.removeLast()
      if conn.pointee.state == .registered && conn.pointee.flags.isDisjoint(with: .noRearm) { armRecv(slot) }
    }
  }
}
