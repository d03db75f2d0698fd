// Many concurrent DERP handshakes on one io_uring: non-blocking connect,
// upgrade request, then ClientHandshake (the same state machine the blocking
// client uses) fed from recv completions. No thread per connection.
@preconcurrency import Glibc
import HDClient
import HDProtocol

final class HandshakeEngine {
  enum State { case idle, connecting, handshaking, registered, failed }

  struct Connection {
    var fd: Int32 = -1
    var state = State.idle
    var machine: ClientHandshake
    var startedNanoseconds: Int64 = 0
    var finishedNanoseconds: Int64 = 0
    /// Bytes queued for sending (request, then ClientInfo) and how far along.
    var outgoing: [UInt8] = []
    var outgoingSent = 0
    var sendInFlight = false
    /// Bytes produced while a send was in flight (its buffer must not move).
    var queued: [UInt8] = []
  }

  let address: TCPConnector.Address
  let concurrency: Int
  let timeoutSeconds: Double
  var connections: [Connection]
  let ring: Ring
  /// One receive buffer per concurrent slot would do; per connection keeps it simple.
  let receiveBufferBytes = 4096
  let receiveBuffers: UnsafeMutableRawPointer
  var addressStorage: sockaddr_storage
  var firstError: String?
  var failed = 0
  var registered = 0

  init(host: String, port: UInt16, count: Int, concurrency: Int, timeoutSeconds: Double) throws(BenchError) {
    let addresses: [TCPConnector.Address]
    do throws(DERPClientError) { addresses = try TCPConnector.resolve(host: host, port: port) } catch { throw .client(error) }
    guard let first = addresses.first else { throw .failed("no address for \(host)") }
    address = first
    addressStorage = first.storage
    self.concurrency = max(1, min(concurrency, count))
    self.timeoutSeconds = timeoutSeconds
    let hostHeader = DERPClient.hostHeader(host: host, port: port)
    var options = ClientHandshakeOptions(hostHeader: hostHeader)
    options.clientInfo = ClientInfo(appName: "hd-bench")
    connections = (0..<count).map { _ in Connection(machine: ClientHandshake(keys: .generate(), options: options)) }
    ring = try Ring(entries: UInt32(min(4096, max(64, (2 * self.concurrency).nextPowerOfTwo))))
    receiveBuffers = UnsafeMutableRawPointer.allocate(byteCount: count * receiveBufferBytes, alignment: 64)
  }

  deinit {
    ring.close()
    receiveBuffers.deallocate()
  }

  static func data(_ index: Int, _ op: UInt64) -> UInt64 { UInt64(index) << 2 | op }
  static let opConnect: UInt64 = 0
  static let opSend: UInt64 = 1
  static let opRecv: UInt64 = 2

  /// Runs until every connection registered or failed. Returns elapsed seconds.
  func run() -> Double {
    let t0 = MonoClock.nanoseconds()
    let deadline = t0 + Int64(timeoutSeconds * 1e9)
    var next = 0
    var active = 0
    while registered + failed < connections.count {
      while active < concurrency && next < connections.count {
        start(next, now: MonoClock.nanoseconds())
        next += 1
        active += 1
      }
      if MonoClock.nanoseconds() > deadline {
        for i in connections.indices where connections[i].state == .connecting || connections[i].state == .handshaking || connections[i].state == .idle {
          fail(i, "timed out")
        }
        break
      }
      ring.submitAndDrain(timeoutNanoseconds: 10_000_000) { userData, result, _ in
        let index = Int(userData >> 2)
        let before = connections[index].state
        switch userData & 3 {
        case Self.opConnect: completeConnect(index, result)
        case Self.opSend: completeSend(index, result)
        default: completeRecv(index, result)
        }
        let after = connections[index].state
        if before != after && (after == .registered || after == .failed) { active -= 1 }
      }
    }
    return Double(MonoClock.nanoseconds() - t0) / 1e9
  }

