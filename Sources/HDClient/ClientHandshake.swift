// The client side of HTTP upgrade + DERP handshake as a state machine without
// I/O: the caller moves bytes, the machine decides. The blocking client and the
// io_uring load generator (hundreds of concurrent handshakes) share it.
import HDProtocol

public struct ClientHandshakeOptions: Sendable {
  /// `Host:` header value (Go sends host[:port]).
  public var hostHeader: String
  public var path: String
  /// `Upgrade:` header value; derper accepts `DERP` or `websocket`.
  public var upgradeHeader: String
  public var clientInfo: ClientInfo
  /// Fast start: send `Derp-Fast-Start: 1` and ClientInfo right behind the
  /// request, without waiting for the 101. Needs the server key up front (a
  /// real client learns it from the TLS meta-certificate).
  public var fastStartServerKey: DERPKey?
  /// Extra request headers, e.g. `Ideal-Node`.
  public var extraHeaders: [(String, String)]

  public init(hostHeader: String, path: String = "/derp", upgradeHeader: String = "DERP",
              clientInfo: ClientInfo = ClientInfo(), fastStartServerKey: DERPKey? = nil,
              extraHeaders: [(String, String)] = []) {
    self.hostHeader = hostHeader
    self.path = path
    self.upgradeHeader = upgradeHeader
    self.clientInfo = clientInfo
    self.fastStartServerKey = fastStartServerKey
    self.extraHeaders = extraHeaders
  }
}

public struct ClientHandshake: Sendable {
  public enum Step: Equatable, Sendable {
    /// Read more bytes and call `consume` again.
    case needMore
    /// Write these bytes, then read more and call `consume` again.
    case send([UInt8])
    /// ServerInfo arrived: the server has registered us. `leftover` holds any
    /// bytes that followed (already DERP frames).
    case registered(ServerInfo)
    case failed(DERPClientError)
  }

  enum State: Sendable { case idle, awaitingUpgrade, awaitingServerKey, awaitingServerInfo, done, failed }

  /// Largest HTTP response head accepted before the DERP stream.
  static let maxResponseHeadBytes = 8192

  public let keys: DERPKeyPair
  public let options: ClientHandshakeOptions
  public private(set) var serverKey: DERPKey?
  /// DERP bytes received after ServerInfo; hand them to the frame reader.
  public private(set) var leftover: [UInt8] = []
  var state = State.idle
  var buffer: [UInt8] = []

  public init(keys: DERPKeyPair, options: ClientHandshakeOptions) {
    self.keys = keys
    self.options = options
  }

  /// The first bytes to write: the upgrade request (+ ClientInfo in fast start).
  public mutating func start() -> [UInt8] {
    precondition(state == .idle, "start() called twice")
    var head = "GET \(options.path) HTTP/1.1\r\nHost: \(options.hostHeader)\r\nUser-Agent: hd-client\r\n"
      + "Connection: Upgrade\r\nUpgrade: \(options.upgradeHeader)\r\n"
    if options.fastStartServerKey != nil { head += "Derp-Fast-Start: 1\r\n" }
    for (name, value) in options.extraHeaders { head += "\(name): \(value)\r\n" }
    var out = Array((head + "\r\n").utf8)
    if let serverKey = options.fastStartServerKey {
      self.serverKey = serverKey
      out += Handshake.sealClientInfoFrame(options.clientInfo, client: keys, serverKey: serverKey)
      // The server still sends ServerKey first; it must match the key we sealed to.
      state = .awaitingServerKey
    } else {
      state = .awaitingUpgrade
    }
    return out
  }

  public mutating func consume(_ bytes: UnsafeRawBufferPointer) -> Step {
    buffer.append(contentsOf: bytes)
    return advance()
  }

  public mutating func consume(_ bytes: [UInt8]) -> Step {
    bytes.withUnsafeBytes { consume($0) }
  }

  mutating func fail(_ error: DERPClientError) -> Step {
    state = .failed
    return .failed(error)
  }

  mutating func advance() -> Step {
    switch state {
    case .idle: preconditionFailure("consume() before start()")
    case .done, .failed: return .needMore
    case .awaitingUpgrade: return readUpgradeResponse()
    case .awaitingServerKey: return readServerKey()
    case .awaitingServerInfo: return readServerInfo()
    }
  }

