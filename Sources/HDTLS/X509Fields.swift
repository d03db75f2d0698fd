// Fields read from an OpenSSL X509 the TLS client inspects: the subject
// common name (derper's meta certificate) and the DER encoding (pins).
internal import CTLS

enum X509Fields {
  /// Subject CN, nil when absent.
  static func commonName(_ cert: OpaquePointer) -> String? {
    var name = [CChar](repeating: 0, count: 256)
    let length = ctls_x509_common_name(cert, &name, Int32(name.count))
    guard length > 0 else { return nil }
    return String(decoding: name.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// The certificate in DER, the bytes a `sha256-raw:` pin hashes.
  static func der(_ cert: OpaquePointer) -> [UInt8]? {
    let length = i2d_X509(cert, nil)
    guard length > 0 else { return nil }
    var bytes = [UInt8](repeating: 0, count: Int(length))
    let written = bytes.withUnsafeMutableBufferPointer { buffer -> Int32 in
      var cursor = buffer.baseAddress
      return i2d_X509(cert, &cursor)
    }
    return written == length ? bytes : nil
  }
}
