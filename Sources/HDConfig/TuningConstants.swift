// Compile-time tuning constants, listed in the generated reference with value,
// unit and reason. The data plane defines its own constants next to the code
// that uses them; a row here documents each one, and a test in the owning
// module can compare its constant with the row (`TuningConstants.value(named:)`).

public struct TuningConstant: Sendable, Equatable {
  /// The name in code, e.g. `DERPConstants.frameHeaderBytes`.
  public let name: String
  public let value: Int64
  public let unit: String
  /// Why it has this value, in one line.
  public let reason: String

  public init(_ name: String, _ value: Int64, _ unit: String, _ reason: String) {
    self.name = name
    self.value = value
    self.unit = unit
    self.reason = reason
  }
}

public enum TuningConstants {
  public static let all: [TuningConstant] = [
    // Protocol (HDProtocol.DERPConstants).
    TuningConstant("DERPConstants.frameHeaderBytes", 5, "bytes", "1 byte frame type + 4 byte big-endian length (DERP wire format)"),
    TuningConstant("DERPConstants.maxPacketBytes", 65_536, "bytes", "largest packet a client may send (Go MaxPacketSize = 64 KiB)"),
    TuningConstant("DERPConstants.maxClientInfoBytes", 262_144, "bytes", "largest ClientInfo payload accepted (derper: 256 KiB)"),
    TuningConstant("DERPConstants.keepAliveSeconds", 60, "s", "server KeepAlive interval, as derper"),
    TuningConstant("DERPConstants.keepAliveJitterSecondsMax", 5, "s", "per-connection jitter added to the keepalive so they do not align"),
    TuningConstant("DERPConstants.handshakeDeadlineSeconds", 10, "s", "time from accept to a complete ClientInfo (derper and C++: 10 s)"),
    // Data plane (HDRelay.Tuning).
    TuningConstant("Tuning.ringEntries", 4096, "SQ entries", "per-worker io_uring; covers thousands of busy peers per loop iteration"),
    TuningConstant("Tuning.cqeBatchMax", 256, "completions", "handled per batch before flushing sends: coalescing vs latency"),
    TuningConstant("Tuning.recvBufferCount", 256, "buffers", "provided receive buffers per worker (256 x 64 KiB = 16 MiB)"),
    TuningConstant("Tuning.recvBufferBytes", 65_536, "bytes", "most one receive takes from a socket with one worker: ~45 full-MTU frames, and a bound on what a paused sender still injects"),
    TuningConstant("Tuning.recvBytesNarrow", 32_768, "bytes", "most one receive takes with several workers (the cross-worker ring pauses at 64 KiB) or over userspace TLS"),
    TuningConstant("Tuning.smallBlockBytes", 2048, "bytes", "pool block fitting a RecvPacket frame of a full-MTU packet"),
    TuningConstant("Tuning.smallBlockCount", 32_768, "blocks", "small blocks per worker (64 MiB address space, touched as used)"),
    TuningConstant("Tuning.largeBlockCount", 512, "blocks", "64 KiB blocks per worker for maximal frames"),
    TuningConstant("Tuning.queuePacketsMax", 32, "packets", "soft depth per destination (derper's queue depth): above it the sender is paused (backpressure)"),
    TuningConstant("Tuning.otherQueueCapacity", 128, "packets", "hard depth of a destination's queue; beyond it derper's head/tail drops apply"),
    TuningConstant("Tuning.queueResumePackets", 8, "packets", "a congested destination releases its paused senders at this depth"),
    TuningConstant("Tuning.stallTicks", 5, "ticks (100 ms)", "a congested destination whose socket takes nothing this long is stalled: senders released, drops apply"),
    TuningConstant("Tuning.sendIovecsMax", 64, "iovecs", "frames coalesced into one sendmsg"),
    TuningConstant("Tuning.sendQueueBlockBytes", 4096, "bytes", "per-connection send-queue state, held only while something is queued"),
    TuningConstant("Tuning.xferRingBytes", 1_048_576, "bytes", "per cross-worker SPSC ring: several iterations of the busiest peer"),
    TuningConstant("Tuning.tickNanoseconds", 100_000_000, "ns", "longest idle wait so timers run: 10 wakeups/s per worker"),
    TuningConstant("Tuning.sqpollIdleMilliseconds", 50, "ms", "SQPOLL kernel thread idle time before it sleeps"),
    TuningConstant("Tuning.httpHeadBytesMax", 8192, "bytes", "largest HTTP upgrade request head (clients send ~200 bytes)"),
    TuningConstant("Tuning.largeBlockBytes", 65_652, "bytes", "block header + frame headers + a 64 KiB packet, for maximal frames"),
    TuningConstant("Tuning.fallbackBytesMax", 67_108_864, "bytes", "heap fallback per worker when pools are empty; beyond it packets drop as no_memory"),
    TuningConstant("Tuning.controlFramesMax", 32, "frames", "control frames (Pong, PeerGone, KeepAlive) queued per connection"),
    TuningConstant("Tuning.writeTimeoutTicks", 20, "ticks (100 ms)", "a send without progress for 2 s closes the connection (derper's write timeout)"),
    TuningConstant("Tuning.maxTicksPerWake", 5, "ticks (100 ms)", "most one loop wake-up advances the tick: the relay's own stall (descheduled, stopped, paused VM) is not charged to peers as no progress"),
    TuningConstant("Tuning.meshWriteTimeoutTicks", 300, "ticks (100 ms)", "the write timeout of mesh peers, 30 s (derper)"),
    TuningConstant("Tuning.meshOutboxBytes", 4_194_304, "bytes", "packets queued for one mesh.peers link; beyond it they are dropped as mesh_queue_full"),
    TuningConstant("Tuning.sentToTrackedMax", 1024, "peers", "PeerGone destinations tracked per sender; overflow is counted"),
    TuningConstant("Tuning.peerRateBurstBytesMin", 65_573, "bytes", "peer_rate_limit burst is at least one maximal frame, as derper raises it"),
    TuningConstant("Tuning.peerRateResumeBytes", 32_768, "bytes", "a rate-paused peer is read again once this many tokens are back (half a 64 KiB receive)"),
    TuningConstant("Tuning.xferRingPauseBytes", 65_536, "bytes", "a sender is paused while its cross-worker ring holds more: what sits in the ring must fit the hard queue depth"),
    TuningConstant("Tuning.xferRingResumeBytes", 16_384, "bytes", "the paused sender is read again when the ring is down to this"),
    TuningConstant("Tuning.remotePauseRenewTicks", 10, "ticks (100 ms)", "a cross-worker pause is repeated this often while the destination stays congested"),
    TuningConstant("Tuning.remotePauseSafetyTicks", 30, "ticks (100 ms)", "a sender with no pause renewal for this long is read again: a lost pause never holds it forever"),
  ]

  /// The documented value of a constant, for consistency tests in other modules.
  public static func value(named name: String) -> Int64? {
    all.first { $0.name == name }?.value
  }
}
