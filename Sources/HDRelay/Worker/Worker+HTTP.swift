// The HTTP request before the DERP upgrade, inside the worker loop: the head
// is gathered in the connection's assembly block, parsed and routed by
// HDProtocol; probes and errors are answered and the connection closed; an
// upgrade writes the 101 (unless fast start) and the ServerKey frame, and any
// bytes behind the head (a fast-start ClientInfo) go to the DERP reader.
import HDProtocol

extension Worker {
  func receiveHTTP(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ bytes: UnsafeMutableRawPointer, _ count: Int) {
    let have = Int(conn.pointee.assemblyBytes)
    let total = have + count
    guard total <= Tuning.httpHeadBytesMax + 65_536 else {
      return failHandshake(slot, .badHTTP)
    }
    guard ensureAssemblyCapacity(slot, conn, total) else { return }
    let head = conn.pointee.assembly!
    (head + have).copyMemory(from: bytes, byteCount: count)
    conn.pointee.assemblyBytes = Int32(total)
    var parser = HTTPRequestParser(maxHeadBytes: Tuning.httpHeadBytesMax)
    switch parser.parse(UnsafeRawBufferPointer(start: head, count: total)) {
    case .needMore:
      return
    case .failed(let error):
      stats.handshakeFailed(.badHTTP)
      answerAndClose(slot, conn, HTTPRouter.rejection(error))
    case .request(let request):
      let route = HTTPRouter.route(request, serverKey: shared.keyPair.publicKey)
      guard route.upgrade else {
        stats.handshakeFailed(.nonDERPRequest)
        answerAndClose(slot, conn, route.response)
        return
      }
      if !route.response.isEmpty { enqueueControl(slot, conn, copying: route.response) }
      if route.fastStart { conn.pointee.flags.insert(.fastStart) }
      enqueueControl(slot, conn, copying: shared.serverKeyFrame)
      conn.pointee.state = .awaitingClientInfo
      // Hand what follows the head to the frame reader; the assembly block is
      // released first because the reader manages it from now on.
      let leftover = total - request.headBytes
      conn.pointee.assemblyBytes = 0
      if leftover > 0 {
        // Copy out: the reader may reuse the same assembly block.
        withUnsafeTemporaryAllocation(byteCount: leftover, alignment: 8) { tmp in
          tmp.baseAddress!.copyMemory(from: head + request.headBytes, byteCount: leftover)
          releaseAssembly(conn)
          receiveFrames(slot, conn, tmp.baseAddress!, leftover)
        }
      } else {
        releaseAssembly(conn)
      }
    }
  }

  private func answerAndClose(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ response: [UInt8]) {
    releaseAssembly(conn)
    enqueueControl(slot, conn, copying: response)
    conn.pointee.flags.insert(.closeAfterFlush)
    // Stop reading: whatever else the client sends is ignored.
    if conn.pointee.flags.contains(.recvArmed) { cancelRecv(slot, conn) }
  }
}
