// One probe client on a node, opened the way a Tailscale client opens it:
// TCP to the node's address, TLS with SNI = HostName and the node's trust
// rule (CertName pin, CertName or HostName against the CAs, or nothing for
// InsecureForTests), then the DERP upgrade and handshake. Each step that
// fails is named: connect, tls or derp.
@preconcurrency import Glibc
import HDClient
import HDProtocol
import HDTLS

struct ProbeStepFailure: Error {
  let kind: ProbeCheckKind
  let detail: String
}

struct ProbeConnection {
  let client: DERPClient
  /// Served leaf certificate (nil over plain TCP).
  let leaf: CertificateSummary?
  let tlsVersion: TLSVersion?
  let verifiedAs: String
  let connectSeconds: Double
  let tlsSeconds: Double
  let derpSeconds: Double

  static func open(_ target: ProbeNode, _ options: ProbeOptions) -> Result<ProbeConnection, ProbeStepFailure> {
    let node = target.node
    let port = UInt16(node.effectiveDERPPort)
    let started = MonotonicClock.seconds()
    let fd: Int32
    do {
      fd = try TCPConnector.connect(host: target.dialHost, port: port, timeoutSeconds: options.timeoutSeconds)
    } catch {
      return .failure(ProbeStepFailure(kind: .connect, detail: "cannot connect to \(DERPClient.hostHeader(host: target.dialHost, port: port)): \(error)"))
    }
    let connected = MonotonicClock.seconds()
    SocketTimeouts.set(fd, seconds: options.timeoutSeconds)
    var derpOptions = DERPClientOptions()
    derpOptions.clientInfo = ClientInfo(meshKey: options.meshKey)
    derpOptions.connectTimeoutSeconds = options.timeoutSeconds
    derpOptions.handshakeTimeoutSeconds = options.timeoutSeconds
    derpOptions.readTimeoutSeconds = options.timeoutSeconds
    let transport: ClientTransport
    var leaf: CertificateSummary?
    var version: TLSVersion?
    var verifiedAs = "plain TCP (no TLS)"
    if target.plainTCP {
      transport = PlainTransport(fileDescriptor: fd)
    } else {
      let tls: TLSClientOptions
      switch tlsOptions(node, options) {
      case .failure(let failure):
        _ = Glibc.close(fd)
        return .failure(failure)
      case .success(let (built, description)):
        tls = built
        verifiedAs = description
      }
      let stream: TLSClientStream
      do {
        stream = try TLSClientStream(fileDescriptor: fd, options: tls)
      } catch {
        return .failure(ProbeStepFailure(kind: .tls, detail: "\(error)"))
      }
      leaf = stream.peerLeafCertificate
      version = stream.version
      if stream.version == .tls13, let meta = stream.metaCertificate, meta.protocolVersion == DERPConstants.protocolVersion {
        derpOptions.fastStartServerKey = meta.serverKey
      }
      transport = TLSTransport(stream: stream)
    }
    let secured = MonotonicClock.seconds()
    let client: DERPClient
    do {
      client = try DERPClient.handshake(
        over: transport, hostHeader: DERPClient.hostHeader(host: node.hostName, port: port), keys: .generate(),
        options: derpOptions)
    } catch {
      return .failure(ProbeStepFailure(kind: .derp, detail: "DERP handshake: \(error)"))
    }
    let done = MonotonicClock.seconds()
    return .success(ProbeConnection(
      client: client, leaf: leaf, tlsVersion: version, verifiedAs: verifiedAs, connectSeconds: connected - started,
      tlsSeconds: secured - connected, derpSeconds: done - secured))
  }

  /// The node's trust rule as TLS options, and how it reads in a report.
  static func tlsOptions(_ node: DERPNode, _ options: ProbeOptions) -> Result<(TLSClientOptions, String), ProbeStepFailure> {
    var tls = TLSClientOptions()
    if !SelfSignedCertificate.isIPLiteral(node.hostName) { tls.serverName = node.hostName }
    if node.insecureForTests { return .success((tls, "not verified (InsecureForTests)")) }
    if node.certName.hasPrefix(CertificatePin.certNamePrefix) {
      switch CertificatePin.parse(certName: node.certName) {
      case .failure(let error): return .failure(ProbeStepFailure(kind: .tls, detail: "the map's CertName: \(error)"))
      case .success(let pin):
        tls.pinnedCertificate = pin
        return .success((tls, "pinned \(pin.certName.prefix(27))…"))
      }
    }
    let name = node.certName.isEmpty ? node.hostName : node.certName
    tls.verifyPeerName = name
    let trust = TLSTrust.outbound(caFile: options.trustedCertificatesFile, setting: "--ca-file")
    trust.apply(to: &tls)
    return .success((tls, "chain verified for \(name)"))
  }
}
