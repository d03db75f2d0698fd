// STUN counters: written only by the responder thread (relaxed load+store,
// no lock prefix), read by any thread (the metrics scrape) with relaxed loads.
import CURing

enum STUNCounter: Int {
  /// Well-formed Binding Requests by the client's address family (derper's
  /// `stun_addrfamily`); every one of them is answered or counted as a send failure.
  case requestsIPv4, requestsIPv6
  /// Answers the kernel accepted.
  case responses
  /// Answers the kernel refused (socket buffer full, unreachable destination).
  case sendFailures
  /// recvmmsg errors other than "nothing waiting".
  case receiveErrors
  /// First of STUNDropReason.allCases.count drop counters.
  case dropsBase

  static let slotCount = dropsBase.rawValue + STUNDropReason.allCases.count
}

final class STUNStats: @unchecked Sendable {
  private let slots: UnsafeMutablePointer<UInt64>

  init() {
    slots = .allocate(capacity: STUNCounter.slotCount)
    slots.initialize(repeating: 0, count: STUNCounter.slotCount)
  }

  deinit { slots.deallocate() }

  /// Responder thread only.
  @inline(__always) func add(_ counter: STUNCounter, _ delta: UInt64 = 1) {
    hd_counter_add(slots + counter.rawValue, delta)
  }

  /// Responder thread only.
  @inline(__always) func addDrop(_ reason: STUNDropReason) {
    hd_counter_add(slots + STUNCounter.dropsBase.rawValue + reason.rawValue, 1)
  }

  /// Any thread.
  func snapshot() -> STUNStatsSnapshot {
    func load(_ index: Int) -> UInt64 { hd_load_relaxed(slots + index) }
    return STUNStatsSnapshot(
      requestsIPv4: load(STUNCounter.requestsIPv4.rawValue), requestsIPv6: load(STUNCounter.requestsIPv6.rawValue),
      responses: load(STUNCounter.responses.rawValue), sendFailures: load(STUNCounter.sendFailures.rawValue),
      receiveErrors: load(STUNCounter.receiveErrors.rawValue),
      drops: STUNDropReason.allCases.map { load(STUNCounter.dropsBase.rawValue + $0.rawValue) })
  }
}

/// The STUN responder's counters at one moment (all monotonic).
public struct STUNStatsSnapshot: Sendable, Equatable {
  /// Well-formed Binding Requests from IPv4 clients (IPv4-mapped IPv6 included).
  public var requestsIPv4: UInt64
  /// Well-formed Binding Requests from IPv6 clients.
  public var requestsIPv6: UInt64
  /// Binding Success Responses sent.
  public var responses: UInt64
  /// Answers the kernel did not accept.
  public var sendFailures: UInt64
  /// Socket receive errors.
  public var receiveErrors: UInt64
  /// Dropped datagrams, indexed by `STUNDropReason.rawValue`.
  public var drops: [UInt64]

  public init(
    requestsIPv4: UInt64 = 0, requestsIPv6: UInt64 = 0, responses: UInt64 = 0, sendFailures: UInt64 = 0,
    receiveErrors: UInt64 = 0, drops: [UInt64] = Array(repeating: 0, count: STUNDropReason.allCases.count)
  ) {
    self.requestsIPv4 = requestsIPv4
    self.requestsIPv6 = requestsIPv6
    self.responses = responses
    self.sendFailures = sendFailures
    self.receiveErrors = receiveErrors
    self.drops = drops
  }

  public func drops(_ reason: STUNDropReason) -> UInt64 { drops[reason.rawValue] }

  /// Every datagram dropped as malformed or not a Binding Request.
  public var malformedTotal: UInt64 { drops.reduce(0, +) }
}
