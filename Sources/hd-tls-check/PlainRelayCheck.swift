// `hd-tls-check --connect PORT --plain`: the scenario's packet exchange over
// plain DERP against a relay already listening on 127.0.0.1:PORT. The systemd
// VM test reaches the packaged daemon through QEMU's port forward with it and
// compares the printed server key across restarts.
import HDClient
import HDProtocol

struct PlainRelayCheck {
  let port: UInt16

  func run() -> Int32 {
    let checks = TLSRelayScenario.Checks()
    var options = DERPClientOptions()
    options.readTimeoutSeconds = 20
    options.handshakeTimeoutSeconds = 20
    do {
      let a = try DERPClient.connect(host: "127.0.0.1", port: port, options: options)
      let b = try DERPClient.connect(host: "127.0.0.1", port: port, options: options)
      defer { a.close(); b.close() }
      print("server key: \(a.serverKey.nodeKeyText)")
      checks.check(a.serverKey == b.serverKey, "plain DERP: both handshakes name the same server key")
      TLSRelayScenario.exchange(a, b, checks, "plain DERP a<->b")
    } catch {
      checks.check(false, "plain DERP connect to 127.0.0.1:\(port): \(error)")
    }
    print(checks.failures == 0 ? "RESULT PASS" : "RESULT FAIL (\(checks.failures) failed)")
    return checks.failures == 0 ? 0 : 1
  }
}
