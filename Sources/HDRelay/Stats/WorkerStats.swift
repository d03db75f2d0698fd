// One worker's counters: a block of UInt64 slots written only by that worker
// (relaxed load+store, no lock prefix) and read by scrapers with relaxed
// loads. Summed across workers into `RelayStatsSnapshot`.
import CURing

/// Scalar counter slots. Drop counters follow in a matrix after `count`.
enum Counter: Int, CaseIterable {
  case packetsReceived, packetsReceivedDisco, packetsReceivedOther, bytesReceived
  case packetsSent, bytesSent
  case accepts, acceptRateRejections, acceptErrors
  case currentConnections, currentHomeConnections
  case currentPlain, currentUserspaceTLS, currentKernelTLS
  case currentDupClientKeys, currentDupClientConns, totalDupClientConns
  case writeTimeouts, protocolErrors
  case gotPing, sentPong, peerGoneDisconnectedFrames, peerGoneNotHereFrames, keepAlivesSent
  case unknownFrames, rateLimitPauses, backpressurePauses
  case xferPackets, xferRingFull, poolFallbacks, recvBufferExhaustions, sendCalls, controlFramesDropped
  /// Receives that returned bytes, and loop sleeps in io_uring_enter (per-frame kernel work: issue 15).
  case recvCalls, loopSleeps
  /// Paused senders released because their destination looked stalled (docs/queueing.md).
  case backpressureStallReleases
  /// `busy_poll`: polls that found work (a sleep skipped) and polls that ran out.
  case busyPollHits, busyPollMisses
  /// Mesh peers that sent WatchConns (gauge).
  case watchers
  /// Packets handed to a mesh link (mesh.peers) for another relay.
  case meshForwardedPackets
  /// RecvPacket frames sent straight from the receive buffer, and frames
  /// copied instead because too many buffers were held (issue 15); receive
  /// buffers held for queued frames (gauge).
  case packetsSentInPlace, inPlaceHoldLimitCopies, recvBuffersHeldForFrames
  /// Gauges for /debug/workers only.
  case currentPeers, poolBytesInUse
  case hsTimeout, hsBadHTTP, hsNonDERP, hsBadFirstFrame, hsBadClientInfo, hsPeerClosed
  /// verify_clients outcomes (Sources/HDRelay/Verify).
  case verifyAllowed, verifyDenied, verifyFailOpenAdmits
  case verifyErrUnreachable, verifyErrTimeout, verifyErrBadStatus, verifyErrBadResponse, verifyErrQueueFull
}

final class WorkerStats: @unchecked Sendable {
  static let dropBase = Counter.allCases.count
  static let dropKinds = PacketKind.allCases.count
  static let slotCount = dropBase + DropReason.allCases.count * dropKinds * 2

  let slots: UnsafeMutablePointer<UInt64>

  init() {
    slots = .allocate(capacity: WorkerStats.slotCount)
    slots.initialize(repeating: 0, count: WorkerStats.slotCount)
  }

  deinit {
    slots.deallocate()
  }

  @inline(__always) func add(_ c: Counter, _ delta: Int = 1) {
    hd_counter_add(slots + c.rawValue, UInt64(truncatingIfNeeded: delta))
  }

  @inline(__always) func sub(_ c: Counter, _ delta: Int = 1) {
    hd_counter_sub(slots + c.rawValue, UInt64(truncatingIfNeeded: delta))
  }

  @inline(__always) func set(_ c: Counter, _ value: Int) {
    hd_store_relaxed(slots + c.rawValue, UInt64(truncatingIfNeeded: value))
  }

  @inline(__always) func drop(_ reason: DropReason, _ kind: PacketKind, packetBytes: Int) {
    let base = WorkerStats.dropBase + (reason.rawValue * WorkerStats.dropKinds + kind.rawValue) * 2
    hd_counter_add(slots + base, 1)
    hd_counter_add(slots + base + 1, UInt64(truncatingIfNeeded: packetBytes))
  }

  func handshakeFailed(_ why: HandshakeFailure) {
    switch why {
    case .timeout: add(.hsTimeout)
    case .badHTTP: add(.hsBadHTTP)
    case .nonDERPRequest: add(.hsNonDERP)
    case .badFirstFrame: add(.hsBadFirstFrame)
    case .badClientInfo: add(.hsBadClientInfo)
    case .peerClosed: add(.hsPeerClosed)
    }
  }

  func load(_ c: Counter) -> UInt64 { hd_load_relaxed(slots + c.rawValue) }

