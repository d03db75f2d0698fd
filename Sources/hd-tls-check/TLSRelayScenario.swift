// The end-to-end scenario: two clients per TLS version exchange packets of
// 0…65536 bytes both ways; a client that sends close_notify and one that
// sends a fatal alert mid-stream are closed while the others keep flowing;
// with kernel TLS, every relay connection must have installed TX and RX keys
// (relay counters and /proc/net/tls_stat).
@preconcurrency import Glibc
import HDClient
import HDConfig
import HDProtocol
import HDRelay
import HDTLS

struct TLSRelayScenario {
  let certPath: String
  let keyPath: String
  let ktls: KTLSMode
  let workers: Int
  let expectKernel: Bool

  static let packetSizes = [0, 1, 100, 1_400, 16_384, 30_000, 65_536]

  final class Checks {
    var failures = 0
    func check(_ ok: Bool, _ what: String) {
      print((ok ? "PASS " : "FAIL ") + what)
      if !ok { failures += 1 }
    }
  }

  /// With `externalPort`, checks a relay already running on 127.0.0.1 (the
  /// daemon); otherwise starts one in this process.
  var externalPort: UInt16? = nil

  func run() -> Int32 {
    var relay: Relay? = nil
    let port: UInt16
    if let externalPort {
      port = externalPort
    } else {
      let config = Config(port: 0, bind: ["127.0.0.1"], tlsCert: certPath, tlsKey: keyPath, ktls: ktls, logLevel: .info)
      let serverKeys = DERPKeyPair.generate()
      let tls: RelayTLS?
      do {
        tls = try RelayTLS.make(config: config, serverKey: serverKeys.publicKey)
      } catch {
        print("REFUSED \(error)")
        return 3
      }
      do {
        let started = try Relay(options: RelayOptions(
          config: config, serverKeyPair: serverKeys, workerCount: workers, tls: tls,
          log: { level, message in print("relay \(level.rawValue): \(message)") }))
        try started.start()
        relay = started
      } catch {
        print("FAIL relay start: \(error)")
        return 1
      }
      port = UInt16(relay!.boundPorts[0])
    }
    defer { relay?.stop(graceSeconds: 1) }
    let checks = Checks()
    let tlsStatBefore = TLSStat.read()
    var relayConnections = 0
    /// HTTP probes answered during the TLS handshake's aftermath: they close instead of switching.
    let probes = TLSVersion.allCases.count

    for version in TLSVersion.allCases {
      guard let a = connect(port, version, checks), let b = connect(port, version, checks) else { continue }
      relayConnections += 2
      Self.exchange(a, b, checks, "\(version.rawValue) a<->b")

      // close_notify mid-stream: the relay closes that connection, others flow on.
      if let quitter = connect(port, version, checks) {
        relayConnections += 1
        (quitter.transport as? TLSTransport)?.stream.sendCloseNotify()
        checks.check(isClosedByRelay(quitter), "\(version.rawValue) close_notify mid-stream closes that connection")
      }
      Self.exchange(a, b, checks, "\(version.rawValue) a<->b after close_notify")

      if let rogue = connect(port, version, checks) {
        relayConnections += 1
        var sent = true
        do { try (rogue.transport as? TLSTransport)?.stream.sendAlert(level: 2, description: 10) } catch { sent = false }
        checks.check(sent && isClosedByRelay(rogue), "\(version.rawValue) fatal alert mid-stream closes that connection")
      }
      Self.exchange(a, b, checks, "\(version.rawValue) a<->b after alert")
      checks.check(probe(port, version), "\(version.rawValue) /derp/probe over TLS answered 200 and closed")
      relayConnections += 1

      // AES-256-GCM keys (the kernel takes both key sizes).
      let aes256 = TLSClientOptions(
        version: version, tls13CipherSuites: "TLS_AES_256_GCM_SHA384", tls12CipherList: "ECDHE-ECDSA-AES256-GCM-SHA384")
      if let c = connect(port, version, checks, tls: aes256), let d = connect(port, version, checks, tls: aes256) {
        relayConnections += 2
        Self.exchange(c, d, checks, "\(version.rawValue) AES-256-GCM c<->d")
        Self.exchange(a, c, checks, "\(version.rawValue) AES-128 a <-> AES-256 c")
        c.close()
        d.close()
      }
      a.close()
      b.close()
    }

    // ChaCha20-Poly1305: served, but the kernel cannot run it, so that
    // connection stays in userspace next to kernel-TLS peers.
    let chachaOptions = TLSClientOptions(version: .tls13, tls13CipherSuites: "TLS_CHACHA20_POLY1305_SHA256")
    if let e = connect(port, .tls13, checks, tls: chachaOptions), let f = connect(port, .tls13, checks) {
      relayConnections += 2
      checks.check((e.transport as? TLSTransport)?.stream.cipherName == "TLS_CHACHA20_POLY1305_SHA256", "ChaCha20 negotiated")
      Self.exchange(e, f, checks, "TLSv1.3 ChaCha20 e <-> AES-128 f")
      e.close()
      f.close()
    }
    let chachaConnections = 1

    // The first application record split across two writes 300 ms apart: if
    // half of it is read before the switch to kernel TLS, the relay must stay
    // in userspace for that connection (or top up); either way it works.
    var splits = 0
    for version in TLSVersion.allCases {
      splits += 1
      relayConnections += 1
      checks.check(splitFirstRecord(port, version), "\(version.rawValue) first record split across writes: upgrade answered")
    }

    let derpConnections = relayConnections - probes - chachaConnections - splits
    if relay == nil {
      // Checking a daemon, possibly in a VM whose kernel this host cannot read:
      // the caller compares this with the daemon host's /proc/net/tls_stat.
      print("kernel TLS expected on \(derpConnections)...\(derpConnections + probes + splits) relay connections "
        + "(\(derpConnections) DERP, up to \(probes) probes and \(splits) split-record ones; \(chachaConnections) ChaCha20 stays in userspace)")
    }
    if let relay {
      let stats = relay.statsSnapshot().tls
      print("relay tls counters: handshakes 1.2=\(stats.handshakesTLS12) 1.3=\(stats.handshakesTLS13) "
        + "kernel installs=\(stats.kernelInstalls) closeNotify(kernel/user)=\(stats.kernelCloseNotify)/\(stats.userspaceCloseNotify) "
        + "alerts(kernel)=\(stats.kernelAlerts) userspace record errors=\(stats.userspaceRecordErrors)")
      checks.check(stats.handshakesTLS12 + stats.handshakesTLS13 == UInt64(relayConnections), "every connection completed a TLS handshake")
      if expectKernel {
        checks.check(stats.kernelFallbackCipher == UInt64(chachaConnections), "the ChaCha20 connection stayed in userspace (counted)")
        // Probes may switch too when their request arrives after the handshake's last recv.
        print("kernel fallbacks for a partial record: \(stats.kernelFallbackPartialRecord)")
        checks.check(stats.kernelInstalls + stats.kernelFallbackPartialRecord >= UInt64(derpConnections + splits),
                     "split-record connections either switched or stayed in userspace (counted)")
        checks.check((UInt64(derpConnections)...UInt64(derpConnections + probes + splits)).contains(stats.kernelInstalls),
                     "kernel TX+RX keys installed on all \(derpConnections) DERP connections (\(stats.kernelInstalls) incl. probes)")
        checks.check(stats.kernelCloseNotify >= 2, "close_notify read through kernel RX (recvmsg record type)")
        checks.check(stats.kernelAlerts == 2, "alerts read through kernel RX twice")
      } else {
        checks.check(stats.kernelInstalls == 0, "no kernel keys in userspace mode")
        checks.check(stats.userspaceCloseNotify >= 2, "close_notify seen in userspace")
        checks.check(stats.userspaceRecordErrors == 2, "alerts seen in userspace twice")
      }
    }
    if expectKernel {
      // The kernel's own count: both keys for each relay-side DERP connection
      // (the clients here are userspace TLS, so every key is the relay's).
      let after = TLSStat.read()
      let tx = after["TlsTxSw", default: 0] - tlsStatBefore["TlsTxSw", default: 0]
      let rx = after["TlsRxSw", default: 0] - tlsStatBefore["TlsRxSw", default: 0]
      print("/proc/net/tls_stat: TlsTxSw +\(tx) TlsRxSw +\(rx)")
      let installs = relay.map { Int($0.statsSnapshot().tls.kernelInstalls) }
      let expected = installs.map { $0...$0 } ?? derpConnections...(derpConnections + probes + splits)
      checks.check(tx == rx && expected.contains(tx),
                   "/proc/net/tls_stat counts TX and RX keys for each relay connection that switched (\(expected))")
    }
    print(checks.failures == 0 ? "RESULT PASS" : "RESULT FAIL (\(checks.failures) failed)")
    return checks.failures == 0 ? 0 : 1
  }

