// Graceful stop, driven by the tick: stop accepting and reading, let queued
// frames drain until the grace deadline, then close every connection and
// leave the loop once all of them are gone.
@preconcurrency import Glibc

extension Worker {
  func beginStop() {
    stopPhase = 1
    closeListeners()
    for s in 0..<Int(conns.highWater) {
      let conn = conns[Int32(s)]
      if conn.pointee.state != .free && conn.pointee.flags.contains(.recvArmed) { cancelRecv(Int32(s), conn) }
    }
  }

  func continueStop(now: UInt64) {
    var busy = false
    var live = false
    for s in 0..<Int(conns.highWater) {
      let conn = conns[Int32(s)]
      guard conn.pointee.state != .free else { continue }
      live = true
      if conn.pointee.state != .closing && conn.pointee.sendQueue != nil { busy = true }
    }
    let pastDeadline = now >= stopDeadlineNanoseconds
    if !busy || pastDeadline {
      for s in 0..<Int(conns.highWater) where conns[Int32(s)].pointee.state != .free {
        beginClose(Int32(s), reason: .stopping)
      }
    }
    if !live || conns.live == 0 {
      stopPhase = 2
    } else if now >= stopDeadlineNanoseconds + 1_000_000_000 {
      // Operations that never completed: close the fds anyway; the ring's
      // teardown cancels whatever is still in flight.
      for s in 0..<Int(conns.highWater) where conns[Int32(s)].pointee.state != .free {
        conns[Int32(s)].pointee.pendingOps = 0
        finishCloseIfIdle(Int32(s))
      }
      stopPhase = 2
    }
  }
}