  func start(_ i: Int, now: Int64) {
    let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return fail(i, "socket: errno \(errno)") }
    var one: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(4))
    connections[i].fd = fd
    connections[i].startedNanoseconds = now
    connections[i].state = .connecting
    withUnsafePointer(to: &addressStorage) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
        ring.prepConnect(fd: fd, address: sa, length: address.length, userData: Self.data(i, Self.opConnect))
      }
    }
  }

  func fail(_ i: Int, _ why: String) {
    guard connections[i].state != .failed && connections[i].state != .registered else { return }
    connections[i].state = .failed
    failed += 1
    if firstError == nil { firstError = why }
  }

  func completeConnect(_ i: Int, _ result: Int32) {
    guard connections[i].state == .connecting else { return }
    guard result == 0 else { return fail(i, "connect: \(String(cString: strerror(-result)))") }
    connections[i].state = .handshaking
    queueSend(i, connections[i].machine.start())
    postRecv(i)
  }

  func queueSend(_ i: Int, _ bytes: [UInt8]) {
    if connections[i].sendInFlight {
      connections[i].queued += bytes
      return
    }
    connections[i].outgoing.removeFirst(connections[i].outgoingSent)
    connections[i].outgoingSent = 0
    connections[i].outgoing += bytes
    postSendIfIdle(i)
  }

  func postSendIfIdle(_ i: Int) {
    guard !connections[i].sendInFlight, connections[i].outgoingSent < connections[i].outgoing.count else { return }
    connections[i].sendInFlight = true
    // The array is not mutated while its send is in flight (queueSend parks
    // new bytes in `queued`), so its storage stays where the kernel reads it.
    connections[i].outgoing.withUnsafeBytes { p in
      ring.prepSend(fd: connections[i].fd, buffer: p.baseAddress! + connections[i].outgoingSent,
                    bytes: p.count - connections[i].outgoingSent, userData: Self.data(i, Self.opSend))
    }
  }

  func completeSend(_ i: Int, _ result: Int32) {
    connections[i].sendInFlight = false
    guard connections[i].state == .handshaking || connections[i].state == .registered else { return }
    guard result > 0 else { return fail(i, "send: \(String(cString: strerror(-result)))") }
    connections[i].outgoingSent += Int(result)
    if connections[i].outgoingSent == connections[i].outgoing.count && !connections[i].queued.isEmpty {
      connections[i].outgoing = connections[i].queued
      connections[i].queued = []
      connections[i].outgoingSent = 0
    }
    postSendIfIdle(i)
  }

  func postRecv(_ i: Int) {
    ring.prepRecv(fd: connections[i].fd, buffer: receiveBuffers + i * receiveBufferBytes, bytes: receiveBufferBytes,
                  userData: Self.data(i, Self.opRecv))
  }

  func completeRecv(_ i: Int, _ result: Int32) {
    guard connections[i].state == .handshaking else { return }
    guard result > 0 else { return fail(i, result == 0 ? "closed by the relay" : "recv: \(String(cString: strerror(-result)))") }
    var step = connections[i].machine.consume(UnsafeRawBufferPointer(start: receiveBuffers + i * receiveBufferBytes, count: Int(result)))
    while true {
      switch step {
      case .needMore:
        postRecv(i)
        return
      case .send(let bytes):
        // ClientInfo can only follow a fully written request (server spoke first).
        queueSend(i, bytes)
        step = connections[i].machine.consume([])
      case .registered:
        connections[i].state = .registered
        connections[i].finishedNanoseconds = MonoClock.nanoseconds()
        registered += 1
        return
      case .failed(let e):
        return fail(i, e.description)
      }
    }
  }

  /// Per-connection handshake seconds of the registered ones.
  var handshakeSeconds: [Double] {
    connections.filter { $0.state == .registered }.map { Double($0.finishedNanoseconds - $0.startedNanoseconds) / 1e9 }
  }

  func closeAll() {
    ring.close()
    for c in connections where c.fd >= 0 { _ = Glibc.close(c.fd) }
  }
}
