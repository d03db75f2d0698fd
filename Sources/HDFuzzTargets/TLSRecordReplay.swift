// The server half of tls-record-layer: the client's byte stream cut into
// receives and framed the way Worker+TLSRecords does it (5-byte header
// through bodyLength, a record cut by the end of a receive carried in a
// block until whole, records opened in place, the connection closed at the
// first failure), each record's outcome checked against what was sealed.
// Data is sent back and requested KeyUpdates answered through the server's
// transmit side, and the client's receive side must read all of it.
import Glibc
import HDTLS

final class TLSRecordReplay {
  private let server: UnsafeMutablePointer<TLSRecordLayer>
  private let client: UnsafeMutablePointer<TLSRecordLayer>
  private let stream: RecordStream
  private let checks: Checks
  private let segmentAt: [Int: Int]
  /// The worker's carry block: room for the longest record, no more.
  private let carry: UnsafeMutableRawPointer
  private let carryCapacity = TLSRecordLayer.headerBytes + TLSRecordLayer.maxRecordBodyBytes
  private var carryBytes = 0
  private var carryStart = 0
  /// Generation of the server's receive key (KeyUpdates it followed).
  private var receiveGeneration = 0
  private var echo: UnsafeMutableRawPointer
  private let echoCapacity = TLSRecordLayer.maxPlaintextBytes + 256
  private(set) var closed = false
  private(set) var recordsOpened = 0

  init(server: UnsafeMutablePointer<TLSRecordLayer>, client: UnsafeMutablePointer<TLSRecordLayer>, stream: RecordStream,
       checks: Checks) {
    self.server = server
    self.client = client
    self.stream = stream
    self.checks = checks
    var starts: [Int: Int] = [:]
    for (i, segment) in stream.segments.enumerated() where segment.length > 0 && starts[segment.start] == nil { starts[segment.start] = i }
    segmentAt = starts
    carry = .allocate(byteCount: carryCapacity, alignment: 16)
    echo = .allocate(byteCount: echoCapacity, alignment: 16)
  }

  deinit {
    carry.deallocate()
    echo.deallocate()
  }

  /// Bytes held for a record not yet whole.
  var carriedBytes: Int { carryBytes }

  /// One receive of `count` bytes that start at `streamOffset`, in a buffer of exactly that size.
  func receive(_ bytes: UnsafeMutableRawPointer, _ count: Int, streamOffset: Int) throws(FuzzFailure) {
    guard !closed else { return }
    var p = bytes
    var left = count
    if carryBytes > 0 {
      let taken = try continueCarry(p, left)
      guard !closed else { return }
      p += taken
      left -= taken
      if carryBytes > 0 { return }
    }
    let header = TLSRecordLayer.headerBytes
    while left >= header {
      let at = streamOffset + (p - bytes)
      guard let body = try bodyLength(p, at: at) else { return }
      let length = header + body
      if left < length { break }
      try open(p, length, at: at)
      guard !closed else { return }
      p += length
      left -= length
    }
    if left > 0 {
      try checks.require(left <= carryCapacity, "carrying \(left) bytes, more than a record")
      carry.copyMemory(from: p, byteCount: left)
      carryBytes = left
      carryStart = streamOffset + (p - bytes)
    }
  }

  private func continueCarry(_ p: UnsafeMutableRawPointer, _ left: Int) throws(FuzzFailure) -> Int {
    let header = TLSRecordLayer.headerBytes
    var taken = 0
    if carryBytes < header {
      let n = min(header - carryBytes, left)
      (carry + carryBytes).copyMemory(from: p, byteCount: n)
      carryBytes += n
      taken += n
      if carryBytes < header { return taken }
    }
    guard let body = try bodyLength(carry, at: carryStart) else { return taken }
    let length = header + body
    let n = min(length - carryBytes, left - taken)
    (carry + carryBytes).copyMemory(from: p + taken, byteCount: n)
    carryBytes += n
    taken += n
    guard carryBytes == length else { return taken }
    carryBytes = 0
    try open(carry, length, at: carryStart)
    return taken
  }

  /// bodyLength, checked against its definition; nil closes the connection,
  /// which must be what the record at `at` calls for.
  private func bodyLength(_ header: UnsafeMutableRawPointer, at: Int) throws(FuzzFailure) -> Int? {
    let h = UnsafeRawBufferPointer(start: header, count: TLSRecordLayer.headerBytes)
    let announced = Int(h[3]) << 8 | Int(h[4])
    let valid = (20...24).contains(h[0]) && h[1] == 3 && announced <= TLSRecordLayer.maxRecordBodyBytes
    let body = TLSRecordLayer.bodyLength(header: header)
    try checks.require(body == (valid ? announced : nil),
                       "bodyLength(\(Array(h))) = \(String(describing: body)) at stream offset \(at)")
    if body == nil {
      if let sealed = untampered(at: at) {
        try checks.require(sealed.expectation == .headerRejected, "refused the header of a sealed record at \(at) (\(sealed.expectation))")
      }
      closed = true
    }
    return body
  }

