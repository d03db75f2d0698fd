// One admission request: who (node key), from where (peer address) and which
// connection gets the answer. Fixed-size record on the request ring.
@preconcurrency import Glibc
import HDProtocol

struct VerifyRequest {
  /// Worker, slot and generation of the waiting connection.
  var location: UInt64
  var key: DERPKey
  /// 4 (IPv4) or 16 (IPv6) bytes in `address`.
  var addressBytes: UInt8
  var address: (UInt64, UInt64)
  /// When the worker queued it (monotonic): the timeout counts from here, so
  /// requests that waited behind a stalled controller still decide in time.
  var submittedNanoseconds: UInt64 = 0

  static let bodyBytes = 8 + 32 + 8 + 16 + 8

  func write(to p: UnsafeMutableRawPointer) {
    p.storeBytes(of: location, as: UInt64.self)
    key.store(to: p + 8)
    p.storeBytes(of: UInt64(addressBytes), toByteOffset: 40, as: UInt64.self)
    p.storeBytes(of: address.0, toByteOffset: 48, as: UInt64.self)
    p.storeBytes(of: address.1, toByteOffset: 56, as: UInt64.self)
    p.storeBytes(of: submittedNanoseconds, toByteOffset: 64, as: UInt64.self)
  }

  init(location: UInt64, key: DERPKey, peer: sockaddr_storage) {
    self.location = location
    self.key = key
    var storage = peer
    var bytes: (UInt64, UInt64) = (0, 0)
    var count: UInt8 = 0
    withUnsafeBytes(of: &storage) { sa in
      let family = sa.load(fromByteOffset: 0, as: sa_family_t.self)
      withUnsafeMutableBytes(of: &bytes) { out in
        if family == sa_family_t(AF_INET) {
          // sockaddr_in: family(2) port(2) addr(4)
          out.copyMemory(from: UnsafeRawBufferPointer(rebasing: sa[4..<8]))
          count = 4
        } else if family == sa_family_t(AF_INET6) {
          // sockaddr_in6: family(2) port(2) flowinfo(4) addr(16)
          let v6 = UnsafeRawBufferPointer(rebasing: sa[8..<24])
          // IPv4-mapped (::ffff:a.b.c.d) from a dual-stack listener: report the IPv4 address.
          if v6[0..<10].allSatisfy({ $0 == 0 }) && v6[10] == 0xFF && v6[11] == 0xFF {
            out.copyMemory(from: UnsafeRawBufferPointer(rebasing: v6[12..<16]))
            count = 4
          } else {
            out.copyMemory(from: v6)
            count = 16
          }
        }
      }
    }
    address = bytes
    addressBytes = count
  }

  init(body p: UnsafeRawPointer) {
    location = p.load(as: UInt64.self)
    key = DERPKey(bytes: p + 8)
    addressBytes = UInt8(truncatingIfNeeded: p.load(fromByteOffset: 40, as: UInt64.self))
    address = (p.load(fromByteOffset: 48, as: UInt64.self), p.load(fromByteOffset: 56, as: UInt64.self))
    submittedNanoseconds = p.load(fromByteOffset: 64, as: UInt64.self)
  }

  /// The client IP as text ("127.0.0.1", "2001:db8::1"), empty when unknown.
  var sourceText: String {
    var bytes = address
    var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
    let family = addressBytes == 4 ? AF_INET : addressBytes == 16 ? AF_INET6 : -1
    guard family >= 0 else { return "" }
    let ok = withUnsafeBytes(of: &bytes) { inet_ntop(family, $0.baseAddress, &text, socklen_t(text.count)) != nil }
    guard ok else { return "" }
    return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// `{"NodePublic":"nodekey:<hex>","Source":"<ip>"}` (derper's field names and order).
  var jsonBody: [UInt8] {
    Array("{\"NodePublic\":\(JSONValue.quote(key.nodeKeyText)),\"Source\":\(JSONValue.quote(sourceText))}".utf8)
  }
}
