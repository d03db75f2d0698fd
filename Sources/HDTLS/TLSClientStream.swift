// A blocking TLS client over a connected socket, for the project's DERP
// client (hdctl, hd-bench, tests). OpenSSL reads and writes the socket itself.
// Tests pick the version, trust self-signed certificates, look for derper's
// `derpkey` meta certificate, and can send an alert OpenSSL would not send
// on its own (the bad-input and close tests of the relay).
@preconcurrency import Glibc
internal import CTLS
import HDProtocol

/// What went wrong on a client TLS stream.
public enum TLSStreamError: Error, Equatable, CustomStringConvertible, Sendable {
  case setup(String)
  case handshake(String)
  /// No data within the socket's receive timeout.
  case timedOut
  case io(operation: String, errno: Int32)
  /// The peer broke TLS (bad record, fatal alert, …).
  case protocolError(String)
  /// The server's certificate failed CA verification or the pin check.
  case certificateRejected(String)

  public var description: String {
    switch self {
    case .setup(let why): return "TLS setup: \(why)"
    case .handshake(let why): return "TLS handshake: \(why)"
    case .timedOut: return "TLS read timed out"
    case .io(let op, let e): return "TLS \(op): \(String(cString: strerror(e))) (errno \(e))"
    case .protocolError(let why): return "TLS: \(why)"
    case .certificateRejected(let why): return "TLS certificate rejected: \(why)"
    }
  }
}

/// Client-side TLS settings.
public struct TLSClientOptions: Sendable {
  /// nil = negotiate TLS 1.2 or 1.3; otherwise exactly this version.
  public var version: TLSVersion?
  /// SNI; nil sends none.
  public var serverName: String?
  /// PEM file of trusted certificates. nil (and no pin) = accept any
  /// certificate (tests).
  public var trustedCertificatesFile: String?
  /// Verify against OpenSSL's default verify paths (SSL_CERT_FILE /
  /// SSL_CERT_DIR, else the system store) instead of a file; see TLSTrust.
  public var trustsOpenSSLDefaultPaths = false
  /// Trust exactly this certificate instead of a CA, as Tailscale's client
  /// does for a DERP node with `CertName: "sha256-raw:…"`. Excludes
  /// `trustedCertificatesFile`.
  public var pinnedCertificate: CertificatePin?
  /// DNS name or IP literal the certificate must be valid for (checked with
  /// `trustedCertificatesFile` or `pinnedCertificate`); nil = any name, except
  /// that a pin is also checked against `serverName` like Tailscale does.
  public var verifyPeerName: String?
  /// OpenSSL TLS 1.3 suite list, e.g. "TLS_AES_256_GCM_SHA384"; nil = OpenSSL's default.
  public var tls13CipherSuites: String?
  /// OpenSSL TLS 1.2 cipher list; nil = OpenSSL's default.
  public var tls12CipherList: String?

  public init(
    version: TLSVersion? = nil, serverName: String? = nil, trustedCertificatesFile: String? = nil,
    pinnedCertificate: CertificatePin? = nil,
    verifyPeerName: String? = nil, tls13CipherSuites: String? = nil, tls12CipherList: String? = nil
  ) {
    self.verifyPeerName = verifyPeerName
    self.pinnedCertificate = pinnedCertificate
    self.version = version
    self.serverName = serverName
    self.trustedCertificatesFile = trustedCertificatesFile
    self.tls13CipherSuites = tls13CipherSuites
    self.tls12CipherList = tls12CipherList
  }
}

/// A TLS connection that has completed its handshake.
public final class TLSClientStream {
  public private(set) var fileDescriptor: Int32
  private let context: OpaquePointer
  let ssl: OpaquePointer
  private let state: UnsafeMutablePointer<SessionRecordState>
  /// After a hand-made record, OpenSSL's own write sequence is stale.
  private var writesDisabled = false
  /// Lives as long as the context whose verify callback points at it.
  private let pinCheck: PinnedCertificateCheck?