  mutating func readUpgradeResponse() -> Step {
    guard let end = Self.headEnd(buffer) else {
      if buffer.count > Self.maxResponseHeadBytes { return fail(.protocolViolation("HTTP response head too large")) }
      return .needMore
    }
    // Bytes, not Characters: "\r\n" is a single Character in Swift.
    let lineEnd = buffer.firstIndex(where: { $0 == 0x0d || $0 == 0x0a }) ?? end
    let statusLine = String(decoding: buffer[0..<lineEnd], as: UTF8.self)
    let parts = statusLine.split(separator: " ", maxSplits: 2)
    guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1] == "101" else {
      return fail(.upgradeRefused(statusLine: statusLine))
    }
    buffer.removeFirst(end)
    state = .awaitingServerKey
    return readServerKey()
  }

  /// Index after "\r\n\r\n" (or "\n\n"), or nil.
  static func headEnd(_ bytes: [UInt8]) -> Int? {
    var i = 0
    while i < bytes.count {
      if bytes[i] == 0x0a {
        if i + 1 < bytes.count, bytes[i + 1] == 0x0a { return i + 2 }
        if i + 2 < bytes.count, bytes[i + 1] == 0x0d, bytes[i + 2] == 0x0a { return i + 3 }
      }
      i += 1
    }
    return nil
  }

  /// Returns the next complete frame (header, payload range) from `buffer`, or
  /// nil if incomplete. Rejects frames above the client's 1 MiB limit.
  mutating func nextFrame() -> Result<(FrameHeader, Range<Int>)?, DERPClientError> {
    guard buffer.count >= DERPConstants.frameHeaderBytes else { return .success(nil) }
    let header = buffer.withUnsafeBytes { FrameHeader(decodingFrom: $0.baseAddress!) }
    let payloadBytes = Int(header.payloadBytes)
    guard payloadBytes <= DERPConstants.maxClientFrameBytes else {
      return .failure(.protocolViolation("frame of \(payloadBytes) bytes exceeds the client limit"))
    }
    let end = DERPConstants.frameHeaderBytes + payloadBytes
    guard buffer.count >= end else { return .success(nil) }
    return .success((header, DERPConstants.frameHeaderBytes..<end))
  }

  mutating func readServerKey() -> Step {
    let frame: (FrameHeader, Range<Int>)
    switch nextFrame() {
    case .failure(let e): return fail(e)
    case .success(nil): return .needMore
    case .success(let f?): frame = f
    }
    guard frame.0.type == .serverKey else {
      return fail(.handshake(.unexpectedFrame(type: frame.0.typeByte)))
    }
    let parsed: Result<DERPKey, HandshakeError> = buffer.withUnsafeBytes { raw in
      do throws(HandshakeError) {
        return .success(try Handshake.parseServerKey(payload: UnsafeRawBufferPointer(rebasing: raw[frame.1])))
      } catch { return .failure(error) }
    }
    buffer.removeFirst(frame.1.upperBound)
    switch parsed {
    case .failure(let e): return fail(.handshake(e))
    case .success(let key):
      if let expected = serverKey {
        // Fast start: we sealed ClientInfo to `expected`; a different key means
        // the server cannot open it.
        guard key == expected else { return fail(.protocolViolation("server key differs from the fast-start key")) }
        state = .awaitingServerInfo
        return readServerInfo()
      }
      serverKey = key
      state = .awaitingServerInfo
      return .send(Handshake.sealClientInfoFrame(options.clientInfo, client: keys, serverKey: key))
    }
  }

  mutating func readServerInfo() -> Step {
    var early: [UInt8] = []
    while true {
      let frame: (FrameHeader, Range<Int>)
      switch nextFrame() {
      case .failure(let e): return fail(e)
      case .success(nil):
        buffer = early + buffer
        return .needMore
      case .success(let f?): frame = f
      }
      guard frame.0.type == .serverInfo else {
        // Anything before ServerInfo (a KeepAlive, a packet the relay queued
        // early) is kept for the reader, in order.
        early += buffer[0..<frame.1.upperBound]
        buffer.removeFirst(frame.1.upperBound)
        continue
      }
      let opened: Result<ServerInfo, HandshakeError> = buffer.withUnsafeBytes { raw in
        do throws(HandshakeError) {
          return .success(try Handshake.openServerInfo(payload: UnsafeRawBufferPointer(rebasing: raw[frame.1]),
                                                       clientPrivateKey: keys.privateKey, serverKey: serverKey!))
        } catch { return .failure(error) }
      }
      buffer.removeFirst(frame.1.upperBound)
      switch opened {
      case .failure(let e): return fail(.handshake(e))
      case .success(let info):
        leftover = early + buffer
        buffer = []
        state = .done
        return .registered(info)
      }
    }
  }
}
