// Blocking DERP client: connect, upgrade, handshake (registered = ServerInfo
// received), then send and receive frames. Used by relay tests, hdctl and the
// load generator's control connections. One thread per client at a time.
import HDProtocol
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

public struct DERPClientOptions: Sendable {
  public var clientInfo = ClientInfo()
  /// Fast start with a known server key (see `ClientHandshakeOptions`).
  public var fastStartServerKey: DERPKey?
  public var upgradeHeader = "DERP"
  public var path = "/derp"
  public var extraHeaders: [(String, String)] = []
  public var connectTimeoutSeconds = 10.0
  /// Bound on upgrade + handshake (the server's own deadline is 10 s).
  public var handshakeTimeoutSeconds = 10.0
  /// Default read timeout for `receive()`; nil = block forever.
  public var readTimeoutSeconds: Double? = 10.0
  /// Wait for ServerInfo before `connect` returns. Off only for tests that
  /// probe the server's handshake handling.
  public var waitForServerInfo = true

  public init() {}
}

public final class DERPClient {
  public let keys: DERPKeyPair
  public let transport: ClientTransport
  public private(set) var serverKey: DERPKey
  public private(set) var serverInfo: ServerInfo?
  var reader = FrameReader()
  var sendBuffer: UnsafeMutableRawPointer
  let sendBufferBytes = FrameWriter.forwardPacketHeaderBytes + DERPConstants.maxPacketBytes
  var readTimeoutSeconds: Double?
  /// Timeout currently set on the transport (avoid a setsockopt per receive).
  var appliedReadTimeout: Double?? = .none
  /// Frames read while waiting for something else (e.g. a pong).
  var pending: [ReceivedFrame] = []

  /// Connects over plain TCP and completes the handshake.
  public static func connect(host: String, port: UInt16, keys: DERPKeyPair = .generate(),
                             options: DERPClientOptions = DERPClientOptions()) throws(DERPClientError) -> DERPClient {
    let fd = try TCPConnector.connect(host: host, port: port, timeoutSeconds: options.connectTimeoutSeconds)
    return try handshake(over: PlainTransport(fileDescriptor: fd), hostHeader: hostHeader(host: host, port: port),
                         keys: keys, options: options)
  }

