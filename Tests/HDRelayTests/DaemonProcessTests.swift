// The built daemon binary end to end: one-shot actions, settings from YAML and
// flags, the key file, signals, systemd notification and the file limit.
import Foundation
import HDClient
import HDProtocol
import XCTest

final class DaemonProcessTests: XCTestCase {
  @discardableResult
  private func config(_ tree: TestFixtureTree, port: UInt16, _ extra: String = "") -> String {
    tree.write("hd.yaml", "port: \(port)\nbind: [\"127.0.0.1\"]\nworkers: 1\n" + extra)
  }

  /// Starts the daemon with a NOTIFY_SOCKET and waits for READY=1, which works
  /// whatever the log level. Pass `notify`/`notifyAddress` to keep the socket.
  private func startDaemon(
    _ arguments: [String], notify: DatagramReceiver? = nil, notifyAddress: String? = nil, shellPrefix: String? = nil
  ) throws -> DaemonProcess {
    var receiver = notify
    var address = notifyAddress
    if receiver == nil {
      let name = "hd-life-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
      receiver = try DatagramReceiver(abstractName: name)
      address = "@" + name
    }
    let daemon = try DaemonProcess(
      arguments: arguments, environment: ["NOTIFY_SOCKET": address!], shellPrefix: shellPrefix)
    let ready = receiver!.receive(timeoutSeconds: 10)
    XCTAssertTrue(ready?.split(separator: "\n").contains("READY=1") == true, "no READY=1; daemon log:\n\(daemon.stderr)")
    return daemon
  }

  // MARK: One-shot actions

  func testVersionHelpCheckAndPrintConfig() throws {
    let version = try DaemonProcess.run(["--version"])
    XCTAssertEqual(version.status, 0)
    XCTAssertTrue(version.stdout.hasPrefix("hyper-derp "), version.stdout)

    let help = try DaemonProcess.run(["--help"])
    XCTAssertEqual(help.status, 0)
    XCTAssertTrue(help.stdout.contains("--log-level"), help.stdout)

    let tree = TestFixtureTree()
    let good = config(tree, port: 4555)
    XCTAssertEqual(try DaemonProcess.run(["--config", good, "--check-config"]).status, 0)
    let printed = try DaemonProcess.run(["--config", good, "--print-config", "--port", "4556"])
    XCTAssertEqual(printed.status, 0)
    XCTAssertTrue(printed.stdout.contains("port: 4556"), printed.stdout)

    let bad = tree.write("bad.yaml", "port: 3340\nworkerz: 2\n")
    let check = try DaemonProcess.run(["--config", bad, "--check-config"])
    XCTAssertEqual(check.status, 1)
    XCTAssertTrue(check.stdout.contains("workerz"), check.stdout)
  }

  func testRefusesToStartWithInvalidOrUnimplementedSettings() throws {
    let tree = TestFixtureTree()
    let unknown = tree.write("unknown.yaml", "port: 3340\nworkerz: 2\n")
    let first = try DaemonProcess.run(["--config", unknown])
    XCTAssertEqual(first.status, 1)
    XCTAssertTrue(first.stderr.contains("workerz"), first.stderr)

    let unimplemented = tree.write("mesh.yaml", "port: 3340\nmesh:\n  peers: [\"relay2.example\"]\n")
    let second = try DaemonProcess.run(["--config", unimplemented])
    XCTAssertEqual(second.status, 1)
    XCTAssertTrue(second.stderr.contains("mesh.peers"), second.stderr)
  }

  func testAMalformedKeyFileIsAClearStartupError() throws {
    let tree = TestFixtureTree()
    let keyPath = tree.write("derp.key", "privkey:not-hex\n")
    let path = config(tree, port: freeLoopbackPort(), "key_file: \"\(keyPath)\"\n")
    let result = try DaemonProcess.run(["--config", path])
    XCTAssertEqual(result.status, 1)
    XCTAssertTrue(result.stderr.contains(keyPath), result.stderr)
    XCTAssertEqual(try String(contentsOfFile: keyPath, encoding: .utf8), "privkey:not-hex\n", "never overwritten")
  }

  func testRefusesToPinToACoreThatDoesNotExist() throws {
    let tree = TestFixtureTree()
    let path = config(tree, port: freeLoopbackPort(), "pin_cores: [0, 999]\n")
    // workers: 1 in the base file would not match two pins; override it.
    let result = try DaemonProcess.run(["--config", path, "--workers", "2"])
    XCTAssertEqual(result.status, 1)
    XCTAssertTrue(result.stderr.contains("999"), result.stderr)
    XCTAssertTrue(result.stderr.contains("does not exist"), result.stderr)
  }

  // MARK: Settings

