// An in-process relay on loopback (port 0 = a free port) for the integration
// tests, with its log captured, plus client helpers.
import Foundation
import HDClient
import HDConfig
import HDProtocol
import XCTest
@testable import HDRelay

final class RelayHarness {
  let relay: Relay
  let port: UInt16
  let serverKeys: DERPKeyPair
  let logs = LogCapture()

  /// - Parameters:
  ///   - workers: data-plane threads (2 by default, so peers land on different workers).
  ///   - configure: adjusts the config (port and bind are preset to 0 / 127.0.0.1).
  ///   - adjust: adjusts the relay options (test-only knobs).
  init(
    workers: Int = 2, pinCores: [Int]? = nil, _ configure: (inout Config) -> Void = { _ in },
    adjust: (inout RelayOptions) -> Void = { _ in }
  ) throws {
    var config = Config(port: 0, bind: ["127.0.0.1"])
    configure(&config)
    serverKeys = DERPKeyPair.generate()
    let logger = Logger(label: "relay", sink: LogSink(level: .debug, format: .text, output: logs.output))
    var options = RelayOptions(
      config: config, serverKeyPair: serverKeys, workerCount: workers, pinCores: pinCores,
      log: { level, message in logger.log(level, message) })
    adjust(&options)
    relay = try Relay(options: options)
    try relay.start()
    port = UInt16(relay.boundPorts[0])
  }

  deinit { relay.stop(graceSeconds: 1) }

  func connect(
    keys: DERPKeyPair = .generate(), _ configure: (inout DERPClientOptions) -> Void = { _ in }
  ) throws -> DERPClient {
    var options = DERPClientOptions()
    options.readTimeoutSeconds = 5
    configure(&options)
    return try DERPClient.connect(host: "127.0.0.1", port: port, keys: keys, options: options)
  }

  /// A TCP connection to the relay with nothing sent yet.
  func rawConnection() throws -> RawConnection { try RawConnection(port: port) }
}

extension DERPClient {
  /// Receives until a RecvPacket arrives; other frames (keep-alives) are skipped.
  func receivePacket(timeoutSeconds: Double = 5) throws -> (source: DERPKey, packet: [UInt8]) {
    let frame = try receive(
      until: {
        if case .recvPacket = $0 { return true }
        return false
      }, timeoutSeconds: timeoutSeconds)
    guard case .recvPacket(let source, let packet) = frame else { throw DERPClientError.timedOut }
    return (source, packet)
  }

  /// A ping round trip: once the pong is back, the relay has processed every
  /// frame this client sent before it, and every frame the relay queued for us
  /// before the pong has been read (and is in `pending`).
  func barrier() throws { try ping(timeoutSeconds: 5) }

  /// Frames read so far that match, without blocking.
  func drainPending(timeoutSeconds: Double = 0.2) -> [ReceivedFrame] {
    var frames: [ReceivedFrame] = []
    while let frame = try? receive(timeoutSeconds: .some(timeoutSeconds)) { frames.append(frame) }
    return frames
  }

  /// True when the relay closed the connection (EOF or reset) within the timeout.
  func isClosedByServer(timeoutSeconds: Double = 3) -> Bool {
    let deadline = Date().addingTimeInterval(timeoutSeconds)
    while Date() < deadline {
      do {
        _ = try receive(timeoutSeconds: .some(max(0.05, deadline.timeIntervalSinceNow)))
      } catch DERPClientError.closed {
        return true
      } catch DERPClientError.io {
        return true  // ECONNRESET
      } catch DERPClientError.timedOut {
        return false
      } catch {
        return true
      }
    }
    return false
  }
}

/// A disco-looking packet (magic `TS💬`, ≥ 62 bytes), as magicsock sends.
func discoPacket(bytes: Int = 80) -> [UInt8] {
  [0x54, 0x53, 0xf0, 0x9f, 0x92, 0xac] + [UInt8](repeating: 7, count: bytes - 6)
}

/// Packet bytes that encode their sequence number, so reordering or corruption shows.
func numberedPacket(_ sequence: Int, bytes: Int) -> [UInt8] {
  (0..<bytes).map { UInt8(truncatingIfNeeded: ($0 &* 31) ^ sequence) }
}