  /// An untampered sealed record starting at `at`.
  private func untampered(at: Int) -> SealedRecord? {
    guard let i = segmentAt[at] else { return nil }
    return stream.segments[i].untampered
  }

  /// Opens one whole record in place and checks what it held.
  private func open(_ record: UnsafeMutableRawPointer, _ length: Int, at: Int) throws(FuzzFailure) {
    let content = server.pointee.open(record, length: length)
    recordsOpened += 1
    if case .data(let offset, let count) = content {
      try checks.require(offset >= TLSRecordLayer.headerBytes && count >= 0 && offset + count <= length,
                         "data at \(offset)+\(count) outside a \(length)-byte record")
    }
    var expected: RecordExpectation = .opens(.failed(.badRecordMAC), payload: [])
    if let i = segmentAt[at], stream.segments[i].length == length, let sealed = stream.segments[i].untampered {
      expected = sealed.keyGeneration == receiveGeneration ? sealed.expectation : .opens(.failed(.badRecordMAC), payload: [])
    } else {
      // Garbage, a flipped byte or a record framed across others: never anything but a failure.
      guard case .failed = content else {
        throw checks.fail("record at \(at) (\(length) bytes) that no layer sealed opened as \(content)")
      }
      closed = true
      return
    }
    guard case .opens(let want, let payload) = expected else {
      throw checks.fail("header of record at \(at) should have been refused, opened as \(content)")
    }
    try checks.require(content == want, "record at \(at) (\(length) bytes) opened as \(content), sealed as \(want)")
    switch content {
    case .data(let offset, let count):
      let got = UnsafeRawBufferPointer(start: record + offset, count: count)
      try checks.require(payload.withUnsafeBytes { sameBytes(got, $0) }, "record at \(at): plaintext differs from what was sealed")
      try sendBack(got)
    case .keyUpdate(let requested):
      receiveGeneration += 1
      if requested { try answerKeyUpdate() }
    case .closeNotify, .alert, .failed:
      closed = true
    }
  }

  /// The worker's answer to a requested update (and its key moving on after
  /// 2^24 records): a KeyUpdate(update_not_requested) under the old key,
  /// which the client must follow.
  private func answerKeyUpdate() throws(FuzzFailure) {
    let n = server.pointee.sealKeyUpdate(at: echo)
    try checks.require(n > 0 && n <= echoCapacity, "sealKeyUpdate gave \(n) bytes")
    let content = client.pointee.open(echo, length: n)
    try checks.require(content == .keyUpdate(requested: false), "client opened the server's KeyUpdate as \(content)")
  }

  /// Relays `plaintext` back the way frames leave: sealed in two pieces into
  /// one record, which the client must open to the same bytes.
  private func sendBack(_ plaintext: UnsafeRawBufferPointer) throws(FuzzFailure) {
    if server.pointee.transmitKeyWornOut { try answerKeyUpdate() }
    let count = plaintext.count
    guard count > 0, let source = plaintext.baseAddress else { return }
    try checks.require(count + server.pointee.overheadBytes <= echoCapacity, "\(count) bytes of plaintext in one record")
    var used = server.pointee.beginRecord(at: echo, plaintextBytes: count)
    let half = count / 2
    if half > 0 { server.pointee.seal(to: echo + used, from: source, count: half) }
    server.pointee.seal(to: echo + used + half, from: source + half, count: count - half)
    used += count
    used += server.pointee.finishRecord(at: echo + used)
    try checks.require(used == count + server.pointee.overheadBytes, "sealed \(used) bytes for \(count) of plaintext")
    let header = UnsafeRawBufferPointer(start: echo, count: TLSRecordLayer.headerBytes)
    try checks.require(TLSRecordLayer.bodyLength(header: echo) == used - TLSRecordLayer.headerBytes,
                       "the server's own record header \(Array(header)) does not frame it")
    let content = client.pointee.open(echo, length: used)
    guard case .data(let offset, let n) = content, n == count,
      sameBytes(UnsafeRawBufferPointer(start: echo + offset, count: n), UnsafeRawBufferPointer(start: source, count: count))
    else { throw checks.fail("client opened \(count) relayed bytes as \(content)") }
  }
}

/// Byte equality through memcmp: one call libFuzzer hooks, instead of a
/// per-byte loop whose every compare is instrumented (it was the target's
/// top symbol).
private func sameBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
  guard a.count == b.count else { return false }
  guard let left = a.baseAddress, let right = b.baseAddress else { return true }
  return memcmp(left, right, a.count) == 0
}
