// libsodium must be initialised once before use; Swift globals are lazily
// initialised exactly once and thread-safely, which is what sodium_init needs.
import CSodium

enum Sodium {
  /// Evaluated on first use; libsodium only fails when it cannot get randomness.
  static let ready: Bool = sodium_init() >= 0

  static func ensureReady() {
    precondition(ready, "libsodium failed to initialise (no randomness source?)")
  }

  /// Fills `count` bytes at `pointer` with cryptographically random bytes.
  static func randomBytes(_ pointer: UnsafeMutableRawPointer, count: Int) {
    ensureReady()
    randombytes_buf(pointer, count)
  }
}
