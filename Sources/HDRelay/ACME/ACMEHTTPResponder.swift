// acme.http_port (80 in production, as derper has it): answers HTTP-01
// challenges (RFC 8555 §8.3) from the pending-token table and redirects every
// other request to https on the same host. One thread, one connection at a
// time, each bounded by a short deadline and a small head limit: this port
// only ever sees a CA's validator and browsers being sent elsewhere.
@preconcurrency import Glibc
import CURing
import HDProtocol
import Synchronization

final class ACMEHTTPResponder: @unchecked Sendable {
  private let answers: ACMEChallengeAnswers
  private let redirectHost: String
  private let log: Logger
  private var listeners: [Int32] = []
  private var thread: pthread_t?
  private let stopFlag = Atomic<Bool>(false)

  static let challengePathPrefix = "/.well-known/acme-challenge/"
  /// A connection must send its whole request head within this.
  static let requestDeadlineNanoseconds: UInt64 = 2_000_000_000

  init(port: Int, bind: [String], answers: ACMEChallengeAnswers, redirectHost: String, log: Logger) throws(RelayError) {
    self.answers = answers
    self.redirectHost = redirectHost
    self.log = log
    let wildcard = bind.isEmpty
    let addresses = wildcard ? BindAddress.wildcards() : bind.compactMap { BindAddress($0) }
    for address in addresses {
      do {
        let (fd, _) = try Sockets.listen(on: address, port: port, dualStack: wildcard)
        listeners.append(fd)
        if wildcard { break }  // the dual-stack IPv6 wildcard also takes IPv4
      } catch {
        // The IPv6 wildcard fails where IPv6 is off; the IPv4 one follows.
        if wildcard && address.family == AF_INET6 { continue }
        listeners.forEach { close($0) }
        throw RelayError("acme.http_port: \(error.description)")
      }
    }
  }

  func start() throws(RelayError) {
    switch PlainThread.start(name: "hd-acme-http", { self.run() }) {
    case .success(let t): thread = t
    case .failure(let why):
      listeners.forEach { close($0) }
      throw RelayError.system("pthread_create for acme.http_port", errno: why.errno)
    }
  }

  func stop() {
    stopFlag.store(true, ordering: .sequentiallyConsistent)
    if let thread { pthread_join(thread, nil) }
    thread = nil
    listeners.forEach { close($0) }
    listeners = []
  }

  private func run() {
    var polls = listeners.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    while !stopFlag.load(ordering: .relaxed) {
      let n = poll(&polls, nfds_t(polls.count), 100)
      guard n > 0 else { continue }
      for index in polls.indices where polls[index].revents != 0 {
        let fd = accept(polls[index].fd, nil, nil)
        if fd >= 0 {
          _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
          _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
          serve(fd)
          close(fd)
        }
      }
    }
  }

  private func serve(_ fd: Int32) {
    let deadline = monotonicNanoseconds() + Self.requestDeadlineNanoseconds
    var received: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 2048)
    var parser = HTTPRequestParser()
    while true {
      switch parser.parse(received) {
      case .request(let request):
        return respond(fd, request)
      case .failed:
        return send(fd, status: "400 Bad Request", headers: [], body: "bad request\n")
      case .needMore:
        break
      }
      let now = monotonicNanoseconds()
      guard now < deadline else { return }
      var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      guard poll(&p, 1, Int32((deadline - now) / 1_000_000) + 1) > 0 else { return }
      let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if n <= 0 {
        if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
        return
      }
      received += chunk[0..<n]
    }
  }

  private func respond(_ fd: Int32, _ request: HTTPRequest) {
    if request.path.hasPrefix(Self.challengePathPrefix) {
      let token = String(request.path.dropFirst(Self.challengePathPrefix.count))
      guard request.method == "GET" || request.method == "HEAD", let answer = answers.httpAnswer(token: token) else {
        return send(fd, status: "404 Not Found", headers: [], body: "no such challenge\n")
      }
      answers.httpAnswered.add(1, ordering: .relaxed)
      log.debug("ACME: answered http-01 token \(token)")
      return send(fd, status: "200 OK", headers: [("Content-Type", "application/octet-stream")], body: answer)
    }
    // Everything else belongs on https (derper's port-80 behaviour).
    var host = request.header("Host") ?? redirectHost
    if host.hasPrefix("[") {
      host = String(host.prefix { $0 != "]" }) + "]"
    } else if let colon = host.firstIndex(of: ":") {
      host = String(host[..<colon])
    }
    if host.isEmpty || host.contains(where: { $0 == "\r" || $0 == "\n" || $0 == " " }) { host = redirectHost }
    let target = request.target.hasPrefix("/") ? request.target : "/"
    send(fd, status: "302 Found", headers: [("Location", "https://\(host)\(target)")], body: "")
  }

  private func send(_ fd: Int32, status: String, headers: [(String, String)], body: String) {
    var text = "HTTP/1.1 \(status)\r\n"
    for (name, value) in headers { text += "\(name): \(value)\r\n" }
    text += "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body
    let bytes = Array(text.utf8)
    var offset = 0
    let deadline = monotonicNanoseconds() + Self.requestDeadlineNanoseconds
    while offset < bytes.count && monotonicNanoseconds() < deadline {
      let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
      if n > 0 {
        offset += n
      } else if n < 0 && (errno == EAGAIN || errno == EINTR) {
        var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        _ = poll(&p, 1, 100)
      } else {
        return
      }
    }
  }
}