  private func connect(
    _ port: UInt16, _ version: TLSVersion, _ checks: Checks, tls: TLSClientOptions? = nil
  ) -> DERPClient? {
    var options = DERPClientOptions()
    options.readTimeoutSeconds = 20
    options.handshakeTimeoutSeconds = 20
    do {
      let client = try DERPClient.connectTLS(
        host: "127.0.0.1", port: port, options: options, tls: tls ?? TLSClientOptions(version: version))
      return client
    } catch {
      checks.check(false, "\(version.rawValue) connect: \(error)")
      return nil
    }
  }

  /// Every size both ways, contents compared byte for byte.
  static func exchange(_ a: DERPClient, _ b: DERPClient, _ checks: Checks, _ what: String) {
    var intact = true
    var detail = ""
    for (i, size) in Self.packetSizes.enumerated() {
      for (from, to) in [(a, b), (b, a)] {
        let packet = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ i &+ size) }
        do {
          try from.send(to: to.publicKey, packet: packet)
          let frame = try to.receive(until: { if case .recvPacket = $0 { return true } else { return false } }, timeoutSeconds: 20)
          guard case .recvPacket(let source, let got) = frame, source == from.publicKey, got == packet else {
            intact = false
            detail = " (size \(size) corrupted)"
            continue
          }
        } catch {
          intact = false
          detail = " (size \(size): \(error))"
        }
      }
    }
    checks.check(intact, "\(what): packets of \(Self.packetSizes.map(String.init).joined(separator: ",")) bytes intact both ways" + detail)
  }

  /// Sends the DERP upgrade request as one hand-sealed record in two pieces;
  /// true when the relay answers with the 101 (and ServerKey frame).
  private func splitFirstRecord(_ port: UInt16, _ version: TLSVersion) -> Bool {
    do {
      let fd = try TCPConnector.connect(host: "127.0.0.1", port: port)
      let stream = try TLSClientStream(fileDescriptor: fd, options: TLSClientOptions(version: version))
      let request = "GET /derp HTTP/1.1\r\nHost: x\r\nUpgrade: DERP\r\nConnection: Upgrade\r\n\r\n"
      let record = try stream.sealRecord(type: KernelTLS.recordTypeApplicationData, plaintext: Array(request.utf8))
      try stream.writeRaw(Array(record.prefix(12)))
      usleep(300_000)
      try stream.writeRaw(Array(record.dropFirst(12)))
      var answer: [UInt8] = []
      var buffer = [UInt8](repeating: 0, count: 4096)
      while answer.count < 12 {
        let n = try buffer.withUnsafeMutableBytes { try stream.read(into: $0) }
        if n == 0 { break }
        answer += buffer.prefix(n)
      }
      return String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 101")
    } catch {
      print("split record: \(error)")
      return false
    }
  }

  /// GET /derp/probe over TLS: 200, then the relay closes.
  private func probe(_ port: UInt16, _ version: TLSVersion) -> Bool {
    do {
      let fd = try TCPConnector.connect(host: "127.0.0.1", port: port)
      let stream = try TLSClientStream(fileDescriptor: fd, options: TLSClientOptions(version: version))
      try Array("GET /derp/probe HTTP/1.1\r\nHost: x\r\n\r\n".utf8).withUnsafeBytes { try stream.write($0) }
      var answer: [UInt8] = []
      var buffer = [UInt8](repeating: 0, count: 4096)
      while true {
        let n = try buffer.withUnsafeMutableBytes { try stream.read(into: $0) }
        if n == 0 { break }
        answer += buffer.prefix(n)
      }
      return String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 200")
    } catch {
      print("probe: \(error)")
      return false
    }
  }

  /// True when the relay closes the connection (EOF or reset) within the timeout.
  private func isClosedByRelay(_ client: DERPClient) -> Bool {
    do {
      while true { _ = try client.receive(timeoutSeconds: 10) }
    } catch .timedOut {
      return false
    } catch {
      return true
    }
  }
}

/// /proc/net/tls_stat as name → value (empty without kernel TLS).
enum TLSStat {
  static func read() -> [String: Int] {
    guard let file = fopen("/proc/net/tls_stat", "r") else { return [:] }
    defer { fclose(file) }
    var result: [String: Int] = [:]
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), file) != nil {
      let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
      let parts = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
      if parts.count == 2, let value = Int(parts[1]) { result[String(parts[0])] = value }
    }
    return result
  }
}
