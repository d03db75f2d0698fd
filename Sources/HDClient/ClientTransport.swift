// The byte stream under a DERP client: a plain TCP socket or a TLS session
// over one. Blocking, one connection per object; the seam where HDTLS plugs in.
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

public protocol ClientTransport: AnyObject {
  /// The underlying socket (for poll, io_uring hand-over, stats).
  var fileDescriptor: Int32 { get }
  /// Reads up to `buffer.count` bytes; returns 0 at end of stream.
  /// Throws `.timedOut` when the read timeout passes without data.
  func read(into buffer: UnsafeMutableRawBufferPointer) throws(DERPClientError) -> Int
  /// Writes all of `bytes`.
  func write(_ bytes: UnsafeRawBufferPointer) throws(DERPClientError)
  /// nil = block forever.
  func setReadTimeout(seconds: Double?) throws(DERPClientError)
  /// Bytes already read from the socket but not yet returned by `read` (TLS
  /// plaintext buffered in the session). 0 for plain sockets.
  var bufferedReadBytes: Int { get }
  func close()
}

/// Plain TCP: the socket itself.
public final class PlainTransport: ClientTransport {
  public private(set) var fileDescriptor: Int32

  /// Takes ownership of a connected socket.
  public init(fileDescriptor: Int32) { self.fileDescriptor = fileDescriptor }

  deinit { close() }

  public var bufferedReadBytes: Int { 0 }

  public func read(into buffer: UnsafeMutableRawBufferPointer) throws(DERPClientError) -> Int {
    while true {
      let n = Glibc.recv(fileDescriptor, buffer.baseAddress, buffer.count, 0)
      if n >= 0 { return n }
      switch errno {
      case EINTR: continue
      case EAGAIN, EWOULDBLOCK: throw .timedOut
      default: throw .io(operation: "recv", errno: errno)
      }
    }
  }

  public func write(_ bytes: UnsafeRawBufferPointer) throws(DERPClientError) {
    var offset = 0
    while offset < bytes.count {
      let n = Glibc.send(fileDescriptor, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
      if n < 0 {
        if errno == EINTR { continue }
        if errno == EAGAIN || errno == EWOULDBLOCK { throw .timedOut }
        throw .io(operation: "send", errno: errno)
      }
      offset += n
    }
  }

  public func setReadTimeout(seconds: Double?) throws(DERPClientError) {
    try SocketOptions.setReceiveTimeout(fileDescriptor, seconds: seconds)
  }

  public func close() {
    if fileDescriptor >= 0 {
      _ = Glibc.close(fileDescriptor)
      fileDescriptor = -1
    }
  }

  /// Gives up ownership of the socket without closing it.
  func release() { fileDescriptor = -1 }
}

enum SocketOptions {
  static func setReceiveTimeout(_ fd: Int32, seconds: Double?) throws(DERPClientError) {
    var tv = timeval()
    if let seconds, seconds > 0 {
      tv.tv_sec = Int(seconds)
      tv.tv_usec = Int((seconds - Double(Int(seconds))) * 1_000_000)
      if tv.tv_sec == 0 && tv.tv_usec == 0 { tv.tv_usec = 1 }
    }
    if setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size)) != 0 {
      throw .io(operation: "setsockopt(SO_RCVTIMEO)", errno: errno)
    }
  }

  static func setSendTimeout(_ fd: Int32, seconds: Double?) throws(DERPClientError) {
    var tv = timeval()
    if let seconds, seconds > 0 {
      tv.tv_sec = Int(seconds)
      tv.tv_usec = Int((seconds - Double(Int(seconds))) * 1_000_000)
    }
    if setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size)) != 0 {
      throw .io(operation: "setsockopt(SO_SNDTIMEO)", errno: errno)
    }
  }

  static func setNoDelay(_ fd: Int32) {
    var one: Int32 = 1
    _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
  }
}
