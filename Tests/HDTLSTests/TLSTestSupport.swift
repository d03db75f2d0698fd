// Shared fixtures for the TLS tests: a throw-away certificate made with the
// openssl tool, a socket pair, a blocking client on its own thread and a
// loop that drives a server session the way the relay's worker does.
import Foundation
import HDProtocol
import XCTest

@testable import HDTLS

enum TLSFixtures {
  /// A directory with `cert.pem` + `key.pem` (ECDSA P-256, self-signed) and
  /// `other-key.pem` (a key that does not match), made once per process.
  static let directory: String = {
    let dir = NSTemporaryDirectory() + "hdtls-tests-\(getpid())"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
         "-subj", "/CN=localhost", "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem"])
    run(["genpkey", "-algorithm", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", dir + "/other-key.pem"])
    return dir
  }()

  /// Blocking TLS clients write with OpenSSL's socket BIO, which cannot pass
  /// MSG_NOSIGNAL: a peer that closed first would kill the test process.
  static let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

  static var certPath: String { directory + "/cert.pem" }
  static var keyPath: String { directory + "/key.pem" }

  static let serverKey = DERPKey(hex: String(repeating: "ab", count: 16) + String(repeating: "cd", count: 16))!

  static func context() throws -> TLSServerContext {
    _ = ignoreSIGPIPE
    return try TLSServerContext(certificatePath: certPath, keyPath: keyPath, serverKey: serverKey)
  }

  /// Another self-signed pair (CN=reloaded) for the reload test.
  static func secondCertificate() throws -> (cert: String, key: String) {
    let cert = directory + "/second-cert.pem"
    let key = directory + "/second-key.pem"
    if !FileManager.default.fileExists(atPath: cert) {
      run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
           "-subj", "/CN=reloaded", "-keyout", key, "-out", cert])
    }
    return (cert, key)
  }

  /// posix_spawn, not Foundation's Process: a Process keeps itself alive after
  /// waitUntilExit, which LeakSanitizer reports in every ASan run of these suites.
  private static func run(_ arguments: [String]) {
    let argv: [UnsafeMutablePointer<CChar>?] = (["openssl"] + arguments).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var pid: pid_t = 0
    guard posix_spawn(&pid, "/usr/bin/openssl", &actions, nil, argv, environ) == 0 else { return }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
  }
}

/// A connected AF_UNIX stream pair: [0] server side, [1] client side.
func makeSocketPair() -> (server: Int32, client: Int32) {
  var fds: [Int32] = [0, 0]
  precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
  return (fds[0], fds[1])
}

/// Sets SO_RCVTIMEO so a broken test fails instead of hanging.
func setReceiveTimeout(_ fd: Int32, seconds: Int) {
  var tv = timeval(tv_sec: seconds, tv_usec: 0)
  _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
}

func sendAll(_ fd: Int32, _ bytes: [UInt8]) {
  var offset = 0
  while offset < bytes.count {
    let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
    if n <= 0 { return }
    offset += n
  }
}

/// Reads exactly `count` bytes (or fewer at EOF/timeout).
func receiveExactly(_ fd: Int32, _ count: Int) -> [UInt8] {
  var out = [UInt8](repeating: 0, count: count)
  var got = 0
  while got < count {
    let n = out.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, count - got, 0) }
    if n <= 0 { break }
    got += n
  }
  return Array(out.prefix(got))
}

/// Reads one whole TLS record (header + body) straight off the socket.
func receiveRecord(_ fd: Int32) -> [UInt8] {
  let header = receiveExactly(fd, 5)
  guard header.count == 5 else { return header }
  let length = Int(header[3]) << 8 | Int(header[4])
  return header + receiveExactly(fd, length)
}

/// Runs `body` on its own thread; `wait()` returns its result (or error text).
final class ClientThread<Result: Sendable>: @unchecked Sendable {
  private let done = DispatchSemaphore(value: 0)
  private var result: Swift.Result<Result, Error>?

  init(_ body: @escaping @Sendable () throws -> Result) {
    Thread.detachNewThread { [self] in
      do { result = .success(try body()) } catch { result = .failure(error) }
      done.signal()
    }
  }

  func wait(seconds: Double = 20) throws -> Result {
    guard done.wait(timeout: .now() + seconds) == .success else { throw TestTimeout() }
    return try result!.get()
  }

