// The responder thread: poll(2) on the UDP sockets and a wake-up eventfd,
// drain each readable socket with recvmmsg, answer valid Binding Requests in
// one sendmmsg. No allocation, locking or logging per datagram.
@preconcurrency import Glibc
import CSys
import CURing
import Synchronization

final class STUNLoop: @unchecked Sendable {
  /// recvmmsg batches taken from one socket before the others get a turn.
  static let batchesPerTurn = 4

  let socketFDs: [Int32]
  let wakeFD: Int32
  let stats: STUNStats
  /// Set by the thread as its last action; stop() waits for it with a deadline.
  let exited = Atomic<Bool>(false)
  private let slots = STUNSlots()
  private let pollFDs: UnsafeMutablePointer<pollfd>

  init(socketFDs: [Int32], wakeFD: Int32, stats: STUNStats) {
    self.socketFDs = socketFDs
    self.wakeFD = wakeFD
    self.stats = stats
    pollFDs = .allocate(capacity: socketFDs.count + 1)
    for (i, fd) in (socketFDs + [wakeFD]).enumerated() {
      (pollFDs + i).initialize(to: pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
    }
  }

  deinit {
    pollFDs.deallocate()
    slots.deallocate()
  }

  func run() {
    defer { exited.store(true, ordering: .releasing) }
    let count = socketFDs.count
    while true {
      let ready = poll(pollFDs, nfds_t(count + 1), -1)
      if ready < 0 {
        if errno == EINTR { continue }
        return
      }
      if pollFDs[count].revents != 0 { return }  // stop() wrote the eventfd
      for i in 0..<count where pollFDs[i].revents != 0 {
        drain(pollFDs[i].fd)
      }
    }
  }

  private func drain(_ fd: Int32) {
    for _ in 0..<Self.batchesPerTurn {
      let received = csys_recv_datagrams(fd, slots.requests, Int32(STUNSlots.batchCount))
      if received < 0 {
        stats.add(.receiveErrors)
        return
      }
      if received == 0 { return }
      let answerCount = answerBatch(Int(received))
      send(fd, answerCount)
      if received < STUNSlots.batchCount { return }
    }
  }

  /// Validates each received datagram and writes the answers; returns how many.
  private func answerBatch(_ received: Int) -> Int {
    var answerCount = 0
    for i in 0..<received {
      let request = slots.requests + i
      let length = Int(request.pointee.length)
      if request.pointee.truncated != 0 || length > Int(request.pointee.capacity) {
        stats.addDrop(.tooLong)
        continue
      }
      let data = UnsafeRawPointer(request.pointee.data!)
      if let reason = STUNRequestParser.dropReason(data, count: length) {
        stats.addDrop(reason)
        continue
      }
      let answer = slots.answers + answerCount
      let written = withUnsafeBytes(of: &request.pointee.peer) { peer -> Int in
        guard let source = Self.source(peer) else { return 0 }
        stats.add(source.family == STUNWire.familyIPv4 ? .requestsIPv4 : .requestsIPv6)
        return STUNResponseWriter.write(to: answer.pointee.data!, request: data, source: source)
      }
      guard written > 0 else { continue }
      answer.pointee.length = UInt32(written)
      answer.pointee.peer = request.pointee.peer
      answer.pointee.peer_length = request.pointee.peer_length
      answerCount += 1
    }
    return answerCount
  }

  private func send(_ fd: Int32, _ answerCount: Int) {
    var sent = 0
    while sent < answerCount {
      let n = Int(csys_send_datagrams(fd, slots.answers + sent, Int32(answerCount - sent)))
      if n > 0 {
        stats.add(.responses, UInt64(n))
        sent += n
      } else if n == -Int(EAGAIN) || n == 0 {
        // Socket buffer full: the clients retry, we do not wait.
        stats.add(.sendFailures, UInt64(answerCount - sent))
        return
      } else {
        // This destination failed (e.g. unreachable); skip it, keep the rest.
        stats.add(.sendFailures)
        sent += 1
      }
    }
  }

  /// The client's address from the kernel's sockaddr; IPv4-mapped IPv6
  /// counts and answers as IPv4 (what a dual-stack client expects back).
  static func source(_ peer: UnsafeRawBufferPointer) -> STUNSource? {
    let base = peer.baseAddress!
    let family = Int32(peer.load(as: sa_family_t.self))
    let port = UInt16(bigEndian: peer.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
    if family == AF_INET {
      return STUNSource(family: STUNWire.familyIPv4, port: port, address: base + 4)
    }
    guard family == AF_INET6 else { return nil }
    let address = base + 8
    var mapped = true
    for i in 0..<10 where address.load(fromByteOffset: i, as: UInt8.self) != 0 { mapped = false }
    if mapped && address.load(fromByteOffset: 10, as: UInt8.self) == 0xFF
      && address.load(fromByteOffset: 11, as: UInt8.self) == 0xFF
    {
      return STUNSource(family: STUNWire.familyIPv4, port: port, address: address + 12)
    }
    return STUNSource(family: STUNWire.familyIPv6, port: port, address: address)
  }
}
