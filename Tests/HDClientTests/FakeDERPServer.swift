// A one-connection DERP server for client tests, built from HDProtocol's
// server-side helpers on a real loopback socket and its own thread. Each test
// scripts what the server does after (or instead of) the handshake.
import Glibc
import HDProtocol
@testable import HDClient

final class ServerConnection: @unchecked Sendable {
  let fd: Int32
  var buffered: [UInt8] = []
  var request: HTTPRequest?
  var clientKey: DERPKey?
  var clientInfo: ClientInfo?
  let keys: DERPKeyPair

  init(fd: Int32, keys: DERPKeyPair) {
    self.fd = fd
    self.keys = keys
  }

  func write(_ bytes: [UInt8]) {
    var off = 0
    while off < bytes.count {
      let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + off, $0.count - off, Int32(MSG_NOSIGNAL)) }
      if n <= 0 { return }
      off += n
    }
  }

  /// Reads more bytes into `buffered`; false at EOF or error.
  func fill() -> Bool {
    var chunk = [UInt8](repeating: 0, count: 70_000)
    let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
    if n <= 0 { return false }
    buffered += chunk[0..<n]
    return true
  }

  func readRequest() -> HTTPRequest? {
    var parser = HTTPRequestParser()
    while true {
      switch parser.parse(buffered) {
      case .request(let r):
        buffered.removeFirst(r.headBytes)
        request = r
        return r
      case .failed: return nil
      case .needMore: if !fill() { return nil }
      }
    }
  }

  func readFrame() -> (FrameHeader, [UInt8])? {
    while true {
      if buffered.count >= 5 {
        let h = buffered.withUnsafeBytes { FrameHeader(decodingFrom: $0.baseAddress!) }
        if buffered.count >= 5 + Int(h.payloadBytes) {
          let payload = Array(buffered[5..<(5 + Int(h.payloadBytes))])
          buffered.removeFirst(5 + Int(h.payloadBytes))
          return (h, payload)
        }
      }
      if !fill() { return nil }
    }
  }

  /// The relay's handshake: route, 101 (unless fast start), ServerKey, ClientInfo, ServerInfo.
  @discardableResult
  func acceptHandshake() -> Bool {
    guard let request = readRequest() else { return false }
    let route = HTTPRouter.route(request, serverKey: keys.publicKey)
    write(route.response)
    guard route.upgrade else { return false }
    write(Handshake.serverKeyFrame(serverKey: keys.publicKey))
    guard let (header, payload) = readFrame(), header.type == .clientInfo,
      let (key, info) = try? Handshake.openClientInfo(payload: payload, serverPrivateKey: keys.privateKey)
    else { return false }
    clientKey = key
    clientInfo = info
    write(Handshake.sealServerInfoFrame(ServerInfo(), serverPrivateKey: keys.privateKey, clientKey: key))
    return true
  }

  /// Echo loop: SendPacket comes back as RecvPacket from the sender, Ping gets Pong.
  func echoUntilClosed() {
    while let (header, payload) = readFrame() {
      switch header.type {
      case .sendPacket?:
        var out = [UInt8](repeating: 0, count: FrameWriter.recvPacketHeaderBytes)
        out.withUnsafeMutableBytes {
          _ = FrameWriter.recvPacketHeader(source: clientKey!, packetBytes: payload.count - 32, to: $0.baseAddress!)
        }
        write(out + payload[32...])
      case .ping?:
        var out = [UInt8](repeating: 0, count: FrameWriter.pongFrameBytes)
        out.withUnsafeMutableBytes { o in payload.withUnsafeBytes { _ = FrameWriter.pong(echoing: $0.baseAddress!, to: o.baseAddress!) } }
        write(out)
      default: continue
      }
    }
  }
}

final class FakeDERPServer: @unchecked Sendable {
  let keys = DERPKeyPair.generate()
  let listenFD: Int32
  let port: UInt16
  let script: @Sendable (ServerConnection) -> Void
  var thread: pthread_t?
  /// Set by the server thread; read after `join()`.
  var connection: ServerConnection?

  init(ipv6: Bool = false, script: @escaping @Sendable (ServerConnection) -> Void) {
    self.script = script
    let family = ipv6 ? AF_INET6 : AF_INET
    let listenFD = socket(family, Int32(SOCK_STREAM.rawValue), 0)
    self.listenFD = listenFD
    var one: Int32 = 1
    setsockopt(listenFD, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(4))
    if ipv6 {
      var sin6 = sockaddr_in6()
      sin6.sin6_family = sa_family_t(AF_INET6)
      sin6.sin6_addr = in6addr_loopback
      _ = withUnsafePointer(to: &sin6) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listenFD, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
    } else {
      var sin = sockaddr_in()
      sin.sin_family = sa_family_t(AF_INET)
      sin.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
      _ = withUnsafePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listenFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    }
    listen(listenFD, 16)
    var storage = sockaddr_storage()
    var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
    _ = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listenFD, $0, &len) } }
    port = withUnsafeBytes(of: &storage) { UInt16(bigEndian: $0.loadUnaligned(fromByteOffset: 2, as: UInt16.self)) }
    let box = Unmanaged.passRetained(self)
    var t = pthread_t()
    pthread_create(&t, nil, { arg in
      let server = Unmanaged<FakeDERPServer>.fromOpaque(arg!).takeRetainedValue()
      server.serveOne()
      return nil
    }, box.toOpaque())
    thread = t
  }

  func serveOne() {
    let fd = accept(listenFD, nil, nil)
    guard fd >= 0 else { return }
    let conn = ServerConnection(fd: fd, keys: keys)
    connection = conn
    script(conn)
    close(fd)
  }

  /// Waits for the script to finish.
  func join() {
    if let t = thread { pthread_join(t, nil) }
    thread = nil
  }

  deinit { close(listenFD) }
}
