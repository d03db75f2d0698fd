// The DERP handshake (spec §3): ServerKey → ClientInfo (sealed client→server)
// → ServerInfo (sealed server→client). Control plane only: allocating is fine.

public enum HandshakeError: Error, Equatable, CustomStringConvertible {
  /// The first client frame was not ClientInfo (or the server's not ServerKey/ServerInfo).
  case unexpectedFrame(type: UInt8)
  case payloadTooShort(bytes: Int, minimum: Int)
  case payloadTooLarge(bytes: Int, maximum: Int)
  /// ServerKey payload does not start with "DERP🔑".
  case badMagic
  /// The box did not authenticate with the claimed key.
  case boxOpenFailed
  case badJSON(String)

  public var description: String {
    switch self {
    case .unexpectedFrame(let t): return "unexpected frame type 0x\(String(t, radix: 16)) during handshake"
    case .payloadTooShort(let n, let min): return "handshake frame too short: \(n) bytes, need at least \(min)"
    case .payloadTooLarge(let n, let max): return "handshake frame too large: \(n) bytes, limit \(max)"
    case .badMagic: return "ServerKey frame lacks the DERP magic"
    case .boxOpenFailed: return "handshake box failed to open (wrong key or corrupted)"
    case .badJSON(let why): return "handshake JSON: \(why)"
    }
  }
}

public enum Handshake {
  // MARK: Server side

  /// The ServerKey frame (45 bytes) the server sends first.
  public static func serverKeyFrame(serverKey: DERPKey) -> [UInt8] {
    [UInt8](unsafeUninitializedCapacity: FrameWriter.serverKeyFrameBytes) { out, count in
      count = FrameWriter.serverKey(serverKey, to: out.baseAddress!)
    }
  }

  /// Opens a ClientInfo frame payload (client key ‖ nonce ‖ box) with the
  /// server's private key. Checks derper's bounds: 56 bytes … 256 KiB.
  public static func openClientInfo(payload: UnsafeRawBufferPointer, serverPrivateKey: DERPPrivateKey)
    throws(HandshakeError) -> (clientKey: DERPKey, info: ClientInfo)
  {
    guard payload.count >= DERPConstants.minClientInfoBytes else {
      throw .payloadTooShort(bytes: payload.count, minimum: DERPConstants.minClientInfoBytes)
    }
    guard payload.count <= DERPConstants.maxClientInfoBytes else {
      throw .payloadTooLarge(bytes: payload.count, maximum: DERPConstants.maxClientInfoBytes)
    }
    let clientKey = DERPKey(bytes: payload.baseAddress!)
    let sealed = UnsafeRawBufferPointer(rebasing: payload[DERPConstants.keyBytes...])
    guard let json = NaClBox.open(sealed, from: clientKey, to: serverPrivateKey) else { throw .boxOpenFailed }
    do {
      return (clientKey, try ClientInfo(json: json))
    } catch {
      throw .badJSON(error.reason)
    }
  }

  /// Convenience over `openClientInfo(payload:…)` for an array payload.
  public static func openClientInfo(payload: [UInt8], serverPrivateKey: DERPPrivateKey)
    throws(HandshakeError) -> (clientKey: DERPKey, info: ClientInfo)
  {
    let result: Result<(clientKey: DERPKey, info: ClientInfo), HandshakeError> = payload.withUnsafeBytes { raw in
      do throws(HandshakeError) { return .success(try openClientInfo(payload: raw, serverPrivateKey: serverPrivateKey)) } catch {
        return .failure(error)
      }
    }
    return try result.get()
  }

  /// The whole ServerInfo frame (header + nonce + box) sealed to `clientKey`.
  public static func sealServerInfoFrame(_ info: ServerInfo, serverPrivateKey: DERPPrivateKey, clientKey: DERPKey) -> [UInt8] {
    frame(type: .serverInfo, prefix: nil, sealed: NaClBox.seal(info.jsonBytes(), to: clientKey, from: serverPrivateKey))
  }

  // MARK: Client side

  /// Reads the server key from a ServerKey payload (magic + key, extra bytes allowed).
  public static func parseServerKey(payload: UnsafeRawBufferPointer) throws(HandshakeError) -> DERPKey {
    guard payload.count >= DERPConstants.serverKeyPayloadBytes else {
      throw .payloadTooShort(bytes: payload.count, minimum: DERPConstants.serverKeyPayloadBytes)
    }
    let m = DERPConstants.magic
    let expected: [UInt8] = [m.0, m.1, m.2, m.3, m.4, m.5, m.6, m.7]
    guard payload.prefix(DERPConstants.magicBytes).elementsEqual(expected) else { throw .badMagic }
    return DERPKey(bytes: payload.baseAddress! + DERPConstants.magicBytes)
  }

  /// The whole ClientInfo frame: header + client key + nonce + box(JSON).
  public static func sealClientInfoFrame(_ info: ClientInfo, client: DERPKeyPair, serverKey: DERPKey) -> [UInt8] {
    frame(type: .clientInfo, prefix: client.publicKey,
          sealed: NaClBox.seal(info.jsonBytes(), to: serverKey, from: client.privateKey))
  }

  /// Opens a ServerInfo frame payload (nonce ‖ box) sealed by the server to us.
  public static func openServerInfo(payload: UnsafeRawBufferPointer, clientPrivateKey: DERPPrivateKey, serverKey: DERPKey)
    throws(HandshakeError) -> ServerInfo
  {
    guard payload.count >= NaClBox.overheadBytes else {
      throw .payloadTooShort(bytes: payload.count, minimum: NaClBox.overheadBytes)
    }
    guard payload.count <= DERPConstants.maxClientInfoBytes else {
      throw .payloadTooLarge(bytes: payload.count, maximum: DERPConstants.maxClientInfoBytes)
    }
    guard let json = NaClBox.open(payload, from: serverKey, to: clientPrivateKey) else { throw .boxOpenFailed }
    do {
      return try ServerInfo(json: json)
    } catch {
      throw .badJSON(error.reason)
    }
  }

  static func frame(type: FrameType, prefix key: DERPKey?, sealed: [UInt8]) -> [UInt8] {
    let keyBytes = key == nil ? 0 : DERPConstants.keyBytes
    let payloadBytes = keyBytes + sealed.count
    var out = [UInt8](repeating: 0, count: DERPConstants.frameHeaderBytes + payloadBytes)
    out.withUnsafeMutableBytes { p in
      FrameHeader.encode(type: type, payloadBytes: payloadBytes, to: p.baseAddress!)
      key?.store(to: p.baseAddress! + DERPConstants.frameHeaderBytes)
      sealed.withUnsafeBytes { s in
        (p.baseAddress! + DERPConstants.frameHeaderBytes + keyBytes).copyMemory(from: s.baseAddress!, byteCount: s.count)
      }
    }
    return out
  }
}
