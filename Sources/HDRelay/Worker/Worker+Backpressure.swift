// Backpressure instead of loss (docs/queueing.md): when a destination's queue
// goes over the soft depth, the sender adding to it stops being read until the
// destination drains, so TCP slows the sender down. A destination congested
// for `stallTicks` counts as stalled: its senders are released and packets to
// it are dropped as in derper, so a receiver that stops reading holds nobody up.
extension Worker {
  /// Pauses reading `sender` until `target` (a local slot, or -1 - worker for
  /// the cross-worker ring towards that worker) has room again.
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

  /// True when packets for `location` should wait (its queue is over the soft
  /// depth and it has not been congested long enough to count as stalled).
  @inline(__always)
  func isCongested(_ location: PeerLocation) -> Bool {
    guard let d = conns.resolve(slot: location.slot, generation: location.generation),
      d.pointee.state == .registered, let q = d.pointee.sendQueue,
      SendQueue(q).count(.other) >= Tuning.queuePacketsMax
    else { return false }
    if !d.pointee.flags.contains(.congested) {
      d.pointee.flags.insert(.congested)
      d.pointee.congestedTick = tick
    }
    return !isStalled(d)
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
    guard !backpressuredSlots.isEmpty else { return }
    var i = 0
    while i < backpressuredSlots.count {
      let slot = backpressuredSlots[i]
      let s = conns[slot]
      if mayResume(s) {
        s.pointee.flags.remove(.backpressured)
        if s.pointee.state == .registered && !s.pointee.flags.contains(.paused) { armRecv(slot) }
        backpressuredSlots.swapAt(i, backpressuredSlots.count - 1)
        backpressuredSlots.removeLast()
      } else {
        i += 1
      }
    }
  }

  private func mayResume(_ s: UnsafeMutablePointer<Connection>) -> Bool {
    guard s.pointee.state == .registered, s.pointee.flags.contains(.backpressured) else { return true }
    let target = s.pointee.waitingOn
    if target >= 0 {
      let d = conns[target]
      guard d.pointee.state == .registered, d.pointee.flags.contains(.congested) else { return true }
      return isStalled(d)
    }
    guard let ring = shared.xfer[index][Int(-1 - target)] else { return true }
    return ring.usedBytes <= ring.capacity / 4 || tick &- s.pointee.backpressureTick >= Tuning.stallTicks
  }
}
