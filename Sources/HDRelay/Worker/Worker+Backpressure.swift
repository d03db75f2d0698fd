// Backpressure instead of loss (docs/queueing.md): when a destination's queue
// goes over the soft depth, the sender adding to it stops being read until the
// destination drains, so TCP slows the sender down. A destination congested
// for `stallTicks` counts as stalled: its senders are released and packets to
// it are dropped as in derper, so a receiver that stops reading holds nobody up.
extension Worker {
  /// Pauses reading `sender` until `target` (a local slot; -1 - worker for the
  /// cross-worker ring towards that worker; `RemotePauses.waitCode` for a
  /// destination on another worker) has room again.
  func backpressure(_ sender: Int32, waitingOn target: Int32) {
    let s = conns[sender]
    guard !s.pointee.flags.contains(.backpressured), s.pointee.state == .registered else { return }
    s.pointee.flags.insert(.backpressured)
    s.pointee.waitingOn = target
    s.pointee.backpressureTick = tick
    backpressuredSlots.append(sender)
    stats.add(.backpressurePauses)
    // The receive in flight (one buffer at most) completes and is handled;
    // it is just not re-armed until the sender is released.
  }

  /// A congested destination whose socket accepted nothing for `stallTicks`
  /// (its reader stopped): no more backpressure on its behalf.
  @inline(__always)
  func isStalled(_ d: UnsafeMutablePointer<Connection>) -> Bool {
    tick &- max(d.pointee.sendProgressTick, d.pointee.congestedTick) >= Tuning.stallTicks
  }

  /// Resumes senders whose destination drained, left or stalled. Runs every
  /// loop iteration; costs nothing when nobody is paused.
  @inline(__always)
  func releaseBackpressure() {
    if !remotePauses.entries.isEmpty { releaseRemotePauses() }
    guard !backpressuredSlots.isEmpty else { return }
    var i = 0
    while i < backpressuredSlots.count {
      if mayResume(conns[backpressuredSlots[i]]) {
        resumeBackpressured(at: i)
      } else {
        i += 1
      }
    }
  }

  /// Reads `backpressuredSlots[i]` again and removes it from the list (swapping the last one in).
  func resumeBackpressured(at i: Int) {
    let slot = backpressuredSlots[i]
    let s = conns[slot]
    s.pointee.flags.remove(.backpressured)
    if s.pointee.state == .registered && !s.pointee.flags.contains(.paused) { armRecv(slot) }
    backpressuredSlots.swapAt(i, backpressuredSlots.count - 1)
    backpressuredSlots.removeLast()
  }

  private func mayResume(_ s: UnsafeMutablePointer<Connection>) -> Bool {
    guard s.pointee.state == .registered, s.pointee.flags.contains(.backpressured) else { return true }
    let target = s.pointee.waitingOn
    if target >= 0 {
      let d = conns[target]
      guard d.pointee.state == .registered, d.pointee.flags.contains(.congested) else { return true }
      guard isStalled(d) else { return false }
      // Released because the destination stopped taking bytes, not because it drained.
      stats.add(.backpressureStallReleases)
      return true
    }
    // Paused by another worker: its resume message releases the sender; this
    // is only the safety net for a pause that stopped being renewed.
    if RemotePauses.isRemoteWait(target) { return tick &- s.pointee.backpressureTick >= Tuning.remotePauseSafetyTicks }
    guard let ring = shared.xfer[index][Int(-1 - target)] else { return true }
    return ring.usedBytes <= Tuning.xferRingResumeBytes || tick &- s.pointee.backpressureTick >= Tuning.stallTicks
  }
}