  /// Runs the handshake on `fileDescriptor` (connected, blocking; the stream
  /// takes ownership and closes it). Honours the socket's SO_RCVTIMEO.
  public init(fileDescriptor: Int32, options: TLSClientOptions = TLSClientOptions()) throws(TLSStreamError) {
    ERR_clear_error()
    let verifiesWithCAs = options.trustedCertificatesFile != nil || options.trustsOpenSSLDefaultPaths
    if options.pinnedCertificate != nil && verifiesWithCAs {
      throw .setup("a pinned certificate replaces CA verification: set the pin or a trust file, not both")
    }
    guard let ctx = SSL_CTX_new(TLS_client_method()) else {
      throw .setup(OpenSSLErrorQueue.drainText(fallback: "SSL_CTX_new failed"))
    }
    let minimum = options.version ?? .tls12
    let maximum = options.version ?? .tls13
    var configured =
      ctls_ctx_set_min_proto_version(ctx, minimum.openSSLNumber) == 1
      && ctls_ctx_set_max_proto_version(ctx, maximum.openSSLNumber) == 1
    if let suites = options.tls13CipherSuites { configured = configured && SSL_CTX_set_ciphersuites(ctx, suites) == 1 }
    if let list = options.tls12CipherList { configured = configured && SSL_CTX_set_cipher_list(ctx, list) == 1 }
    if let trusted = options.trustedCertificatesFile {
      configured = configured && SSL_CTX_load_verify_locations(ctx, trusted, nil) == 1
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
    } else if options.trustsOpenSSLDefaultPaths {
      configured = configured && SSL_CTX_set_default_verify_paths(ctx) == 1
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
    }
    pinCheck = options.pinnedCertificate.map {
      PinnedCertificateCheck(pin: $0, peerName: options.verifyPeerName ?? options.serverName)
    }
    pinCheck?.install(on: ctx)
    _ = ctls_ctx_set_client_options(ctx)
    SSL_CTX_set_keylog_callback(ctx, sessionKeylogCallback)
    guard configured, let ssl = SSL_new(ctx) else {
      let why = OpenSSLErrorQueue.drainText(fallback: "bad client settings")
      SSL_CTX_free(ctx)
      throw .setup(why)
    }
    self.context = ctx
    self.ssl = ssl
    self.state = SessionRecordState.allocate()
    self.fileDescriptor = fileDescriptor
    SessionRecordState.attach(state, to: ssl)
    if let name = options.serverName { _ = ctls_set_tlsext_host_name(ssl, name) }
    if verifiesWithCAs, let name = options.verifyPeerName, let param = SSL_get0_param(ssl) {
      let set = SelfSignedCertificate.isIPLiteral(name) ? X509_VERIFY_PARAM_set1_ip_asc(param, name) : X509_VERIFY_PARAM_set1_host(param, name, 0)
      guard set == 1 else {
        throw .setup(OpenSSLErrorQueue.drainText(fallback: "cannot check the certificate against \(name)"))
      }
    }
    guard SSL_set_fd(ssl, fileDescriptor) == 1 else {
      throw .setup(OpenSSLErrorQueue.drainText(fallback: "SSL_set_fd failed"))
    }
    let rc = SSL_connect(ssl)
    guard rc == 1 else {
      let error = SSL_get_error(ssl, rc)
      let savedErrno = errno
      let why = OpenSSLErrorQueue.drainText(fallback: "SSL_get_error \(error), errno \(savedErrno)")
      if let rejection = pinCheck?.rejection { throw .certificateRejected(rejection) }
      let verifyResult = SSL_get_verify_result(ssl)
      if verifiesWithCAs, verifyResult != X509_V_OK {
        throw .certificateRejected(String(cString: X509_verify_cert_error_string(verifyResult)))
      }
      throw error == SSL_ERROR_WANT_READ ? .timedOut : .handshake(why)
    }
    state.pointee.recordsWrittenAtHandshakeDone = state.pointee.recordsWritten
    state.pointee.recordsReadAtHandshakeDone = state.pointee.recordsRead
  }

  deinit {
    SSL_free(ssl)
    SSL_CTX_free(context)
    SessionRecordState.deallocate(state)
    if fileDescriptor >= 0 { Glibc.close(fileDescriptor) }
  }

  public var version: TLSVersion? { TLSVersion(openSSLNumber: SSL_version(ssl)) }

  public var cipherName: String {
    guard let cipher = SSL_get_current_cipher(ssl), let name = SSL_CIPHER_get_name(cipher) else { return "" }
    return String(cString: name)
  }

  /// Certificates the server sent, leaf first.
  public var peerCertificateCount: Int { Int(ctls_x509_stack_count(ctls_get_peer_cert_chain(ssl))) }

  /// derper's meta certificate, when the server sent one (spec §1.1).
  public var metaCertificate: MetaCertificateInfo? {
    let chain = ctls_get_peer_cert_chain(ssl)
    for index in 0..<ctls_x509_stack_count(chain) {
      guard let cert = ctls_x509_stack_value(chain, index), let commonName = X509Fields.commonName(cert) else {
        continue
      }
      if let info = MetaCertificateInfo(commonName: commonName, serial: ctls_x509_serial(cert)) { return info }
    }
    return nil
  }

  /// Plaintext OpenSSL holds that `read` returns without touching the socket.
  public var bufferedReadBytes: Int { Int(SSL_pending(ssl)) }

  /// Reads plaintext; 0 when the server sent close_notify or closed TCP.
  public func read(into buffer: UnsafeMutableRawBufferPointer) throws(TLSStreamError) -> Int {
    guard buffer.count > 0 else { return 0 }
    while true {
      ERR_clear_error()
      let rc = SSL_read(ssl, buffer.baseAddress, Int32(clamping: buffer.count))
      if rc > 0 { return Int(rc) }
      switch SSL_get_error(ssl, rc) {
      case SSL_ERROR_ZERO_RETURN:
        return 0
      case SSL_ERROR_WANT_READ:
        throw .timedOut
      case SSL_ERROR_SYSCALL:
        let savedErrno = errno
        if savedErrno == EINTR { continue }
        ERR_clear_error()
        if savedErrno == 0 || savedErrno == ECONNRESET { return 0 }  // EOF without close_notify
        throw .io(operation: "read", errno: savedErrno)
      default:
        // A peer that closes TCP without close_notify: an end of stream for
        // this client (OpenSSL 3 reports it as an error).
        if ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING {
          ERR_clear_error()
          return 0
        }
        throw .protocolError(OpenSSLErrorQueue.drainText(fallback: "read failed"))
      }
    }
  }

