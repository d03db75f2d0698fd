import HDProtocol
import XCTest
@testable import hd_bench

final class StreamCounterTests: XCTestCase {
  /// Frames: RecvPacket(10 B), KeepAlive, RecvPacket(0 B), PeerGone, RecvPacket(1400 B).
  func stream() -> [UInt8] {
    let key = DERPKeyPair.generate().publicKey
    var out: [UInt8] = []
    for (type, size) in [(FrameType.recvPacket, 10), (.keepAlive, 0), (.recvPacket, 0), (.peerGone, 33), (.recvPacket, 1400)] {
      var frame = [UInt8](repeating: 0xab, count: 5 + (type == .recvPacket ? 32 + size : size))
      frame.withUnsafeMutableBytes { p in
        FrameHeader.encode(type: type, payloadBytes: p.count - 5, to: p.baseAddress!)
        if type == .recvPacket { key.store(to: p.baseAddress! + 5) }
      }
      out += frame
    }
    return out
  }

  func testCountsInOneBufferAndByteByByte() {
    let bytes = stream()
    for chunk in [bytes.count, 1, 2, 3, 7, 64] {
      var counter = StreamCounter()
      var offset = 0
      while offset < bytes.count {
        let n = min(chunk, bytes.count - offset)
        bytes.withUnsafeBytes { counter.consume($0.baseAddress! + offset, n) }
        offset += n
      }
      XCTAssertEqual(counter.packets, 3, "chunk \(chunk)")
      XCTAssertEqual(counter.packetBytes, 1410, "chunk \(chunk)")
      XCTAssertEqual(counter.otherFrames, 2, "chunk \(chunk)")
      XCTAssertFalse(counter.corrupt)
    }
  }

  func testPartialFrameIsNotCounted() {
    let bytes = stream()
    var counter = StreamCounter()
    bytes.withUnsafeBytes { counter.consume($0.baseAddress!, bytes.count - 1) }
    XCTAssertEqual(counter.packets, 2, "the last packet lacks one byte")
  }

  func testOversizedHeaderMarksCorrupt() {
    var counter = StreamCounter()
    let bad: [UInt8] = [0x05, 0x7f, 0, 0, 0]
    bad.withUnsafeBytes { counter.consume($0.baseAddress!, 5) }
    XCTAssertTrue(counter.corrupt)
  }

  func testFrameBatchWritesWholeFramesFromAnyOffset() {
    let batch = FrameBatch(destination: DERPKeyPair.generate().publicKey, messageBytes: 100, frames: 4)
    defer { batch.free() }
    XCTAssertEqual(batch.frameBytes, 137)
    // 1.5 frames written, 3 allowed: the next write finishes frame 2 and writes frame 3.
    let (p, n) = batch.nextWrite(bytesWritten: 137 + 60, framesAllowed: 3)
    XCTAssertEqual(n, 3 * 137 - 197)
    XCTAssertEqual(p, UnsafeRawPointer(batch.buffer + 60))
    XCTAssertEqual(batch.nextWrite(bytesWritten: 411, framesAllowed: 3).1, 0)
    // Never past the end of the buffer.
    XCTAssertEqual(batch.nextWrite(bytesWritten: 137 * 10 + 5, framesAllowed: 100).1, 4 * 137 - 5)
  }

  func testJSONNumberFormatting() {
    XCTAssertEqual(JSONOut.format(0.87064, decimals: 4), "0.8706")
    XCTAssertEqual(JSONOut.format(1741.25, decimals: 1), "1741.3")
    XCTAssertEqual(JSONOut.format(-0.05, decimals: 1), "-0.1")
    XCTAssertEqual(JSONOut.format(3, decimals: 0), "3")
    XCTAssertEqual(JSONOut.format(.nan, decimals: 2), "null")
  }

  func testArgumentsRejectUnknownAndBadValues() {
    XCTAssertThrowsError(try ThroughputCommand.parse(["--nope"]))
    XCTAssertThrowsError(try ThroughputCommand.parse(["--pairs", "x"]))
    XCTAssertThrowsError(try ThroughputCommand.parse(["--pairs", "5", "--peers", "6"]))
    XCTAssertThrowsError(try ThroughputCommand.parse(["--port"]))
    let (c, count, json, _) = try! ThroughputCommand.parse(["--pairs=3", "--msg-size", "64", "--count", "7", "--json"])
    XCTAssertEqual(c.pairs, 3)
    XCTAssertEqual(c.peers, 20)
    XCTAssertEqual(c.messageBytes, 64)
    XCTAssertEqual(count, 7)
    XCTAssertTrue(json)
  }
}

final class RunStatisticsTests: XCTestCase {
  func testMeanSDAndStudentInterval() {
    let s = RunStatistics([10, 12, 14])
    XCTAssertEqual(s.mean, 12, accuracy: 1e-9)
    XCTAssertEqual(s.standardDeviation, 2, accuracy: 1e-9)
    // t(0.975, 2) = 4.303; 4.303 × 2 / √3 = 4.9687
    XCTAssertEqual(s.confidence95, 4.9687, accuracy: 1e-3)
    XCTAssertEqual(s.coefficientOfVariationPercent, 16.667, accuracy: 1e-2)
    XCTAssertEqual(RunStatistics([5]).confidence95, 0)
    XCTAssertEqual(RunStatistics.tCritical95(degreesOfFreedom: 100), 1.96)
  }
}
