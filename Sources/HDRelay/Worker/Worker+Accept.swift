// Accepting: each worker has its own SO_REUSEPORT listener per bind address
// with a multishot accept, so no thread hands connections to another.
@preconcurrency import Glibc
import CURing

extension Worker {
  func armAccepts() {
    guard stopPhase == 0 else { return }
    for (i, fd) in shared.listeners[index].enumerated() {
      hd_prep_multishot_accept(ring.sqe(), fd, UserData(.accept, slot: Int32(i), generation: 0).raw)
    }
    listenersArmed = true
  }

  func onAccept(_ c: Completion, listener: Int) {
    if c.result >= 0 {
      admit(fd: c.result)
    } else if c.result != -ECANCELED && stopPhase == 0 {
      stats.add(.acceptErrors)
      shared.log(.warning, "worker \(index): accept failed: \(errnoText(-c.result))")
    }
    if !c.hasMore && stopPhase == 0 {
      // The multishot accept ended (error such as EMFILE): re-arm on the next
      // tick rather than spin on a persistent error.
      let fd = shared.listeners[index][listener]
      if c.result >= 0 || c.result == -EINTR {
        hd_prep_multishot_accept(ring.sqe(), fd, UserData(.accept, slot: Int32(listener), generation: 0).raw)
      } else {
        acceptRetryTick = tick + 1
        listenersArmed = false
      }
    }
  }

  private func admit(fd: Int32) {
    stats.add(.accepts)
    guard shared.acceptLimiter.admit() else {
      stats.add(.acceptRateRejections)
      close(fd)
      return
    }
    Sockets.configureAccepted(fd, sockbufBytes: shared.config.sockbufBytes)
    guard let slot = openConnection(fd: fd) else {
      stats.add(.acceptErrors)
      close(fd)
      return
    }
    armRecv(slot)
  }

  /// A slot in the HTTP state for a connected socket, with a TLS session when
  /// the port speaks TLS; nil when no slot (or no TLS session) is to be had.
  /// Shared by accepts and ConnectionFeed, so both start from the same state.
  func openConnection(fd: Int32) -> Int32? {
    guard let slot = conns.allocate(fd: fd) else { return nil }
    let conn = conns[slot]
    conn.pointee.state = .http
    conn.pointee.transport = .plain
    conn.pointee.acceptTick = tick
    if let tls = shared.tls, !admitTLS(conn, tls) {
      conns.free(slot)
      return nil
    }
    stats.add(.currentConnections)
    stats.add(conn.pointee.transport == .plain ? .currentPlain : .currentUserspaceTLS)
    return slot
  }

  /// Graceful stop, first step: no new connections. The fds are closed by
  /// `Relay` after the workers are joined.
  func closeListeners() {
    guard listenersArmed || !shared.listeners.isEmpty else { return }
    for (i, fd) in shared.listeners[index].enumerated() {
      _ = shutdown(fd, Int32(SHUT_RDWR))
      if ring != nil {
        hd_prep_cancel(ring.sqe(), UserData(.accept, slot: Int32(i), generation: 0).raw,
                       UserData(.cancel, slot: 0, generation: 0).raw)
      }
    }
    listenersArmed = false
  }
}