  struct TestTimeout: Error {}
}

/// Drives a server session over a blocking socket like the relay's worker
/// does over io_uring: recv → feed → step → send output.
final class ServerDriver {
  let fd: Int32
  let session: TLSServerSession
  /// Plaintext decrypted but not yet returned by `readPlaintext`.
  private var carry: [UInt8] = []
  /// Lend received ciphertext (`TLSServerSession.lend`) instead of feeding
  /// a copy, as the relay does; taken back before the next receive reuses it.
  var lendInput = false
  private let receiveBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 16)

  init(fd: Int32, session: TLSServerSession) {
    self.fd = fd
    self.session = session
  }

  deinit {
    session.free()
    receiveBuffer.deallocate()
  }

  /// Sends whatever the session has queued.
  func flush() {
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while session.pendingOutputBytes > 0 {
      let n = buffer.withUnsafeMutableBytes { session.takeOutput(into: $0) }
      sendAll(fd, Array(buffer.prefix(n)))
    }
  }

  /// Receives at most `limit` bytes and feeds them; false at EOF.
  @discardableResult
  func receiveAndFeed(limit: Int = 65_536) -> Bool {
    if lendInput {
      // Whatever the session left of the previous loan must be copied out now.
      guard session.takeBackLentInput() else { return false }
      let n = recv(fd, receiveBuffer.baseAddress, min(max(1, limit), receiveBuffer.count), 0)
      guard n > 0 else { return false }
      session.lend(UnsafeRawBufferPointer(rebasing: receiveBuffer[0..<n]))
      return true
    }
    var buffer = [UInt8](repeating: 0, count: max(1, limit))
    let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
    guard n > 0 else { return false }
    _ = buffer.withUnsafeBytes { session.feed(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
    return true
  }

  /// Runs the handshake with record-exact reads (as the relay does, so no
  /// application data is read before the switch to kernel TLS).
  func handshake() -> TLSHandshakeStep {
    while true {
      let step = session.handshake()
      flush()
      guard step == .needMore else { return step }
      if !receiveAndFeed(limit: session.bytesToRecordBoundary) { return .failed(.peerClosed) }
    }
  }

  /// Reads plaintext until `count` bytes arrived or the stream ends/fails.
  func readPlaintext(_ count: Int) -> (bytes: [UInt8], end: TLSReadResult?) {
    var out = carry
    defer {
      carry = Array(out.dropFirst(count))
    }
    var buffer = [UInt8](repeating: 0, count: 17_000)
    while out.count < count {
      let result = buffer.withUnsafeMutableBytes { session.read(into: $0) }
      switch result {
      case .data(let n):
        out += buffer.prefix(n)
        if lendInput {
          // Take the loan back after every record and wreck the receive
          // buffer: records still unread must come from the session's copy.
          guard session.takeBackLentInput() else { return (out, .failed(.internalError)) }
          receiveBuffer.initializeMemory(as: UInt8.self, repeating: 0xEE)
        }
      case .needMore:
        flush()
        if !receiveAndFeed() { return (out, .failed(.peerClosed)) }
      default:
        flush()
        return (out, result)
      }
    }
    return (Array(out.prefix(count)), nil)
  }

  /// The next non-data outcome (closed/failed), skipping plaintext.
  func readUntilEnd() -> TLSReadResult {
    var buffer = [UInt8](repeating: 0, count: 17_000)
    while true {
      let result = buffer.withUnsafeMutableBytes { session.read(into: $0) }
      switch result {
      case .data: continue
      case .needMore:
        if !receiveAndFeed() { return .failed(.peerClosed) }
      default:
        return result
      }
    }
  }
}

/// Deterministic test payload of `count` bytes.
func pattern(_ count: Int, seed: UInt8 = 7) -> [UInt8] {
  (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
}

/// A real ClientHello record, captured from OpenSSL's client.
func capturedClientHello() throws -> [UInt8] {
  let (serverFD, clientFD) = makeSocketPair()
  setReceiveTimeout(serverFD, seconds: 10)
  setReceiveTimeout(clientFD, seconds: 10)
  let client = ClientThread<Bool> {
    _ = try? TLSClientStream(fileDescriptor: clientFD)  // fails once we close: fine
    return true
  }
  let record = receiveRecord(serverFD)
  close(serverFD)
  _ = try client.wait()
  return record
}
