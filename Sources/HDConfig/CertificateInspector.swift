// check-config's questions about PEM certificates and keys, answered by the
// shared reader (HDX509) the relay and doctor use too.
internal import HDX509

enum CertificateInspector {
  /// The first certificate's notAfter, seconds since the epoch; nil when there is none.
  static func leafNotAfter(_ pem: [UInt8]) -> Int64? {
    X509Chain(pem: pem).leafValidity?.notAfterSeconds
  }

  /// How many certificates a PEM bundle holds, when every CERTIFICATE (or
  /// TRUSTED CERTIFICATE) block in it parses; nil when one does not.
  static func bundleCertificateCount(_ pem: [UInt8]) -> Int? {
    let markers: Set<Substring> = ["-----BEGIN CERTIFICATE-----", "-----BEGIN TRUSTED CERTIFICATE-----"]
    let blocks = String(decoding: pem, as: UTF8.self).split(whereSeparator: \.isNewline)
      .filter { markers.contains($0.drop { $0 == " " }) }.count
    let parsed = X509Chain(pem: pem).count
    return parsed == blocks ? parsed : nil
  }

  static func isPrivateKey(_ pem: [UInt8]) -> Bool { PEMPrivateKey(pem: pem) != nil }

  /// True when the private key belongs to the chain's first certificate.
  static func keyMatches(certificatePEM: [UInt8], keyPEM: [UInt8]) -> Bool {
    guard let key = PEMPrivateKey(pem: keyPEM) else { return false }
    return X509Chain(pem: certificatePEM).leafMatches(key)
  }
}
