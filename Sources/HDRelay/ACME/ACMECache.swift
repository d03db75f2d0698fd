// The ACME cache directory: the account key with the account URL the CA gave
// it, and the current certificate chain with its key, each mode 0600 and replaced atomically (write a
// temporary file, fsync, rename). A file that does not parse, does not match
// its key, misses a configured name or has expired is reported and never
// served; the relay then orders a new certificate.
@preconcurrency import Glibc
import HDConfig
import HDTLS

struct ACMECache {
  let files: ACMECacheFiles

  init(directory: String) { files = ACMECacheFiles(directory: directory) }

  var directory: String { files.directory }
  var accountKeyPath: String { files.accountKeyPath }
  var accountURLPath: String { files.accountURLPath }
  var certificatePath: String { files.certificatePath }
  var certificateKeyPath: String { files.certificateKeyPath }

  /// What the cache holds for the configured identifiers.
  enum Cached {
    case usable(ACMECertificateFacts)
    case missing
    /// Present but unusable: the reason, for the log.
    case rejected(String)
  }

  /// Creates the directory (0700) when missing.
  func prepare() throws(ACMEError) {
    if mkdir(directory, 0o700) != 0 && errno != EEXIST {
      throw ACMEError(.local, "acme.cache_dir \(directory): cannot create (\(String(cString: strerror(errno))))")
    }
    guard access(directory, W_OK | X_OK) == 0 else {
      throw ACMEError(.local, "acme.cache_dir \(directory): not writable (\(String(cString: strerror(errno))))")
    }
  }

  /// The account key, created on first use. A damaged key file is set aside
  /// (`.corrupt`) and replaced: the CA then sees a new account.
  func accountKey(log: (String) -> Void) throws(ACMEError) -> ACMEKey {
    switch FileAccess.readBytes(accountKeyPath, limitBytes: 64 * 1024) {
    case .success(let bytes):
      if let key = ACMEKey.parse(pem: bytes) { return key }
      log("ACME cache: \(accountKeyPath) is not a P-256 private key; setting it aside and creating a new account key")
      rename(accountKeyPath, accountKeyPath + ".corrupt")
    case .failure(.notFound):
      break
    case .failure(.unreadable(let why)):
      throw ACMEError(.local, "ACME cache: \(accountKeyPath) cannot be read: \(why)")
    }
    do {
      let key = try ACMEKey.generate()
      unlink(accountURLPath)  // it named the old key's account
      try writeFile(try key.pem(), to: accountKeyPath)
      return key
    } catch let error as ACMEError {
      throw error
    } catch {
      throw ACMEError(.local, "account key: \(error)")
    }
  }

  /// The account URL stored for the account key at `directoryURL`; nil when
  /// none is stored, it was for another CA, or the file does not parse (the
  /// relay then asks the CA with newAccount, which finds the account again).
  func accountURL(directoryURL: String) -> String? {
    guard case .success(let bytes) = FileAccess.readBytes(accountURLPath, limitBytes: 16 * 1024),
      let stored = try? ACMEObject(body: bytes, what: accountURLPath),
      stored.string("directory_url") == directoryURL
    else { return nil }
    return stored.string("account_url")
  }

  func storeAccountURL(_ accountURL: String, directoryURL: String) throws(ACMEError) {
    let text = ACMEJSONText.object([
      ("directory_url", ACMEJSONText.string(directoryURL)), ("account_url", ACMEJSONText.string(accountURL)),
    ])
    try writeFile(Array((text + "\n").utf8), to: accountURLPath)
  }

  /// The cached certificate, checked against its key, `identifiers` and `nowSeconds`.
  func certificate(identifiers: [ACMEIdentifier], nowSeconds: Int64) -> Cached {
    let chain: [UInt8]
    switch FileAccess.readBytes(certificatePath, limitBytes: 1 << 20) {
    case .success(let bytes): chain = bytes
    case .failure(.notFound): return .missing
    case .failure(.unreadable(let why)): return .rejected("\(certificatePath) cannot be read: \(why)")
    }
    guard case .success(let keyBytes) = FileAccess.readBytes(certificateKeyPath, limitBytes: 64 * 1024),
      let key = ACMEKey.parse(pem: keyBytes)
    else { return .rejected("\(certificateKeyPath) is missing or not a P-256 private key") }
    switch ACMECertificateFacts.inspect(chainPEM: chain, key: key, identifiers: identifiers) {
    case .failure(let problem):
      return .rejected("\(certificatePath): \(problem)")
    case .success(let facts):
      guard facts.notAfterSeconds > nowSeconds else {
        return .rejected("\(certificatePath) expired on \(UTCDate.formatTimestamp(facts.notAfterSeconds))")
      }
      return .usable(facts)
    }
  }

  /// Stores a new chain and its key (key first: a crash in between leaves a
  /// mismatch the next start detects and repairs by ordering again).
  func store(chain: [UInt8], key: ACMEKey) throws(ACMEError) {
    do {
      try writeFile(try key.pem(), to: certificateKeyPath)
    } catch let error as ACMEError {
      throw error
    } catch {
      throw ACMEError(.local, "certificate key: \(error)")
    }
    try writeFile(chain, to: certificatePath)
  }

  /// Writes `bytes` to `path` with mode 0600 via a temporary file and rename.
  func writeFile(_ bytes: [UInt8], to path: String) throws(ACMEError) {
    let temporary = path + ".tmp"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else {
      throw ACMEError(.local, "ACME cache: cannot write \(temporary) (\(String(cString: strerror(errno))))")
    }
    var offset = 0
    var failed = false
    while offset < bytes.count {
      let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
      if n < 0 && errno == EINTR { continue }
      if n <= 0 {
        failed = true
        break
      }
      offset += n
    }
    _ = fchmod(fd, 0o600)  // an older file of that name may have had looser bits
    if fsync(fd) != 0 { failed = true }
    close(fd)
    guard !failed, rename(temporary, path) == 0 else {
      let reason = String(cString: strerror(errno))
      unlink(temporary)
      throw ACMEError(.local, "ACME cache: cannot write \(path) (\(reason))")
    }
  }
}
