// Where a TLS client that verifies its peer takes its trusted CAs from, for
// the connections the relay makes itself (mesh peers, an https
// verify_clients.url): a PEM bundle the configuration names, or OpenSSL's
// default verify paths, which honour SSL_CERT_FILE and SSL_CERT_DIR as
// OpenSSL's own tools (and Go, so derper) do. The description names the
// source actually used, so a failed verification says what was trusted.
@preconcurrency import Glibc
internal import CTLS

public enum TLSTrust: Sendable, Equatable, CustomStringConvertible {
  /// A PEM bundle of CA certificates named by configuration key `setting`.
  case bundle(path: String, setting: String)
  /// SSL_CTX_set_default_verify_paths: the file in SSL_CERT_FILE, else
  /// OpenSSL's built-in file; the directories in SSL_CERT_DIR
  /// (colon-separated), else OpenSSL's built-in directory.
  case openSSLDefaults

  /// The bundle when one is configured, else OpenSSL's defaults.
  public static func outbound(caFile: String?, setting: String) -> TLSTrust {
    caFile.map { .bundle(path: $0, setting: setting) } ?? .openSSLDefaults
  }

  /// Sets `options` to verify against this source.
  public func apply(to options: inout TLSClientOptions) {
    switch self {
    case .bundle(let path, _):
      options.trustedCertificatesFile = path
      options.trustsOpenSSLDefaultPaths = false
    case .openSSLDefaults:
      options.trustedCertificatesFile = nil
      options.trustsOpenSSLDefaultPaths = true
    }
  }

  public var description: String {
    switch self {
    case .bundle(let path, let setting):
      return "CA bundle \(path) (\(setting))"
    case .openSSLDefaults:
      let file = Self.defaultPath(environment: X509_get_default_cert_file_env(), builtIn: X509_get_default_cert_file())
      let dir = Self.defaultPath(environment: X509_get_default_cert_dir_env(), builtIn: X509_get_default_cert_dir())
      return "OpenSSL default verify paths: file \(file), directory \(dir)"
    }
  }

  /// "value (from NAME)" when the environment variable is set, else
  /// "built-in value (NAME unset)".
  private static func defaultPath(environment name: UnsafePointer<CChar>?, builtIn: UnsafePointer<CChar>?) -> String {
    let variable = name.map { String(cString: $0) } ?? "?"
    if let set = getenv(variable), set.pointee != 0 {
      return "\(String(cString: set)) (from \(variable))"
    }
    return "\(builtIn.map { String(cString: $0) } ?? "?") (\(variable) unset)"
  }
}
