// Server key and mesh key files. The server key file holds `privkey:<64 hex>`
// (derper's JSON form `{"PrivateKey":"privkey:…"}` is accepted too, so a
// derper key file can be reused); it is created with mode 0600 if missing.
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

public enum KeyFileError: Error, Equatable, CustomStringConvertible {
  case unreadable(path: String, errno: Int32)
  case malformed(path: String, reason: String)
  case uncreatable(path: String, errno: Int32)

  public var description: String {
    switch self {
    case .unreadable(let path, let e): return "\(path): cannot read: \(String(cString: strerror(e)))"
    case .malformed(let path, let reason): return "\(path): \(reason)"
    case .uncreatable(let path, let e): return "\(path): cannot create: \(String(cString: strerror(e)))"
    }
  }
}

public enum KeyFile {
  /// Key files are tiny; anything larger is not a key file.
  static let maxFileBytes = 4096

  /// Loads the private key at `path`, or creates a new one there (mode 0600)
  /// if the file does not exist. Returns the pair and whether it was created.
  public static func loadOrCreate(path: String) throws(KeyFileError) -> (DERPKeyPair, created: Bool) {
    switch readSmallFile(path: path) {
    case .success(let text):
      return (DERPKeyPair(privateKey: try parsePrivateKey(text, path: path)), false)
    case .failure(let e) where e.code == ENOENT:
      let pair = DERPKeyPair.generate()
      try writeNew(path: path, contents: pair.privateKey.privateKeyText + "\n")
      return (pair, true)
    case .failure(let e):
      throw .unreadable(path: path, errno: e.code)
    }
  }

  /// Loads an existing private key file.
  public static func load(path: String) throws(KeyFileError) -> DERPKeyPair {
    switch readSmallFile(path: path) {
    case .success(let text): return DERPKeyPair(privateKey: try parsePrivateKey(text, path: path))
    case .failure(let e): throw .unreadable(path: path, errno: e.code)
    }
  }

  /// Accepts `privkey:<hex>` or derper's `{"PrivateKey":"privkey:<hex>"}`.
  package static func parsePrivateKey(_ text: String, path: String) throws(KeyFileError) -> DERPPrivateKey {
    if let key = DERPPrivateKey(privateKeyText: text) { return key }
    if case .object(let fields)? = try? JSONValue.parse(Array(text.utf8)),
      case .string(let s)? = JSONValue.field(fields, "PrivateKey"),
      let key = DERPPrivateKey(privateKeyText: s)
    {
      return key
    }
    throw .malformed(path: path, reason: "expected privkey:<64 hex> or {\"PrivateKey\":\"privkey:<64 hex>\"}")
  }

  static func readSmallFile(path: String) -> Result<String, Int32Error> {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return .failure(Int32Error(errno)) }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: maxFileBytes + 1)
    var total = 0
    while total < buffer.count {
      let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + total, $0.count - total) }
      if n < 0 {
        if errno == EINTR { continue }
        return .failure(Int32Error(errno))
      }
      if n == 0 { break }
      total += n
    }
    guard total <= maxFileBytes else { return .failure(Int32Error(EFBIG)) }
    return .success(String(decoding: buffer[0..<total], as: UTF8.self))
  }

  static func writeNew(path: String, contents: String) throws(KeyFileError) {
    // O_EXCL: never overwrite a key that appeared meanwhile.
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw .uncreatable(path: path, errno: errno) }
    defer { close(fd) }
    let bytes = Array(contents.utf8)
    var written = 0
    while written < bytes.count {
      let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
      if n < 0 {
        if errno == EINTR { continue }
        let e = errno
        unlink(path)
        throw .uncreatable(path: path, errno: e)
      }
      written += n
    }
    _ = fsync(fd)
  }
}

/// errno carried through `Result`.
struct Int32Error: Error, Equatable {
  let code: Int32
  init(_ code: Int32) { self.code = code }
}
