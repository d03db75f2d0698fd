// Packets with checkable contents, and the clients that send and read them.
// A data packet carries a tag, a stream id and a sequence number, and its
// filler bytes and length are a function of both, so a receiver checks each
// packet's contents, that every stream arrives in order, and that nothing
// arrives twice or goes missing. Probes (another tag) only find out whether a
// route works yet, and are ignored by the data checks.
import Foundation
import HDClient
import HDProtocol

enum PacketTag: UInt8 {
  case probe = 0x50
  case data = 0x44
  /// Sent while a link is cut: must never be delivered later.
  case whileCut = 0x43
}

enum Packet {
  static func make(_ tag: PacketTag, stream: UInt32, sequence: UInt32) -> [UInt8] {
    let length = 16 + Int((sequence &* 37 &+ stream) % 1200)
    var bytes = [UInt8](repeating: 0, count: length)
    bytes[0] = tag.rawValue
    withUnsafeBytes(of: stream.bigEndian) { for i in 0..<4 { bytes[1 + i] = $0[i] } }
    withUnsafeBytes(of: sequence.bigEndian) { for i in 0..<4 { bytes[5 + i] = $0[i] } }
    for i in 9..<length { bytes[i] = UInt8(truncatingIfNeeded: (i &* 31) ^ Int(sequence) ^ Int(stream)) }
    return bytes
  }

  /// (tag, stream, sequence) when `bytes` is exactly what `make` builds.
  static func parse(_ bytes: [UInt8]) -> (PacketTag, UInt32, UInt32)? {
    guard bytes.count >= 9, let tag = PacketTag(rawValue: bytes[0]) else { return nil }
    let stream = bytes[1..<5].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    let sequence = bytes[5..<9].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    return make(tag, stream: stream, sequence: sequence) == bytes ? (tag, stream, sequence) : nil
  }
}

/// One client of the region and everything it has received.
final class RegionClient {
  let name: String
  let relay: Int
  let keys: DERPKeyPair
  private(set) var derp: DERPClient?
  /// Next sequence number expected per stream.
  private var next: [UInt32: UInt32] = [:]
  /// Data packets accepted per stream.
  private(set) var received: [UInt32: Int] = [:]
  private(set) var probesFrom: Set<DERPKey> = []
  private(set) var peerGones: [(key: DERPKey, reason: UInt8)] = []
  private(set) var whileCutPackets = 0
  /// Broken contents, wrong source, duplicates, gaps (each described).
  private(set) var problems: [String] = []
  private(set) var closedByServer = false

  var publicKey: DERPKey { keys.publicKey }

  init(_ name: String, relay: Int, keys: DERPKeyPair = .generate(), in region: Region) throws {
    self.name = name
    self.relay = relay
    self.keys = keys
    derp = try region.connect(relay, keys: keys)
  }

  /// Reconnects (same key) to `relay`'s current process.
  func reconnect(in region: Region) throws {
    derp?.close()
    closedByServer = false
    derp = try region.connect(relay, keys: keys)
  }

  func close() {
    derp?.close()
    derp = nil
  }

  func send(to other: RegionClient, _ packet: [UInt8]) {
    guard let derp else { return }
    do { try derp.send(to: other.publicKey, packet: packet) } catch { problems.append("\(name): send failed: \(error)") }
  }

  /// Reads what has arrived for up to `seconds` or until `done()`.
  func drain(seconds: Double, until done: () -> Bool = { false }) {
    guard let derp else { return }
    let deadline = Date().addingTimeInterval(seconds)
    while !done() {
      let left = deadline.timeIntervalSinceNow
      if left <= 0 { return }
      let frame: ReceivedFrame
      do {
        frame = try derp.receive(timeoutSeconds: .some(min(left, 0.2)))
      } catch .timedOut {
        continue
      } catch {
        closedByServer = true
        return
      }
      take(frame)
    }
  }

  private func take(_ frame: ReceivedFrame) {
    switch frame {
    case .recvPacket(let source, let bytes):
      guard let (tag, stream, sequence) = Packet.parse(bytes) else {
        return problems.append("\(name): a packet of \(bytes.count) bytes with wrong contents")
      }
      switch tag {
      case .probe: probesFrom.insert(source)
      case .whileCut: whileCutPackets += 1
      case .data:
        guard Streams.source(of: stream) == source else {
          return problems.append("\(name): stream \(stream) arrived from the wrong source")
        }
        let expected = next[stream] ?? 0
        if sequence < expected {
          problems.append("\(name): stream \(stream) packet \(sequence) again (duplicate)")
        } else if sequence > expected {
          problems.append("\(name): stream \(stream) jumped from \(expected) to \(sequence) (lost or reordered)")
          next[stream] = sequence + 1
          received[stream, default: 0] += 1
        } else {
          next[stream] = sequence + 1
          received[stream, default: 0] += 1
        }
      }
    case .peerGone(let key, let reason):
      peerGones.append((key, reason))
    default:
      break  // KeepAlive, Pong, ServerInfo…
    }
  }

  func peerGones(of key: DERPKey) -> [UInt8] { peerGones.filter { $0.key == key }.map(\.reason) }
}

/// Stream ids name their source so a receiver can check it: the driver
/// registers each (source, destination) stream before sending on it.
enum Streams {
  nonisolated(unsafe) private static var sources: [UInt32: DERPKey] = [:]
  nonisolated(unsafe) private static var last: UInt32 = 0

  static func open(from source: RegionClient) -> UInt32 {
    last += 1
    sources[last] = source.publicKey
    return last
  }

  static func source(of stream: UInt32) -> DERPKey? { sources[stream] }
}