  /// Runs upgrade + handshake over an already connected transport (plain or TLS).
  public static func handshake(over transport: ClientTransport, hostHeader: String, keys: DERPKeyPair,
                               options: DERPClientOptions) throws(DERPClientError) -> DERPClient {
    var machine = ClientHandshake(keys: keys, options: ClientHandshakeOptions(
      hostHeader: hostHeader, path: options.path, upgradeHeader: options.upgradeHeader, clientInfo: options.clientInfo,
      fastStartServerKey: options.fastStartServerKey, extraHeaders: options.extraHeaders))
    do throws(DERPClientError) {
      try transport.setReadTimeout(seconds: options.handshakeTimeoutSeconds)
      try write(machine.start(), to: transport)
      var chunk = [UInt8](repeating: 0, count: 16 * 1024)
      var step = ClientHandshake.Step.needMore
      var serverInfo: ServerInfo?
      loop: while true {
        switch step {
        case .registered(let info):
          serverInfo = info
          break loop
        case .failed(let e): throw e
        case .send(let bytes):
          try write(bytes, to: transport)
          if !options.waitForServerInfo { break loop }
          step = machine.consume([])
        case .needMore:
          let n = try withMutableBytes(&chunk) { (b) throws(DERPClientError) -> Int in try transport.read(into: b) }
          if n == 0 { throw DERPClientError.closed }
          step = chunk.withUnsafeBytes { machine.consume(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
      }
      let client = DERPClient(keys: keys, transport: transport, serverKey: machine.serverKey!, options: options)
      client.serverInfo = serverInfo
      machine.leftover.withUnsafeBytes { client.reader.append($0) }
      return client
    } catch {
      transport.close()
      throw error
    }
  }

  /// `host:port` with IPv6 literals bracketed, as Go writes the Host header.
  public static func hostHeader(host: String, port: UInt16) -> String {
    let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
    return bare.contains(":") ? "[\(bare)]:\(port)" : "\(bare):\(port)"
  }

  static func write(_ bytes: [UInt8], to transport: ClientTransport) throws(DERPClientError) {
    try withBytes(bytes) { (b) throws(DERPClientError) in try transport.write(b) }
  }

  init(keys: DERPKeyPair, transport: ClientTransport, serverKey: DERPKey, options: DERPClientOptions) {
    self.keys = keys
    self.transport = transport
    self.serverKey = serverKey
    self.readTimeoutSeconds = options.readTimeoutSeconds
    sendBuffer = UnsafeMutableRawPointer.allocate(byteCount: sendBufferBytes, alignment: 16)
  }

  deinit {
    sendBuffer.deallocate()
    transport.close()
  }

  public var publicKey: DERPKey { keys.publicKey }

  public func close() { transport.close() }

  // MARK: Sending

  /// SendPacket to `destination`. Packets above 64 KiB are sent anyway (tests
  /// of the server's limit use that); the server closes the connection.
  public func send(to destination: DERPKey, packet: UnsafeRawBufferPointer) throws(DERPClientError) {
    if packet.count > DERPConstants.maxPacketBytes {
      var frame = [UInt8](repeating: 0, count: FrameWriter.sendPacketHeaderBytes)
      frame.withUnsafeMutableBytes { _ = FrameWriter.sendPacketHeader(destination: destination, packetBytes: packet.count, to: $0.baseAddress!) }
      frame += packet
      return try sendRaw(frame)
    }
    let h = FrameWriter.sendPacketHeader(destination: destination, packetBytes: packet.count, to: sendBuffer)
    if packet.count > 0 { (sendBuffer + h).copyMemory(from: packet.baseAddress!, byteCount: packet.count) }
    try transport.write(UnsafeRawBufferPointer(start: sendBuffer, count: h + packet.count))
  }

  public func send(to destination: DERPKey, packet: [UInt8]) throws(DERPClientError) {
    try withBytes(packet) { (p) throws(DERPClientError) in try send(to: destination, packet: p) }
  }

  /// ForwardPacket (mesh peers only).
  public func forwardPacket(source: DERPKey, destination: DERPKey, packet: [UInt8]) throws(DERPClientError) {
    var frame = [UInt8](repeating: 0, count: FrameWriter.forwardPacketHeaderBytes)
    frame.withUnsafeMutableBytes {
      _ = FrameWriter.forwardPacketHeader(source: source, destination: destination, packetBytes: packet.count, to: $0.baseAddress!)
    }
    try sendRaw(frame + packet)
  }

  public func sendPing(payload: UInt64) throws(DERPClientError) {
    let n = FrameWriter.ping(payload: payload, to: sendBuffer)
    try transport.write(UnsafeRawBufferPointer(start: sendBuffer, count: n))
  }

  /// Pong echoing a received ping's first 8 bytes.
  public func sendPong(echoing ping: [UInt8]) throws(DERPClientError) {
    var payload = [UInt8](repeating: 0, count: DERPConstants.pingPayloadBytes)
    for i in 0..<min(ping.count, payload.count) { payload[i] = ping[i] }
    try sendRawFrame(type: FrameType.pong.rawValue, payload: payload)
  }

  public func notePreferred(_ preferred: Bool) throws(DERPClientError) {
    let n = FrameWriter.notePreferred(preferred, to: sendBuffer)
    try transport.write(UnsafeRawBufferPointer(start: sendBuffer, count: n))
  }

  public func watchConns() throws(DERPClientError) {
    let n = FrameWriter.watchConns(to: sendBuffer)
    try transport.write(UnsafeRawBufferPointer(start: sendBuffer, count: n))
  }

  public func closePeer(_ key: DERPKey) throws(DERPClientError) {
    let n = FrameWriter.closePeer(key, to: sendBuffer)
    try transport.write(UnsafeRawBufferPointer(start: sendBuffer, count: n))
  }

  /// Any frame, valid or not (bad-input tests): header with the real payload length.
  public func sendRawFrame(type: UInt8, payload: [UInt8]) throws(DERPClientError) {
    var frame = [UInt8](repeating: 0, count: DERPConstants.frameHeaderBytes)
    frame.withUnsafeMutableBytes { FrameHeader(typeByte: type, payloadBytes: UInt32(payload.count)).encode(to: $0.baseAddress!) }
    try sendRaw(frame + payload)
  }

  /// Raw bytes on the wire (e.g. a header claiming a length that never comes).
  public func sendRaw(_ bytes: [UInt8]) throws(DERPClientError) {
    try Self.write(bytes, to: transport)
  }

  // MARK: Receiving

  /// Changes the default read timeout for `receive()`.
  public func setReadTimeout(seconds: Double?) { readTimeoutSeconds = seconds }

  /// The next frame from the server. Throws `.timedOut` after the read timeout
  /// (`timeoutSeconds` overrides the default for this call), `.closed` at EOF.
  public func receive(timeoutSeconds: Double?? = .none) throws(DERPClientError) -> ReceivedFrame {
    if !pending.isEmpty { return pending.removeFirst() }
    let (header, payload) = try receiveRaw(timeoutSeconds: timeoutSeconds)
    return try ReceivedFrame.decode(header: header, payload: payload, keys: keys, serverKey: serverKey)
  }

  /// The next frame without decoding; the payload is valid until the next
  /// receive call. Skips nothing and copies nothing.
  public func receiveRaw(timeoutSeconds: Double?? = .none) throws(DERPClientError) -> (FrameHeader, UnsafeRawBufferPointer) {
    if let frame = try reader.nextBufferedFrame() { return frame }
    let timeout: Double? = timeoutSeconds ?? readTimeoutSeconds
    if appliedReadTimeout != .some(timeout) {
      try transport.setReadTimeout(seconds: timeout)
      appliedReadTimeout = .some(timeout)
    }
    return try reader.nextFrame(from: transport)
  }

  /// Receives until a frame satisfies `match`; other frames are kept for later
  /// `receive()` calls. Throws `.timedOut` if none arrives in `timeoutSeconds`.
  public func receive(until match: (ReceivedFrame) -> Bool, timeoutSeconds: Double) throws(DERPClientError) -> ReceivedFrame {
    if let i = pending.firstIndex(where: match) { return pending.remove(at: i) }
    let deadline = Clock.nowSeconds() + timeoutSeconds
    var skipped: [ReceivedFrame] = []
    defer { pending += skipped }
    while true {
      let remaining = deadline - Clock.nowSeconds()
      guard remaining > 0 else { throw .timedOut }
      let (header, payload) = try receiveRaw(timeoutSeconds: .some(remaining))
      let frame = try ReceivedFrame.decode(header: header, payload: payload, keys: keys, serverKey: serverKey)
      if match(frame) { return frame }
      skipped.append(frame)
    }
  }

  /// Ping round trip: sends a ping and waits for the matching pong.
  /// Returns the round-trip time in seconds.
  @discardableResult
  public func ping(timeoutSeconds: Double = 5) throws(DERPClientError) -> Double {
    let payload = UInt64.random(in: 1...UInt64.max)
    let expected = withUnsafeBytes(of: payload) { Array($0) }
    let started = Clock.nowSeconds()
    try sendPing(payload: payload)
    _ = try receive(until: { $0 == .pong(expected) }, timeoutSeconds: timeoutSeconds)
    return Clock.nowSeconds() - started
  }

  /// Hands the connection over to another I/O engine (the io_uring load
  /// generator): returns the socket and any DERP bytes already read but not
  /// yet returned as frames. The client must not be used afterwards; the
  /// caller owns and closes the socket. Plain transports only: TLS state
  /// cannot move to another engine.
  public func detach() throws(DERPClientError) -> (fileDescriptor: Int32, buffered: [UInt8]) {
    guard let plain = transport as? PlainTransport else {
      throw .protocolViolation("only plain TCP connections can be detached")
    }
    guard pending.isEmpty else { throw .protocolViolation("decoded frames are pending; receive them first") }
    var bytes: [UInt8] = []
    while let (header, payload) = try reader.nextBufferedFrame() {
      var h = [UInt8](repeating: 0, count: DERPConstants.frameHeaderBytes)
      h.withUnsafeMutableBytes { header.encode(to: $0.baseAddress!) }
      bytes += h
      bytes += payload
    }
    bytes += reader.unconsumedBytes()
    let fd = plain.fileDescriptor
    plain.release()
    return (fd, bytes)
  }

  /// Frames already read from the socket but not yet returned.
  public var hasBufferedFrames: Bool { !pending.isEmpty || reader.bufferedBytes > 0 }
}

enum Clock {
  static func nowSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
  }
}
