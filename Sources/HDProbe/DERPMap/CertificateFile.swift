// The relay's own certificate as the DERP map needs it: whether the leaf is
// self-signed (then clients can only trust it through a `sha256-raw:` pin in
// CertName) and its DER encoding, which the pin hashes.
@preconcurrency import Glibc
internal import CTLS
import HDConfig

struct CertificateFile {
  /// The first certificate of the PEM chain, DER-encoded.
  let leafDER: [UInt8]
  /// Issued by itself and signed with its own key.
  let isSelfSigned: Bool

  /// `sha256-raw:<hex>`: the SHA-256 of the leaf's DER, Tailscale's pin.
  /// TEMPORARY until HDProtocol.CertificatePin lands on main.
  var pinCertName: String {
    var digest = [UInt8](repeating: 0, count: 32)
    var length: UInt32 = 0
    _ = EVP_Digest(leafDER, leafDER.count, &digest, &length, EVP_sha256(), nil)
    return "sha256-raw:" + digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
  }

  enum Failure: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case noCertificate(path: String)

    var description: String {
      switch self {
      case .unreadable(let path, let reason): return "cannot read the certificate \(path): \(reason)"
      case .noCertificate(let path): return "\(path) holds no PEM certificate"
      }
    }
  }

  static func load(path: String) -> Result<CertificateFile, Failure> {
    let bytes: [UInt8]
    switch FileAccess.readBytes(path) {
    case .success(let read): bytes = read
    case .failure(.notFound): return .failure(.unreadable(path: path, reason: "no such file"))
    case .failure(.unreadable(let reason)): return .failure(.unreadable(path: path, reason: reason))
    }
    defer { ERR_clear_error() }
    let parsed = bytes.withUnsafeBytes { raw -> CertificateFile? in
      guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
      defer { BIO_free(bio) }
      guard let cert = PEM_read_bio_X509(bio, nil, nil, nil) else { return nil }
      defer { X509_free(cert) }
      let length = i2d_X509(cert, nil)
      guard length > 0 else { return nil }
      var der = [UInt8](repeating: 0, count: Int(length))
      let written = der.withUnsafeMutableBufferPointer { buffer -> Int32 in
        var cursor = buffer.baseAddress
        return i2d_X509(cert, &cursor)
      }
      guard written == length else { return nil }
      return CertificateFile(leafDER: der, isSelfSigned: X509_check_issued(cert, cert) == X509_V_OK)
    }
    guard let parsed else { return .failure(.noCertificate(path: path)) }
    return .success(parsed)
  }
}
