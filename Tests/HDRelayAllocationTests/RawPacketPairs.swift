// Drives DERP packets through the relay from the test thread over the clients'
// transports (plain socket or TLS session), framing them by hand into buffers
// allocated up front. Lock-step: each round sends a
// batch on every sender, then reads that batch back on every receiver, so at
// most one batch per pair is in flight and nothing is dropped for lack of
// buffer space.
import Foundation
import HDClient
import HDProtocol

struct PacketPairsError: Error, CustomStringConvertible {
  var description: String
}

final class RawPacketPairs {
  let packetBytes: Int
  let batchPackets: Int
  private let senders: [DERPClient]
  private let receivers: [DERPClient]
  /// Per pair: `batchPackets` SendPacket frames addressed to its receiver.
  private let batches: UnsafeMutableRawPointer
  private let batchBytes: Int
  /// One received frame (header + source key + packet).
  private let frame: UnsafeMutableRawPointer
  private let frameBytesMax = 5 + 32 + 65_536
  /// Senders' public keys, 32 bytes each, to check every packet's source.
  private let sourceKeys: UnsafeMutableRawPointer

  init(pairs: [(sender: DERPClient, receiver: DERPClient)], packetBytes: Int, batchPackets: Int) {
    self.packetBytes = packetBytes
    self.batchPackets = batchPackets
    senders = pairs.map(\.sender)
    receivers = pairs.map(\.receiver)
    let sendFrameBytes = 5 + 32 + packetBytes
    batchBytes = sendFrameBytes * batchPackets
    batches = .allocate(byteCount: batchBytes * pairs.count, alignment: 16)
    frame = .allocate(byteCount: frameBytesMax, alignment: 16)
    sourceKeys = .allocate(byteCount: 32 * pairs.count, alignment: 16)
    for (p, pair) in pairs.enumerated() {
      pair.sender.publicKey.store(to: sourceKeys + 32 * p)
      for i in 0..<batchPackets {
        let out = batches + p * batchBytes + i * sendFrameBytes
        let length = UInt32(32 + packetBytes)
        out.storeBytes(of: 0x04, as: UInt8.self)  // SendPacket
        out.storeBytes(of: length.bigEndian, toByteOffset: 1, as: UInt32.self)
        pair.receiver.publicKey.store(to: out + 5)
        (out + 37).initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: p &+ i), count: packetBytes)
      }
    }
  }

  deinit {
    batches.deallocate()
    frame.deallocate()
    sourceKeys.deallocate()
  }

  /// Sends `rounds` batches on every pair and reads every packet back.
  /// Returns the number of packets delivered (rounds × batch × pairs).
  func run(rounds: Int) throws -> Int {
    var delivered = 0
    for _ in 0..<rounds {
      for p in senders.indices {
        try sendAll(senders[p].transport, batches + p * batchBytes, batchBytes)
      }
      for p in receivers.indices {
        var got = 0
        while got < batchPackets {
          if try readPacket(receivers[p].transport, expectedSource: sourceKeys + 32 * p) { got += 1 }
        }
        delivered += got
      }
    }
    return delivered
  }

  /// Reads one frame; true when it is a RecvPacket from the expected source
  /// (other frames, e.g. a keepalive, are skipped).
  private func readPacket(_ transport: ClientTransport, expectedSource: UnsafeRawPointer) throws -> Bool {
    try receiveAll(transport, frame, 5)
    let type = frame.load(as: UInt8.self)
    let length = Int(UInt32(bigEndian: frame.loadUnaligned(fromByteOffset: 1, as: UInt32.self)))
    guard length <= frameBytesMax - 5 else { throw PacketPairsError(description: "frame of \(length) bytes") }
    if length > 0 { try receiveAll(transport, frame + 5, length) }
    guard type == 0x05 else { return false }  // not a RecvPacket
    guard length == 32 + packetBytes else {
      throw PacketPairsError(description: "RecvPacket of \(length - 32) bytes, sent \(packetBytes)")
    }
    guard memcmp(frame + 5, expectedSource, 32) == 0 else {
      throw PacketPairsError(description: "RecvPacket from an unexpected source")
    }
    return true
  }

  private func sendAll(_ transport: ClientTransport, _ bytes: UnsafeRawPointer, _ count: Int) throws {
    try transport.write(UnsafeRawBufferPointer(start: bytes, count: count))
  }

  /// Blocks until `count` bytes arrived; the clients' receive timeout (set at
  /// handshake) bounds the wait.
  private func receiveAll(_ transport: ClientTransport, _ into: UnsafeMutableRawPointer, _ count: Int) throws {
    var offset = 0
    while offset < count {
      let n = try transport.read(into: UnsafeMutableRawBufferPointer(start: into + offset, count: count - offset))
      guard n > 0 else { throw PacketPairsError(description: "relay closed a receiver") }
      offset += n
    }
  }
}
