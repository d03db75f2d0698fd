// Self-signed certificates for a relay reached by IP address (the DERP map
// then pins it with `CertName: "sha256-raw:…"`), built with OpenSSL's X509
// API like derper's manual mode does with Go's: ECDSA P-256, the IP
// addresses and names as subjectAltName, serverAuth, not a CA. The validity
// offsets may be negative, so tests can make expired certificates too.
@preconcurrency import Glibc
internal import CTLS
import HDProtocol

/// A certificate and its private key in PEM, ready to be written to files.
public struct SelfSignedCertificate: Sendable {
  public let certificatePEM: [UInt8]
  public let privateKeyPEM: [UInt8]
  /// The DERP map value for this certificate.
  public let pin: CertificatePin
  /// Seconds since the epoch.
  public let notBefore: Int64
  public let notAfter: Int64

  /// - Parameters:
  ///   - ipAddresses: IPv4/IPv6 literals the certificate is valid for.
  ///   - hostNames: DNS names it is valid for.
  ///   - notBeforeOffsetSeconds: start of validity relative to now (negative
  ///     = in the past; an hour back by default for clients whose clock lags).
  ///   - notAfterOffsetSeconds: end of validity relative to now.
  public static func make(
    ipAddresses: [String], hostNames: [String] = [], notBeforeOffsetSeconds: Int = -3600,
    notAfterOffsetSeconds: Int
  ) throws(TLSContextError) -> SelfSignedCertificate {
    guard !ipAddresses.isEmpty || !hostNames.isEmpty else {
      throw TLSContextError(.openSSL, "a self-signed certificate needs at least one IP address or host name")
    }
    for address in ipAddresses where !isIPLiteral(address) {
      throw TLSContextError(.openSSL, "\(address) is not an IPv4 or IPv6 address")
    }
    for name in hostNames where !isHostName(name) {
      throw TLSContextError(.openSSL, "\(name) is not a DNS host name (letters, digits, '-', dots)")
    }
    guard notAfterOffsetSeconds > notBeforeOffsetSeconds else {
      throw TLSContextError(.openSSL, "the certificate's validity must end after it starts")
    }
    ERR_clear_error()
    let key = try makeKey()
    defer { EVP_PKEY_free(key) }
    guard let cert = X509_new() else { throw failure("out of memory") }
    defer { X509_free(cert) }
    let subjectAltName = (ipAddresses.map { "IP:" + $0 } + hostNames.map { "DNS:" + $0 }).joined(separator: ",")
    let built =
      X509_set_version(cert, 2) == 1  // X.509 v3
      && setRandomSerial(cert)
      && X509_gmtime_adj(X509_getm_notBefore(cert), notBeforeOffsetSeconds) != nil
      && X509_gmtime_adj(X509_getm_notAfter(cert), notAfterOffsetSeconds) != nil
      && X509_set_pubkey(cert, key) == 1
      && setName(cert, commonName: hostNames.first ?? ipAddresses[0])
    guard built else { throw failure("building the certificate failed") }
    try addExtension(cert, NID_subject_alt_name, subjectAltName)
    try addExtension(cert, NID_basic_constraints, "critical,CA:FALSE")
    try addExtension(cert, NID_key_usage, "critical,digitalSignature")
    try addExtension(cert, NID_ext_key_usage, "serverAuth")
    guard X509_sign(cert, key, EVP_sha256()) > 0 else { throw failure("signing failed") }
    guard let der = X509Fields.der(cert), let certPEM = pem({ PEM_write_bio_X509($0, cert) }),
      let keyPEM = pem({ PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil) }),
      let summary = CertificateSummary(cert)
    else { throw failure("encoding failed") }
    return SelfSignedCertificate(
      certificatePEM: certPEM, privateKeyPEM: keyPEM, pin: CertificatePin(derCertificate: der),
      notBefore: summary.notBefore, notAfter: summary.notAfter)
  }

  public static func isIPLiteral(_ text: String) -> Bool {
    var address = in6_addr()
    return text.withCString { inet_pton(AF_INET, $0, &address) == 1 || inet_pton(AF_INET6, $0, &address) == 1 }
  }

  /// RFC 1123 labels: 1–63 of letters, digits and '-', not starting or
  /// ending with '-'; at most 253 characters.
  public static func isHostName(_ text: String) -> Bool {
    guard !text.isEmpty, text.utf8.count <= 253, !isIPLiteral(text) else { return false }
    return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
      label.utf8.count >= 1 && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
        && label.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 122) || $0 == 45 }
    }
  }

  private static func failure(_ what: String) -> TLSContextError {
    TLSContextError(.openSSL, "self-signed certificate: " + OpenSSLErrorQueue.drainText(fallback: what))
  }

  private static func makeKey() throws(TLSContextError) -> OpaquePointer {
    guard let context = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nil) else { throw failure("EC keys unavailable") }
    defer { EVP_PKEY_CTX_free(context) }
    var key: OpaquePointer?
    guard EVP_PKEY_keygen_init(context) == 1,
      EVP_PKEY_CTX_set_ec_paramgen_curve_nid(context, NID_X9_62_prime256v1) == 1,
      EVP_PKEY_keygen(context, &key) == 1, let key
    else { throw failure("P-256 key generation failed") }
    return key
  }

  /// 127 random bits: positive and unique enough that clients never see two
  /// different certificates with one serial.
  private static func setRandomSerial(_ cert: OpaquePointer) -> Bool {
    guard let number = BN_new() else { return false }
    defer { BN_free(number) }
    return BN_rand(number, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1
      && BN_to_ASN1_INTEGER(number, X509_get_serialNumber(cert)) != nil
  }

  private static func setName(_ cert: OpaquePointer, commonName: String) -> Bool {
    guard let name = X509_get_subject_name(cert) else { return false }
    let added = commonName.withCString { cn in
      X509_NAME_add_entry_by_txt(
        name, "CN", MBSTRING_UTF8, UnsafeRawPointer(cn).assumingMemoryBound(to: UInt8.self), -1, -1, 0)
    }
    return added == 1 && X509_set_issuer_name(cert, name) == 1  // self-signed
  }

  private static func addExtension(_ cert: OpaquePointer, _ nid: Int32, _ value: String) throws(TLSContextError) {
    guard let ext = X509V3_EXT_conf_nid(nil, nil, nid, value) else {
      throw failure("bad certificate extension \(value)")
    }
    defer { X509_EXTENSION_free(ext) }
    guard X509_add_ext(cert, ext, -1) == 1 else { throw failure("cannot add extension \(value)") }
  }

  /// Runs a PEM writer into a memory BIO and returns what it wrote.
  private static func pem(_ write: (OpaquePointer) -> Int32) -> [UInt8]? {
    guard let bio = BIO_new(BIO_s_mem()) else { return nil }
    defer { BIO_free(bio) }
    guard write(bio) == 1 else { return nil }
    let count = ctls_bio_pending(bio)
    var bytes = [UInt8](repeating: 0, count: count)
    guard BIO_read(bio, &bytes, Int32(count)) == Int32(count) else { return nil }
    return bytes
  }
}
