// Time in the loop: a 100 ms tick re-arms accepts (rate-limited peers have
// their own deadline, Worker+RateLimit.swift); every second a sweep over the
// connection slots enforces the handshake deadline and the write timeout,
// sends KeepAlives, and gives idle packet memory back to the kernel.
// A sweep costs ~10 ns per slot.
extension Worker {
  func onTick() {
    let now = monotonicNanoseconds()
    var elapsedTicks: UInt64 = 0
    while nextTickNanoseconds <= now {
      elapsedTicks += 1
      nextTickNanoseconds += UInt64(Tuning.tickNanoseconds)
    }
    // The tick measures time this loop ran, not wall time: after the worker
    // itself stood still (descheduled, the process stopped, a paused VM), the
    // completions it just reaped were stamped with the old tick, and counting
    // the whole gap would close every peer with a send in flight for the
    // relay's own absence. A gap counts as at most `maxTicksPerWake`.
    tick += min(elapsedTicks, Tuning.maxTicksPerWake)
    if !listenersArmed && stopPhase == 0 && tick >= acceptRetryTick { armAccepts() }
    rearmStarved()
    if shared.stopRequested && stopPhase == 0 { beginStop() }
    if stopPhase == 1 { continueStop(now: now) }
    if tick >= nextSweepTick {
      nextSweepTick = tick + sweepTicks
      sweep()
    }
  }

  private func sweep() {
    for s in 0..<Int(conns.highWater) {
      let slot = Int32(s)
      let conn = conns[slot]
      switch conn.pointee.state {
      case .free, .closing:
        continue
      case .http, .awaitingClientInfo, .verifying:
        if tick &- conn.pointee.acceptTick >= Tuning.handshakeTimeoutTicks {
          stats.handshakeFailed(.timeout)
          beginClose(slot, reason: .handshakeFailed)
          continue
        }
      case .registered:
        if tick >= conn.pointee.keepAliveTick {
          queueKeepAlive(slot, conn)
          conn.pointee.keepAliveTick = tick + keepAliveTicks + nextRandom() % keepAliveJitterTicks
        }
      }
      let writeTimeoutTicks = conn.pointee.flags.contains(.meshPeer) ? Tuning.meshWriteTimeoutTicks : Tuning.writeTimeoutTicks
      if conn.pointee.flags.contains(.sendInFlight) && tick &- conn.pointee.sendProgressTick >= writeTimeoutTicks {
        beginClose(slot, reason: .writeTimeout)
      }
    }
    stats.set(.poolBytesInUse, memory.bytesInUse)
    stats.set(.poolFallbacks, Int(memory.fallbacks))
    stats.set(.recvBuffersHeldForFrames, buffers.heldForFrames)
    if conns.live == 0 {
      memory.trimIfIdle()
      if starvedSlots.isEmpty { buffers.trimResidentMemory() }
    }
  }

}
