// Backpressure across workers (docs/queueing.md). A worker never holds an
// inbound cross-worker ring back for one destination: it always dequeues, and
// when a packet from another worker pushes a local destination over the soft
// depth it asks the sender's worker to stop reading that sender (`pause`).
// It sends `resume` once the destination drains to the resume depth, is
// declared stalled, or leaves; while the cause lasts it renews the pause every
// `remotePauseRenewTicks`. The sender's worker releases a pause nobody renewed
// for `remotePauseSafetyTicks`, so no lost or stale message pauses a sender for good.
import HDProtocol

/// Senders on other workers that this worker has asked to pause: one entry
/// per sender (a sender waits on one destination at a time, as on the
/// same-worker path). Usually a handful; scanned linearly.
struct RemotePauses {
  struct Entry {
    /// `PeerLocation.raw` of the sender on its own worker.
    var sender: UInt64
    /// The congested local destination.
    var destinationSlot: Int32
    var destinationGeneration: UInt32
    var renewedTick: UInt64
  }

  var entries: [Entry] = []
  /// `PeerLocation.raw` of the sender of the cross-worker packet being delivered (0: none).
  var currentSender: UInt64 = 0

  /// Room up front, so the first pauses don't allocate on the worker thread.
  init() { entries.reserveCapacity(64) }

  /// `Connection.waitingOn` of a sender paused by worker `w` (local slots are
  /// ≥ 0, a full ring towards `w` is -1 - w).
  @inline(__always) static func waitCode(worker w: Int) -> Int32 { Int32.min + Int32(w) }
  @inline(__always) static func isRemoteWait(_ code: Int32) -> Bool { code < Int32.min / 2 }
}

extension Worker {
  /// `enqueuePacket` found `destination` over the soft depth while delivering
  /// a packet from another worker: ask that worker to pause the sender (once).
  func pauseRemoteSender(destination slot: Int32, _ d: UnsafeMutablePointer<Connection>) {
    let sender = remotePauses.currentSender
    for i in 0..<remotePauses.entries.count where remotePauses.entries[i].sender == sender { return }
    remotePauses.entries.append(
      .init(sender: sender, destinationSlot: slot, destinationGeneration: d.pointee.generation, renewedTick: tick))
    let location = PeerLocation(raw: sender)
    sendControl(.pause(sender: location), to: location.worker)
  }

  /// Every loop iteration while remote senders are paused: resume those whose
  /// destination drained, stalled or left; renew the others' pauses.
  func releaseRemotePauses() {
    var i = 0
    while i < remotePauses.entries.count {
      let entry = remotePauses.entries[i]
      let sender = PeerLocation(raw: entry.sender)
      if let d = conns.resolve(slot: entry.destinationSlot, generation: entry.destinationGeneration),
        d.pointee.state == .registered, d.pointee.flags.contains(.congested), !isStalled(d)
      {
        if tick &- entry.renewedTick >= Tuning.remotePauseRenewTicks {
          remotePauses.entries[i].renewedTick = tick
          sendControl(.pause(sender: sender), to: sender.worker)
        }
        i += 1
      } else {
        sendControl(.resume(sender: sender), to: sender.worker)
        remotePauses.entries.swapAt(i, remotePauses.entries.count - 1)
        remotePauses.entries.removeLast()
      }
    }
  }

  /// Worker `w` asks to stop reading `sender` (or renews that request). A
  /// sender already paused for another reason now waits for `w`'s resume; if
  /// the other cause persists, its next packet pauses it again.
  func onRemotePause(_ sender: PeerLocation, from w: Int) {
    guard let s = conns.resolve(slot: sender.slot, generation: sender.generation), s.pointee.state == .registered
    else { return }
    if s.pointee.flags.contains(.backpressured) {
      s.pointee.waitingOn = RemotePauses.waitCode(worker: w)
      s.pointee.backpressureTick = tick
    } else {
      backpressure(sender.slot, waitingOn: RemotePauses.waitCode(worker: w))
    }
  }

  /// Worker `w` says the destination `sender` waited on drained, stalled or left.
  func onRemoteResume(_ sender: PeerLocation, from w: Int) {
    guard let s = conns.resolve(slot: sender.slot, generation: sender.generation),
      s.pointee.flags.contains(.backpressured), s.pointee.waitingOn == RemotePauses.waitCode(worker: w),
      let i = backpressuredSlots.firstIndex(of: sender.slot)
    else { return }
    resumeBackpressured(at: i)
  }
}
