// Per-connection TLS state, in one heap block a connection points at (the
// connection slot itself stays plain values). Allocated at accept, freed at
// close; nothing here is touched per packet beyond the session calls.
@preconcurrency import Glibc
import HDTLS

enum TLSPhase: UInt8 {
  /// Handshake running (in the connection's `http` state).
  case handshaking
  /// Records encrypted/decrypted by OpenSSL in the worker.
  case userspace
  /// Handshake done, kernel TLS wanted: waiting for the recv to end and the
  /// handshake output to leave before installing keys.
  case switchPending
  /// Records sealed and opened by the worker's own record layer
  /// (Worker+TLSRecords); OpenSSL's part ended with the handshake.
  case records
}

struct TLSConnection {
  var session: TLSServerSession
  var phase: TLSPhase = .handshaking
  /// Ciphertext staging for the in-flight send: a large packet-memory block
  /// laid out as [msghdr][iovec][bytes…] (see `TLSStaging`).
  var staging: UnsafeMutableRawPointer? = nil
  var stagedBytes: Int = 0
  var stagedSentBytes: Int = 0
  /// AES-GCM suite: the switch to the worker's record layer is tried when the
  /// session runs dry (cleared when it cannot be made).
  var recordsEligible = false
  /// The worker's record layer (phase `.records`).
  var records: UnsafeMutablePointer<TLSRecordLayer>? = nil
  /// A received record cut by the end of a receive (a large block while non-empty).
  var carry: UnsafeMutableRawPointer? = nil
  var carryBytes = 0
  /// The peer asked for a KeyUpdate: ours goes out before the next data.
  var keyUpdateDue = false

  static func allocate(session: TLSServerSession) -> UnsafeMutablePointer<TLSConnection> {
    let p = UnsafeMutablePointer<TLSConnection>.allocate(capacity: 1)
    p.initialize(to: TLSConnection(session: session))
    return p
  }
}

/// Layout of a staging block: the msghdr and its single iovec, then ciphertext.
enum TLSStaging {
  static let msghdrOffset = 0
  static let iovecOffset = 64
  static let dataOffset = 128
  static let dataBytes = Tuning.largeBlockBytes - dataOffset
}
