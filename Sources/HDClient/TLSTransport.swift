// TLS under a DERP client: HDTLS's blocking client stream behind the
// ClientTransport seam, plus `DERPClient.connectTLS`, which uses derper's
// meta certificate for fast start when the server offers one (spec §1.1).
import HDProtocol
import HDTLS
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

public final class TLSTransport: ClientTransport {
  public let stream: TLSClientStream

  public init(stream: TLSClientStream) { self.stream = stream }

  public var fileDescriptor: Int32 { stream.fileDescriptor }
  public var bufferedReadBytes: Int { stream.bufferedReadBytes }

  public func read(into buffer: UnsafeMutableRawBufferPointer) throws(DERPClientError) -> Int {
    do { return try stream.read(into: buffer) } catch { throw Self.map(error) }
  }

  public func write(_ bytes: UnsafeRawBufferPointer) throws(DERPClientError) {
    do { try stream.write(bytes) } catch { throw Self.map(error) }
  }

  public func setReadTimeout(seconds: Double?) throws(DERPClientError) {
    // OpenSSL reads the socket itself, so the socket's timeout applies.
    try SocketOptions.setReceiveTimeout(stream.fileDescriptor, seconds: seconds)
  }

  public func close() {
    stream.sendCloseNotify()
    stream.close()
  }

  static func map(_ error: TLSStreamError) -> DERPClientError {
    switch error {
    case .timedOut: return .timedOut
    case .io(let op, let e): return .io(operation: "TLS " + op, errno: e)
    case .certificateRejected(let why): return .certificateRejected(why)
    default: return .tls(error.description)
    }
  }
}

extension DERPClient {
  /// Connects over TLS and completes the handshake. With `useMetaCertificate`
  /// (the default, like Tailscale's client) a TLS 1.3 server that sends a
  /// `derpkey…` meta certificate gets a fast-start upgrade.
  public static func connectTLS(host: String, port: UInt16, keys: DERPKeyPair = .generate(),
                                options: DERPClientOptions = DERPClientOptions(),
                                tls: TLSClientOptions = TLSClientOptions(),
                                useMetaCertificate: Bool = true) throws(DERPClientError) -> DERPClient {
    let fd = try TCPConnector.connect(host: host, port: port, timeoutSeconds: options.connectTimeoutSeconds)
    var tlsOptions = tls
    if tlsOptions.serverName == nil, !TCPConnector.isIPLiteral(host) { tlsOptions.serverName = host }
    let stream: TLSClientStream
    do {
      try SocketOptions.setReceiveTimeout(fd, seconds: options.handshakeTimeoutSeconds)
    } catch {
      _ = Glibc.close(fd)
      throw error
    }
    do throws(TLSStreamError) {
      stream = try TLSClientStream(fileDescriptor: fd, options: tlsOptions)
    } catch {
      throw TLSTransport.map(error)
    }
    var derpOptions = options
    if useMetaCertificate, derpOptions.fastStartServerKey == nil, stream.version == .tls13,
      let meta = stream.metaCertificate, meta.protocolVersion == DERPConstants.protocolVersion
    {
      derpOptions.fastStartServerKey = meta.serverKey
    }
    return try handshake(over: TLSTransport(stream: stream), hostHeader: hostHeader(host: host, port: port),
                         keys: keys, options: derpOptions)
  }
}
