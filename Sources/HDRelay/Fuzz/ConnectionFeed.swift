// A worker driven by hand, so fuzzers and replay tests reach the server side
// of a connection without sockets in between: each received chunk goes to
// `receiveHolding`, the very function a receive completion calls (HTTP head →
// upgrade → ClientInfo box and JSON → frames, partial frames kept across
// receives), with the real ring, packet memory and send path behind it. A
// socketpair stands in for the accepted socket; what the relay writes back is
// read off its other end. After the last chunk the connection is closed and
// the worker must be back where it started: that is the "a rejected input
// leaves no state behind" invariant, checked here because it needs the
// worker's internals.
@preconcurrency import Glibc
import HDConfig
import HDProtocol
import HDTLS

package final class ConnectionFeed {
  /// An invariant the relay broke; `description` says which and how.
  package struct Violation: Error, CustomStringConvertible {
    package let description: String
  }

  /// What one fed connection did.
  package struct Outcome {
    /// Reached ServerKey/awaiting ClientInfo (the HTTP upgrade was accepted).
    package var upgraded = false
    /// Registered as a peer (a valid ClientInfo box).
    package var registered = false
    /// Registered as a mesh peer (ClientInfo carried the mesh key).
    package var meshPeer = false
    /// Bytes handed to the relay (chunks after it stopped reading are not).
    package var bytesFed = 0
    /// Everything the relay wrote back, in order (capped at `outputBytesMax`).
    package var output: [UInt8] = []
  }

  /// Output kept per connection; more is read and dropped.
  package static let outputBytesMax = 1 << 20
  /// A receive never delivers more than one provided buffer.
  package static let chunkBytesMax = Tuning.recvBufferBytes

  /// The relay's key pair (fixed: inputs that seal a ClientInfo stay valid across runs).
  package let serverKeys: DERPKeyPair
  /// The mesh secret this relay accepts in ClientInfo.
  package let meshKey: DERPKey
  private let shared: RelayShared
  private let worker: Worker
  private let scratch = UnsafeMutableRawPointer.allocate(byteCount: Tuning.recvBufferBytes, alignment: 16)
  private let readBuffer = UnsafeMutableRawPointer.allocate(byteCount: 64 * 1024, alignment: 16)

  /// The DERP port speaks userspace TLS (every byte fed is ciphertext).
  package let tls: Bool

  /// Sets up one worker's ring and memory on the calling thread, which must
  /// be the thread that calls `feed` (the ring is single-issuer). With `tls`
  /// the worker serves userspace TLS (ktls off) with a self-signed
  /// certificate made here, as a relay with `tls_cert`/`tls_key` does.
  package init(tls: Bool = false) throws {
    serverKeys = DERPKeyPair(privateKey: DERPPrivateKey(raw: DERPKey(w0: 0x0102_0304_0506_0708, w1: 1, w2: 2, w3: 3)))
    meshKey = DERPKey(w0: 0x6d65_7368_6d65_7368, w1: 4, w2: 5, w3: 6)
    self.tls = tls
    var options = RelayOptions(config: Config(port: 0, bind: ["127.0.0.1"]), serverKeyPair: serverKeys, workerCount: 1)
    options.meshKey = meshKey
    if tls { options.tls = try Self.selfSignedTLS(serverKey: serverKeys.publicKey) }
    shared = try RelayShared(options: options)
    worker = try Worker(index: 0, shared: shared, pinCore: nil, connectionCapacity: 16,
                    keepAliveSeconds: RelayDefaults.keepAliveSeconds,
                    keepAliveJitterSeconds: RelayDefaults.keepAliveJitterSecondsMax)
    try worker.setUpIO()
  }

  deinit {
    // The worker's ring, its registered receive buffers (16 MiB mapped) and
    // their hold counts: LeakSanitizer reported the counts once per feed
    // made in the replay tests.
    worker.tearDown()
    scratch.deallocate()
    readBuffer.deallocate()
  }

  /// Feeds `chunks` to a new connection as successive receives (each at most
  /// `chunkBytesMax`), stopping where the relay would stop reading; then the
  /// client goes away and the worker must release everything it held.
  package func feed(_ chunks: [ArraySlice<UInt8>]) throws(Violation) -> Outcome {
    var pair: [Int32] = [-1, -1]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
                     0, &pair) == 0
    else { throw Violation(description: "socketpair failed: errno \(errno)") }
    defer { close(pair[1]) }
    guard let slot = worker.openConnection(fd: pair[0]) else {
      close(pair[0])
      throw Violation(description: "no connection slot for a fresh worker")
    }
    let conn = worker.conns[slot]
    let generation = conn.pointee.generation
    var outcome = Outcome()
    for chunk in chunks where !chunk.isEmpty {
      guard worker.conns.resolve(slot: slot, generation: generation) != nil, readsOn(conn) else { break }
      let n = min(chunk.count, Self.chunkBytesMax)
      chunk.withUnsafeBytes { scratch.copyMemory(from: $0.baseAddress!, byteCount: n) }
      worker.receiveHolding(slot, conn, scratch, n)
      outcome.bytesFed += n
      if conn.pointee.state == .closing { worker.finishCloseIfIdle(slot) }
      if worker.conns.resolve(slot: slot, generation: generation) != nil {
        try checkReceiveState(conn)
        try checkTLSState(conn, fedBytes: outcome.bytesFed)
        if conn.pointee.state == .awaitingClientInfo || conn.pointee.state == .registered { outcome.upgraded = true }
        if conn.pointee.state == .registered { outcome.registered = true }
        if conn.pointee.flags.contains(.meshPeer) { outcome.meshPeer = true }
      }
      pump(peer: pair[1], into: &outcome.output)
    }
    // The client hangs up (recv 0), as the receive path would see it.
    if worker.conns.resolve(slot: slot, generation: generation) != nil {
      conn.pointee.flags.insert(.peerEOF)
      worker.beginClose(slot, reason: .peerClosed)
    }
    var rounds = 0
    while worker.conns.live > 0 {
      rounds += 1
      guard rounds <= 2000 else { throw Violation(description: "connection slot still held after close") }
      worker.ring.submitAndWait(timeoutNanoseconds: 1_000_000)
      pump(peer: pair[1], into: &outcome.output)
    }
    pump(peer: pair[1], into: &outcome.output)
    guard conn.pointee.tls == nil else { throw Violation(description: "closed connection kept its TLS session") }
    guard Int(worker.stats.slots[Counter.bytesReceived.rawValue]) <= outcome.bytesFed + totalFedBefore else {
      throw Violation(description: "relay counted more bytes received than were fed")
    }
    totalFedBefore += outcome.bytesFed
    try checkNothingLeft()
    return outcome
  }

  /// Bytes fed to earlier connections (bytes_received is cumulative).
  private var totalFedBefore = 0

  /// The relay reads on unless it closed, answered (HTTP), waits for the
  /// admission controller, or paused the connection (rate limit, backpressure).
  private func readsOn(_ conn: UnsafeMutablePointer<Connection>) -> Bool {
    let state = conn.pointee.state
    return state != .closing && state != .free && state != .verifying && conn.pointee.flags.isDisjoint(with: .noRearm)
  }

  /// Between receives: the partial frame (or head) kept fits its block and
  /// its limit, and a kept frame header never announces more than the limit.
  private func checkReceiveState(_ conn: UnsafeMutablePointer<Connection>) throws(Violation) {
    let kept = Int(conn.pointee.assemblyBytes)
    guard kept >= 0 else { throw Violation(description: "negative assembly byte count \(kept)") }
    guard let block = conn.pointee.assembly else {
      guard kept == 0 else { throw Violation(description: "\(kept) assembly bytes without a block") }
      return
    }
    guard kept <= Int(conn.pointee.assemblyCapacity) else {
      throw Violation(description: "assembly holds \(kept) bytes in a block of \(conn.pointee.assemblyCapacity)")
    }
    switch conn.pointee.state {
    case .http:
      guard kept <= Tuning.httpHeadBytesMax + 65_536 else { throw Violation(description: "HTTP head of \(kept) bytes kept") }
    case .awaitingClientInfo, .registered:
      guard kept >= DERPConstants.frameHeaderBytes else { return }
      let length = Int(UInt32(bigEndian: block.loadUnaligned(fromByteOffset: 1, as: UInt32.self)))
      let limit = conn.pointee.state == .registered ? DERPLimits.frameBytesMax : DERPLimits.clientInfoBytesMax
      guard length <= limit else {
        throw Violation(description: "kept a partial frame announcing \(length) bytes (limit \(limit))")
      }
      guard kept < DERPConstants.frameHeaderBytes + length else {
        throw Violation(description: "a whole frame of \(length) bytes left unhandled in the assembly block")
      }
    default:
      break
    }
  }

  /// A TLS connection hands nothing to the HTTP/DERP parsers before its
  /// handshake is done, and OpenSSL never holds more ciphertext than was fed.
  private func checkTLSState(_ conn: UnsafeMutablePointer<Connection>, fedBytes: Int) throws(Violation) {
    guard tls else { return }
    guard let session = conn.pointee.tls else {
      guard conn.pointee.state == .closing else { throw Violation(description: "TLS connection without a session") }
      return
    }
    let buffered = session.pointee.session.bufferedInputBytes
    guard buffered <= fedBytes else {
      throw Violation(description: "TLS session holds \(buffered) bytes of \(fedBytes) fed")
    }
    guard session.pointee.phase == .handshaking else { return }
    guard conn.pointee.state == .http || conn.pointee.state == .closing, conn.pointee.assemblyBytes == 0 else {
      throw Violation(description: "plaintext reached the parsers before the TLS handshake finished "
        + "(state \(conn.pointee.state), \(conn.pointee.assemblyBytes) bytes kept)")
    }
  }

  /// A TLS context for a fresh self-signed certificate (written to a private
  /// temporary directory for OpenSSL to load, removed right after).
  private static func selfSignedTLS(serverKey: DERPKey) throws -> RelayTLS {
    let certificate = try SelfSignedCertificate.make(ipAddresses: ["127.0.0.1"], notAfterOffsetSeconds: 86_400)
    var template = Array("/tmp/hd-fuzz-tls-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { throw RelayError.system("mkdtemp", errno: errno) }
    let directory = String(cString: made)
    let certPath = directory + "/cert.pem"
    let keyPath = directory + "/key.pem"
    defer {
      unlink(certPath)
      unlink(keyPath)
      rmdir(directory)
    }
    for (path, bytes) in [(certPath, certificate.certificatePEM), (keyPath, certificate.privateKeyPEM)] {
      let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
      guard fd >= 0 else { throw RelayError.system("open \(path)", errno: errno) }
      let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
      close(fd)
      guard written == bytes.count else { throw RelayError.system("write \(path)", errno: errno) }
    }
    return try RelayTLS(certificatePath: certPath, keyPath: keyPath, ktls: .off, serverKey: serverKey)
  }

  /// Sends what the worker queued, handles completions, and reads the peer end.
  private func pump(peer: Int32, into output: inout [UInt8]) {
    for _ in 0..<64 {
      if worker.meshWatch.pending { worker.flushWatchers() }
      worker.flushDirty()
      worker.ring.submitAndWait(timeoutNanoseconds: 0)
      let n = worker.ring.reap(into: worker.completions, max: Tuning.cqeBatchMax)
      for i in 0..<n { worker.dispatch(worker.completions[i]) }
      var read = 0
      while true {
        let got = Glibc.read(peer, readBuffer, 64 * 1024)
        guard got > 0 else { break }
        read += got
        let keep = min(got, Self.outputBytesMax - output.count)
        if keep > 0 { output += UnsafeRawBufferPointer(start: readBuffer, count: keep) }
      }
      if n == 0 && read == 0 && worker.dirtyHead < 0 { return }
    }
  }

  /// After the close: no slot, peer, queued frame, pool block or gauge left.
  private func checkNothingLeft() throws(Violation) {
    func gauge(_ c: Counter) -> Int64 { Int64(bitPattern: worker.stats.slots[c.rawValue]) }
    var left: [String] = []
    if worker.conns.live != 0 { left.append("\(worker.conns.live) connection slots") }
    if worker.peers.count != 0 { left.append("\(worker.peers.count) peer table entries") }
    for c: Counter in [.currentConnections, .currentPlain, .currentUserspaceTLS, .currentPeers,
                                   .currentHomeConnections, .watchers]
    where gauge(c) != 0 {
      left.append("gauge \(c) = \(gauge(c))")
    }
    let memory = worker.memory
    if memory.small.inUse != 0 { left.append("\(memory.small.inUse) small blocks") }
    if memory.large.inUse != 0 { left.append("\(memory.large.inUse) large blocks") }
    if memory.queues.inUse != 0 { left.append("\(memory.queues.inUse) send-queue blocks") }
    if memory.fallbackBudget != Tuning.fallbackBytesMax { left.append("heap fallback bytes") }
    if worker.dirtyHead >= 0 { left.append("a dirty-list entry") }
    if !worker.meshWatch.watchers.isEmpty { left.append("mesh watch items") }
    guard left.isEmpty else { throw Violation(description: "closed connection left behind: " + left.joined(separator: ", ")) }
  }
}
