// The files in acme.cache_dir, named once: the relay writes them (HDRelay
// ACMECache) and doctor reads the certificate's expiry from them (HDOps).

public struct ACMECacheFiles: Sendable, Equatable {
  public let directory: String

  public init(directory: String) { self.directory = directory }

  public var accountKeyPath: String { directory + "/account.key" }
  /// The account URL (RFC 8555 `kid`) of account.key at one directory URL.
  public var accountURLPath: String { directory + "/account.json" }
  /// The certificate chain in service, leaf first.
  public var certificatePath: String { directory + "/certificate.pem" }
  public var certificateKeyPath: String { directory + "/certificate.key" }
}