  func testLogLevelAndFormatFromYAMLThenFlagsWin() throws {
    let tree = TestFixtureTree()
    let port = freeLoopbackPort()
    let path = config(tree, port: port, "log_level: debug\nlog_format: json\n")
    let fromYAML = try startDaemon(["--config", path])
    fromYAML.signal(SIGTERM)
    XCTAssertEqual(fromYAML.waitForExit(timeoutSeconds: 10), 0)
    let lines = fromYAML.stderrLines
    XCTAssertFalse(lines.isEmpty)
    for line in lines {
      let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
      XCTAssertNotNil(object, "not a JSON log line: \(line)")
    }
    XCTAssertTrue(lines.contains { $0.contains(#""level":"debug""#) }, "YAML log_level: debug takes effect")

    let fromFlags = try startDaemon(["--config", path, "--log-level", "warn", "--log-format", "text"])
    fromFlags.signal(SIGTERM)
    XCTAssertEqual(fromFlags.waitForExit(timeoutSeconds: 10), 0)
    XCTAssertFalse(fromFlags.stderr.contains("{\"time\""), "flag --log-format text wins")
    XCTAssertFalse(fromFlags.stderr.contains(" info ["), "flag --log-level warn hides info:\n\(fromFlags.stderr)")
    XCTAssertFalse(fromFlags.stderr.contains(" debug ["))
  }

  func testKeyFileIsCreatedWithMode0600AndReused() throws {
    let tree = TestFixtureTree()
    let keyPath = tree.path("derp.key")
    let path = config(tree, port: freeLoopbackPort(), "key_file: \"\(keyPath)\"\n")
    let first = try startDaemon(["--config", path])
    var info = stat()
    XCTAssertEqual(stat(keyPath, &info), 0)
    XCTAssertEqual(info.st_mode & 0o777, 0o600)
    let fileText = try String(contentsOfFile: keyPath, encoding: .utf8)
    let keyPair = DERPKeyPair(privateKey: try XCTUnwrap(DERPPrivateKey(privateKeyText: fileText)))
    XCTAssertTrue(first.waitForLog(keyPair.publicKey.nodeKeyText), first.stderr)
    // The relay serves with that key.
    let port = UInt16(try XCTUnwrap(portOf(path)))
    let client = try DERPClient.connect(host: "127.0.0.1", port: port)
    XCTAssertEqual(client.serverKey, keyPair.publicKey)
    client.close()
    first.signal(SIGTERM)
    XCTAssertEqual(first.waitForExit(timeoutSeconds: 10), 0)

    let second = try startDaemon(["--config", path])
    XCTAssertTrue(second.waitForLog("loaded server key"), second.stderr)
    XCTAssertTrue(second.waitForLog(keyPair.publicKey.nodeKeyText))
    XCTAssertEqual(try String(contentsOfFile: keyPath, encoding: .utf8), fileText, "the file is not rewritten")
    second.signal(SIGTERM)
    XCTAssertEqual(second.waitForExit(timeoutSeconds: 10), 0)
  }

  func testSockbufAboveTheKernelCapIsAStartupWarning() throws {
    let rmemText = try String(contentsOfFile: "/proc/sys/net/core/rmem_max", encoding: .utf8)
    let rmem = try XCTUnwrap(Int(rmemText.trimmingCharacters(in: .whitespacesAndNewlines)))
    try XCTSkipIf(rmem >= 268_435_456, "kernel allows the largest sockbuf")
    let tree = TestFixtureTree()
    let path = config(tree, port: freeLoopbackPort(), "sockbuf: \(rmem + 1)\n")
    let daemon = try startDaemon(["--config", path])
    XCTAssertTrue(daemon.waitForLog("exceeds net.core.rmem_max"), daemon.stderr)
    daemon.signal(SIGTERM)
    XCTAssertEqual(daemon.waitForExit(timeoutSeconds: 10), 0)
  }

  // MARK: Signals and systemd

  /// SIGTERM and SIGINT stop the daemon with exit 0 in bounded time, with a
  /// connected client, with and without the metrics server (the C++ server
  /// never exits when metrics are on). READY=1 and STOPPING=1 reach NOTIFY_SOCKET.
  func testTermAndIntExitZeroWithAndWithoutMetricsAndNotifySystemd() throws {
    let tree = TestFixtureTree()
    for (index, (signalNumber, metrics)) in [(SIGTERM, false), (SIGINT, false), (SIGTERM, true), (SIGINT, true)].enumerated() {
      let port = freeLoopbackPort()
      let metricsPort = freeLoopbackPort()
      let metricsLine = metrics ? "metrics:\n  port: \(metricsPort)\n  bind: [\"127.0.0.1\"]\n" : ""
      let path = config(tree, port: port, metricsLine)
      // Alternate path and abstract-namespace notify sockets.
      let notify: DatagramReceiver
      let address: String
      if index % 2 == 0 {
        address = tree.path("notify-\(index)")
        notify = try DatagramReceiver(path: address)
      } else {
        let name = "hd-life-\(getpid())-\(index)-\(UInt32.random(in: 0...UInt32.max))"
        address = "@" + name
        notify = try DatagramReceiver(abstractName: name)
      }
      let daemon = try startDaemon(["--config", path], notify: notify, notifyAddress: address)
      let client = try DERPClient.connect(host: "127.0.0.1", port: port)
      try client.ping()
      if metrics {
        let health = try RawConnection(port: metricsPort)
        health.send("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        XCTAssertEqual(HTTPReply(health.readToEnd(timeoutSeconds: 3))?.status, 200, "metrics server serves /health")
      }

      let started = Date()
      daemon.signal(signalNumber)
      let status = daemon.waitForExit(timeoutSeconds: 12)
      XCTAssertEqual(status, 0, "signal \(signalNumber) metrics=\(metrics):\n\(daemon.stderr)")
      XCTAssertLessThan(Date().timeIntervalSince(started), 10)
      XCTAssertEqual(notify.receive(timeoutSeconds: 2), "STOPPING=1")
      XCTAssertTrue(daemon.waitForLog("stopped"), daemon.stderr)
      client.close()
    }
  }

  /// A receiver that stopped reading leaves frames queued; the stop still ends
  /// within the bound (the relay's flush grace, then close) with exit 0.
  func testTermWithAStalledReceiverStillExitsInBoundedTime() throws {
    let tree = TestFixtureTree()
    let port = freeLoopbackPort()
    let daemon = try startDaemon(["--config", config(tree, port: port)])
    let stalled = try DERPClient.connect(host: "127.0.0.1", port: port)
    let sender = try DERPClient.connect(host: "127.0.0.1", port: port)
    let packet = [UInt8](repeating: 0xab, count: 16 * 1024)
    // Far more than the socket buffers and the per-peer queue can hold.
    for _ in 0..<2000 { try sender.send(to: stalled.publicKey, packet: packet) }
    try sender.ping()
    let started = Date()
    daemon.signal(SIGTERM)
    XCTAssertEqual(daemon.waitForExit(timeoutSeconds: 12), 0, daemon.stderr)
    XCTAssertLessThan(Date().timeIntervalSince(started), 10)
    stalled.close()
  }

  func testSIGHUPAppliesAValidFileAndKeepsSettingsOnAnInvalidOne() throws {
    let tree = TestFixtureTree()
    let port = freeLoopbackPort()
    let path = config(tree, port: port, "log_level: info\n")
    let daemon = try startDaemon(["--config", path])

    config(tree, port: port, "log_level: debug\n")
    daemon.signal(SIGHUP)
    XCTAssertTrue(daemon.waitForLog("applied log_level: info -> debug"), daemon.stderr)

    config(tree, port: port, "log_level: error\nworkerz: 3\n")
    daemon.signal(SIGHUP)
    XCTAssertTrue(daemon.waitForLog("reload rejected"), daemon.stderr)
    XCTAssertTrue(daemon.stderr.contains("workerz"))

    // A vanished file is rejected the same way.
    try FileManager.default.removeItem(atPath: path)
    daemon.signal(SIGHUP)
    XCTAssertTrue(daemon.waitForLog("cannot read the config file"), daemon.stderr)

    // Still debug: the next valid reload starts from debug, not error.
    config(tree, port: port, "log_level: info\n")
    daemon.signal(SIGHUP)
    XCTAssertTrue(daemon.waitForLog("applied log_level: debug -> info"), daemon.stderr)

    // A restart-only key is reported, not silently ignored.
    config(tree, port: port, "log_level: info\nsockbuf: 65536\n")
    daemon.signal(SIGHUP)
    XCTAssertTrue(daemon.waitForLog("sockbuf: 0 -> 65536 takes effect only after a restart"), daemon.stderr)

    let client = try DERPClient.connect(host: "127.0.0.1", port: port)
    try client.ping()
    daemon.signal(SIGTERM)
    XCTAssertEqual(daemon.waitForExit(timeoutSeconds: 10), 0)
  }

  func testSoftFileLimitIsRaisedToTheHardLimit() throws {
    let tree = TestFixtureTree()
    let path = config(tree, port: freeLoopbackPort())
    let daemon = try startDaemon(["--config", path], shellPrefix: "ulimit -Sn 256")
    let limits = try String(contentsOfFile: "/proc/\(daemon.pid)/limits", encoding: .utf8)
    let line = try XCTUnwrap(limits.split(separator: "\n").first { $0.hasPrefix("Max open files") })
    let fields = line.split(separator: " ", omittingEmptySubsequences: true)
    // "Max open files <soft> <hard> files"
    XCTAssertEqual(fields[3], fields[4], String(line))
    XCTAssertNotEqual(fields[3], "256")
    XCTAssertTrue(daemon.waitForLog("raised the open-file limit"), daemon.stderr)
    daemon.signal(SIGTERM)
    XCTAssertEqual(daemon.waitForExit(timeoutSeconds: 10), 0)
  }

  private func portOf(_ configPath: String) -> Int? {
    guard let text = try? String(contentsOfFile: configPath, encoding: .utf8) else { return nil }
    return text.split(separator: "\n").first { $0.hasPrefix("port:") }.flatMap { Int($0.dropFirst(5).trimmingCharacters(in: .whitespaces)) }
  }
}
