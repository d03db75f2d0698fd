// The client side's frame reader (HDClient.FrameReader) and frame decoder, as
// a mesh link runs them on another relay's stream (PeerPresent, PeerGone…).
// The bytes arrive through a transport that hands them out in pieces.
import HDClient
import HDProtocol

/// A transport serving fixed chunks, then end of stream.
private final class ChunkTransport: ClientTransport {
  private var pieces: [ArraySlice<UInt8>]
  private var index = 0
  private(set) var delivered = 0

  init(_ pieces: [ArraySlice<UInt8>]) { self.pieces = pieces }

  var fileDescriptor: Int32 { -1 }
  var bufferedReadBytes: Int { 0 }

  func read(into buffer: UnsafeMutableRawBufferPointer) throws(DERPClientError) -> Int {
    while index < pieces.count && pieces[index].isEmpty { index += 1 }
    guard index < pieces.count else { return 0 }
    let n = min(buffer.count, pieces[index].count)
    let piece = pieces[index]
    piece.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: n) }
    pieces[index] = piece.dropFirst(n)
    delivered += n
    return n
  }

  func write(_ bytes: UnsafeRawBufferPointer) throws(DERPClientError) {}
  func setReadTimeout(seconds: Double?) throws(DERPClientError) {}
  func close() {}
}

extension FuzzTargets {
  private static let meshKeys = DERPKeyPair(privateKey: DERPPrivateKey(raw: DERPKey(w0: 5, w1: 6, w2: 7, w3: 8)))

  static let clientFrameReader = FuzzTarget(
    name: "client-frame-reader",
    summary: "client/mesh-link frame reader and decoder (PeerPresent, PeerGone, …) over pieces",
    maxInputBytes: 70_000
  ) { raw, checks throws(FuzzFailure) in
    var input = FuzzInput(raw)
    let seed = input.byte()
    let capacityChoice = input.byte()
    let data = input.rest()
    // The default buffer, or a small one so "frame larger than the buffer" is reachable.
    let capacity = capacityChoice & 1 == 0 ? FrameReader.defaultCapacityBytes : 64 + Int(capacityChoice)
    let transport = ChunkTransport(chunks(data, seed: seed))
    var reader = FrameReader(capacityBytes: capacity)
    var consumed = 0
    while true {
      let header: FrameHeader
      let payload: UnsafeRawBufferPointer
      do throws(DERPClientError) {
        (header, payload) = try reader.nextFrame(from: transport)
      } catch .closed {
        break
      } catch .protocolViolation {
        // Refused: only a header announcing more than the buffer holds.
        try checks.require(reader.bufferedBytes >= DERPConstants.frameHeaderBytes, "violation without a header")
        return
      } catch {
        throw checks.fail("unexpected reader error \(error)")
      }
      try checks.require(payload.count == Int(header.payloadBytes), "payload of \(payload.count) for header \(header.payloadBytes)")
      try checks.require(DERPConstants.frameHeaderBytes + payload.count <= capacity, "frame larger than the buffer")
      consumed += DERPConstants.frameHeaderBytes + payload.count
      try checks.require(consumed <= transport.delivered, "consumed \(consumed) of \(transport.delivered) bytes read")
      let frame: ReceivedFrame
      do throws(DERPClientError) {
        frame = try ReceivedFrame.decode(header: header, payload: payload, keys: meshKeys, serverKey: meshKeys.publicKey)
      } catch {
        continue  // malformed known frame: the link reports it; reading on is the test's choice
      }
      switch frame {
      case .peerPresent(_, let address, let flags):
        try checks.require(address == nil || payload.count >= DERPConstants.keyBytes + 18, "address from a short PeerPresent")
        try checks.require(flags == nil || payload.count >= DERPConstants.peerPresentPayloadBytes, "flags from a short PeerPresent")
      case .peerGone:
        try checks.require(payload.count >= DERPConstants.keyBytes, "PeerGone shorter than a key")
      case .recvPacket(_, let packet):
        try checks.require(packet.count == payload.count - DERPConstants.keyBytes, "RecvPacket packet length")
      default:
        break
      }
    }
    try checks.require(consumed + reader.bufferedBytes == data.count,
                       "consumed \(consumed) + buffered \(reader.bufferedBytes) != \(data.count) bytes sent")
  }
}