  /// Writes all of `plaintext` (records of ≤ 16 KiB).
  public func write(_ plaintext: UnsafeRawBufferPointer) throws(TLSStreamError) {
    guard !writesDisabled else { throw .protocolError("stream closed for writing after a hand-made record") }
    var offset = 0
    while offset < plaintext.count {
      ERR_clear_error()
      let rc = SSL_write(ssl, plaintext.baseAddress! + offset, Int32(clamping: plaintext.count - offset))
      if rc > 0 {
        offset += Int(rc)
        continue
      }
      let error = SSL_get_error(ssl, rc)
      let savedErrno = errno
      if error == SSL_ERROR_SYSCALL && savedErrno == EINTR { continue }
      if error == SSL_ERROR_WANT_WRITE { throw .timedOut }
      if error == SSL_ERROR_SYSCALL { throw .io(operation: "write", errno: savedErrno) }
      throw .protocolError(OpenSSLErrorQueue.drainText(fallback: "write failed"))
    }
  }

  /// Queues a TLS 1.3 KeyUpdate (sent with the next write): our write key
  /// moves on, and with `askPeer` the server is asked to move its own.
  public func requestKeyUpdate(askPeer: Bool) throws(TLSStreamError) {
    ERR_clear_error()
    guard SSL_key_update(ssl, askPeer ? SSL_KEY_UPDATE_REQUESTED : SSL_KEY_UPDATE_NOT_REQUESTED) == 1 else {
      throw .protocolError(OpenSSLErrorQueue.drainText(fallback: "SSL_key_update failed"))
    }
  }

  /// Sends close_notify (does not wait for the server's).
  public func sendCloseNotify() {
    ERR_clear_error()
    _ = SSL_shutdown(ssl)
    ERR_clear_error()
  }

  /// Sends an alert record built by hand with the session's derived keys and
  /// next sequence number (level 1 warning, 2 fatal). OpenSSL only sends
  /// alerts when it detects a problem itself; tests need one mid-stream.
  /// Writing through the stream afterwards is refused.
  public func sendAlert(level: UInt8, description: UInt8) throws(TLSStreamError) {
    let record = try sealRecord(type: KernelTLS.recordTypeAlert, plaintext: [level, description])
    try writeRaw(record)
  }

  /// Seals a record with the client's write key at the next sequence number,
  /// without sending it. Disables later writes through OpenSSL.
  public func sealRecord(type: UInt8, plaintext: [UInt8]) throws(TLSStreamError) -> [UInt8] {
    let keys: SessionTrafficKeys
    switch TrafficKeyDerivation.derive(ssl: ssl, state: state, isServer: false) {
    case .success(let k): keys = k
    case .failure(let why): throw .protocolError("cannot derive record keys: \(why)")
    }
    var protection = RecordProtection(version: keys.version, cipher: keys.cipher, key: keys.transmit)
    guard let record = protection.seal(type: type, plaintext: plaintext) else {
      throw .protocolError("sealing a record failed")
    }
    writesDisabled = true
    return record
  }

  /// The client's record keys as they stand (for checks against the server).
  public func trafficKeys() -> Result<SessionTrafficKeys, KernelTLSIneligibility> {
    TrafficKeyDerivation.derive(ssl: ssl, state: state, isServer: false)
  }

  /// Writes bytes to the socket directly, bypassing TLS (bad-input tests).
  public func writeRaw(_ bytes: [UInt8]) throws(TLSStreamError) {
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeBytes { Glibc.send(fileDescriptor, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
      if n < 0 {
        if errno == EINTR { continue }
        throw .io(operation: "send", errno: errno)
      }
      offset += n
    }
  }

  public func close() {
    if fileDescriptor >= 0 {
      Glibc.close(fileDescriptor)
      fileDescriptor = -1
    }
  }
}

extension TLSClientStream {
  /// Subject CN of the server's leaf certificate (tests, diagnostics).
  public var peerCertificateCommonName: String? {
    let chain = ctls_get_peer_cert_chain(ssl)
    guard ctls_x509_stack_count(chain) > 0, let leaf = ctls_x509_stack_value(chain, 0) else { return nil }
    return X509Fields.commonName(leaf)
  }

  /// The `sha256-raw:` pin of the server's leaf certificate (what a DERP map's
  /// CertName must say for this server).
  public var peerCertificatePin: CertificatePin? {
    let chain = ctls_get_peer_cert_chain(ssl)
    guard ctls_x509_stack_count(chain) > 0, let leaf = ctls_x509_stack_value(chain, 0),
      let der = X509Fields.der(leaf)
    else { return nil }
    return CertificatePin(derCertificate: der)
  }
}
