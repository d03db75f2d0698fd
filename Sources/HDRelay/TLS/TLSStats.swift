// TLS counters of the DERP port: one block of UInt64 slots per worker, written
// only by that worker (relaxed stores, like WorkerStats) and summed at scrape
// into `TLSStatsSnapshot`, which `RelayStatsSnapshot.tls` carries.
@preconcurrency import Glibc
import CURing
import HDTLS

/// Scalar TLS counter slots; handshake failures by reason follow after `count`.
enum TLSCounter: Int, CaseIterable {
  case handshakesTLS12, handshakesTLS13
  /// Connections whose keys went into the kernel (TX and RX).
  case kernelInstalls
  /// Connections that wanted the kernel but stayed in userspace, by why.
  case kernelFallbackCipher, kernelFallbackPartialRecord, kernelFallbackOther
  /// Kernel refused a key install; the connection was closed.
  case kernelInstallErrors
  /// After the kernel switch: close_notify, other alerts, other records (KeyUpdate…) read with recvmsg.
  case kernelCloseNotify, kernelAlerts, kernelOtherRecords
  /// close_notify received in userspace.
  case userspaceCloseNotify
  /// TLS failures after the handshake (bad record, overflow, alert) in userspace.
  case userspaceRecordErrors
  /// Userspace sessions moved onto the worker's record layer after the handshake,
  /// and the ones that could not be (they stay on OpenSSL's).
  case recordLayerSwitches, recordLayerFallbacks
  /// TLS 1.3 KeyUpdates followed and sent on the worker's record layer.
  case keyUpdatesReceived, keyUpdatesSent
}

/// TLS totals over all workers.
public struct TLSStatsSnapshot: Sendable, Equatable {
  /// Completed handshakes by version (`TLSVersion.allCases` order: 1.2, 1.3).
  public var handshakesTLS12: UInt64 = 0
  public var handshakesTLS13: UInt64 = 0
  /// Failed TLS handshakes, indexed by `TLSFailureReason.rawValue`.
  public var handshakeFailures: [UInt64] = Array(repeating: 0, count: TLSFailureReason.allCases.count)
  public var kernelInstalls: UInt64 = 0
  /// Wanted kernel TLS, stayed userspace: a cipher the kernel cannot run (ChaCha20).
  public var kernelFallbackCipher: UInt64 = 0
  /// Wanted kernel TLS, stayed userspace: received ciphertext ended mid-record at the switch.
  public var kernelFallbackPartialRecord: UInt64 = 0
  public var kernelFallbackOther: UInt64 = 0
  public var kernelInstallErrors: UInt64 = 0
  public var kernelCloseNotify: UInt64 = 0
  public var kernelAlerts: UInt64 = 0
  public var kernelOtherRecords: UInt64 = 0
  public var userspaceCloseNotify: UInt64 = 0
  public var userspaceRecordErrors: UInt64 = 0
  public var recordLayerSwitches: UInt64 = 0
  public var recordLayerFallbacks: UInt64 = 0
  public var keyUpdatesReceived: UInt64 = 0
  public var keyUpdatesSent: UInt64 = 0

  public init() {}

  /// Failed handshakes for one reason.
  public func handshakeFailures(_ reason: TLSFailureReason) -> UInt64 { handshakeFailures[reason.rawValue] }
}

/// One worker's TLS counter block.
struct TLSWorkerStats {
  static let failureBase = TLSCounter.allCases.count
  static let slotCount = failureBase + TLSFailureReason.allCases.count

  let slots: UnsafeMutablePointer<UInt64>

  static func allocate() -> TLSWorkerStats {
    let slots = UnsafeMutablePointer<UInt64>.allocate(capacity: slotCount)
    slots.initialize(repeating: 0, count: slotCount)
    return TLSWorkerStats(slots: slots)
  }

  @inline(__always) func add(_ c: TLSCounter) { hd_counter_add(slots + c.rawValue, 1) }
  @inline(__always) func failed(_ reason: TLSFailureReason) { hd_counter_add(slots + Self.failureBase + reason.rawValue, 1) }

  func load(_ c: TLSCounter) -> UInt64 { hd_load_relaxed(slots + c.rawValue) }

  func accumulate(into s: inout TLSStatsSnapshot) {
    s.handshakesTLS12 &+= load(.handshakesTLS12)
    s.handshakesTLS13 &+= load(.handshakesTLS13)
    s.kernelInstalls &+= load(.kernelInstalls)
    s.kernelFallbackCipher &+= load(.kernelFallbackCipher)
    s.kernelFallbackPartialRecord &+= load(.kernelFallbackPartialRecord)
    s.kernelFallbackOther &+= load(.kernelFallbackOther)
    s.kernelInstallErrors &+= load(.kernelInstallErrors)
    s.kernelCloseNotify &+= load(.kernelCloseNotify)
    s.kernelAlerts &+= load(.kernelAlerts)
    s.kernelOtherRecords &+= load(.kernelOtherRecords)
    s.userspaceCloseNotify &+= load(.userspaceCloseNotify)
    s.userspaceRecordErrors &+= load(.userspaceRecordErrors)
    s.recordLayerSwitches &+= load(.recordLayerSwitches)
    s.recordLayerFallbacks &+= load(.recordLayerFallbacks)
    s.keyUpdatesReceived &+= load(.keyUpdatesReceived)
    s.keyUpdatesSent &+= load(.keyUpdatesSent)
    for reason in TLSFailureReason.allCases {
      s.handshakeFailures[reason.rawValue] &+= hd_load_relaxed(slots + Self.failureBase + reason.rawValue)
    }
  }
}