  /// Adds this worker's values into `s` (scrape thread).
  func accumulate(into s: inout RelayStatsSnapshot) {
    s.packetsReceived &+= load(.packetsReceived)
    s.packetsReceivedDisco &+= load(.packetsReceivedDisco)
    s.packetsReceivedOther &+= load(.packetsReceivedOther)
    s.bytesReceived &+= load(.bytesReceived)
    s.packetsSent &+= load(.packetsSent)
    s.bytesSent &+= load(.bytesSent)
    s.accepts &+= load(.accepts)
    s.acceptRateRejections &+= load(.acceptRateRejections)
    s.acceptErrors &+= load(.acceptErrors)
    s.currentConnections &+= load(.currentConnections)
    s.currentHomeConnections &+= load(.currentHomeConnections)
    s.currentConnectionsByTransport[TransportMode.plain.rawValue] &+= load(.currentPlain)
    s.currentConnectionsByTransport[TransportMode.userspaceTLS.rawValue] &+= load(.currentUserspaceTLS)
    s.currentConnectionsByTransport[TransportMode.kernelTLS.rawValue] &+= load(.currentKernelTLS)
    s.currentDupClientKeys &+= load(.currentDupClientKeys)
    s.currentDupClientConns &+= load(.currentDupClientConns)
    s.totalDupClientConns &+= load(.totalDupClientConns)
    s.writeTimeouts &+= load(.writeTimeouts)
    s.protocolErrors &+= load(.protocolErrors)
    s.gotPing &+= load(.gotPing)
    s.sentPong &+= load(.sentPong)
    s.peerGoneDisconnectedFrames &+= load(.peerGoneDisconnectedFrames)
    s.peerGoneNotHereFrames &+= load(.peerGoneNotHereFrames)
    s.keepAlivesSent &+= load(.keepAlivesSent)
    s.unknownFrames &+= load(.unknownFrames)
    s.rateLimitPauses &+= load(.rateLimitPauses)
    s.backpressurePauses &+= load(.backpressurePauses)
    s.xferPackets &+= load(.xferPackets)
    s.xferRingFull &+= load(.xferRingFull)
    s.poolFallbacks &+= load(.poolFallbacks)
    s.recvBufferExhaustions &+= load(.recvBufferExhaustions)
    s.sendCalls &+= load(.sendCalls)
    s.recvCalls &+= load(.recvCalls)
    s.loopSleeps &+= load(.loopSleeps)
    s.backpressureStallReleases &+= load(.backpressureStallReleases)
    s.controlFramesDropped &+= load(.controlFramesDropped)
    s.busyPollHits &+= load(.busyPollHits)
    s.busyPollMisses &+= load(.busyPollMisses)
    s.watchers &+= load(.watchers)
    s.meshForwardedPackets &+= load(.meshForwardedPackets)
    s.packetsSentInPlace &+= load(.packetsSentInPlace)
    s.inPlaceHoldLimitCopies &+= load(.inPlaceHoldLimitCopies)
    s.recvBuffersHeldForFrames &+= load(.recvBuffersHeldForFrames)
    s.currentPeers &+= load(.currentPeers)
    let hs: [(HandshakeFailure, Counter)] = [
      (.timeout, .hsTimeout), (.badHTTP, .hsBadHTTP), (.nonDERPRequest, .hsNonDERP),
      (.badFirstFrame, .hsBadFirstFrame), (.badClientInfo, .hsBadClientInfo),      (.peerClosed, .hsPeerClosed),
    ]
    for (why, c) in hs { s.handshakeFailures[why.rawValue] &+= load(c) }
    s.verifyClients.allowed &+= load(.verifyAllowed)
    s.verifyClients.denied &+= load(.verifyDenied)
    s.verifyClients.failOpenAdmits &+= load(.verifyFailOpenAdmits)
    for why in VerifyError.allCases { s.verifyClients.errors[why.rawValue] &+= load(VerifyCounters.counter(why)) }
    for reason in DropReason.allCases {
      for kind in PacketKind.allCases {
        let base = WorkerStats.dropBase + (reason.rawValue * WorkerStats.dropKinds + kind.rawValue) * 2
        s.packetsDropped[reason.rawValue][kind.rawValue] &+= hd_load_relaxed(slots + base)
        s.bytesDropped[reason.rawValue][kind.rawValue] &+= hd_load_relaxed(slots + base + 1)
      }
    }
  }
}
