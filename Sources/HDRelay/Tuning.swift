// Every data-plane sizing constant in one place, each with the reason for its
// value. Units are last in the names.

enum Tuning {
  // MARK: io_uring
  /// SQ entries per worker ring. Each loop iteration submits at most one send
  /// per dirty connection plus re-arms; 4096 covers thousands of busy peers
  /// per iteration, and `Ring.sqe()` submits early if the SQ ever fills.
  static let ringEntries: UInt32 = 4096
  /// Completions handled per batch before flushing sends: big enough to
  /// coalesce many frames per destination, small enough to keep latency low.
  static let cqeBatchMax = 256
  /// Idle wait: the loop sleeps in io_uring_enter at most this long so timers
  /// (keepalive, handshake deadline, write timeout, rate-limit resume) run.
  /// 100 ms gives 10 wakeups/s per worker: far below 1 % of a core.
  static let tickNanoseconds: Int64 = 100_000_000
  /// Full connection sweep (deadlines, keepalives, pool trimming) period.
  /// A sweep visits every live slot: 10k idle peers cost ~0.1 ms per second.
  static let sweepTicks: UInt64 = 10
  /// SQPOLL kernel thread idle time before it sleeps.
  static let sqpollIdleMilliseconds: UInt32 = 50

  // MARK: Receive
  /// Provided receive buffers per worker (power of two). 256 × 64 KiB = 16 MiB:
  /// enough in flight for hundreds of busy sockets per batch.
  static let recvBufferCount = 256
  /// Bytes per provided receive buffer, and so the most one receive takes
  /// from a socket: ~45 frames of 1400-byte packets, so the per-receive cost
  /// (system call, io_uring work, the ACK the kernel sends) is spread over many
  /// frames, while a paused sender can overshoot its destination's soft queue
  /// depth by at most that much (the hard depth is 128). Pages are touched
  /// only as receives fill them. Issue 15 (perf profile, 10 pairs batched):
  /// at 32 KiB every receive also sent an ACK, 9 % of the relay's CPU.
  static let recvBufferBytes = 64 * 1024
  /// Receive buffers that queued frames sent in place (Worker+Forward) may
  /// keep from the kernel at once; past it frames are copied into pool
  /// blocks. A stalled receiver holds its frames' buffers until the write
  /// timeout, so this keeps three quarters of the ring for receives (and
  /// above the ENOBUFS re-arm share, recvRearmFreeDivisor).
  static let recvBuffersHeldForFramesMax = recvBufferCount / 4
  /// Most one receive takes with more than one worker or over userspace TLS (see armRecv).
  static let recvBytesNarrow: UInt32 = 32 * 1024
  /// After ENOBUFS, a multishot recv is re-armed only when this share of the
  /// buffers is back (re-arming at once caused ~460k ENOBUFS in platform tests).
  static let recvRearmFreeDivisor = 4
  /// Largest HTTP request head accepted before the upgrade (derper's Go
  /// server allows 1 MiB; real clients send ~200 bytes; the C++ server 4 KiB).
  static let httpHeadBytesMax = 8 * 1024

  // MARK: Packet memory
  /// Small pool block: fits a RecvPacket frame of a full-MTU WireGuard packet
  /// (37 + 1500 B) with room to spare, plus the 16-byte block header.
  static let smallBlockBytes = 2048
  /// Small blocks per worker: 32 Ki × 2 KiB = 64 MiB of address space,
  /// touched only as used (bump allocation) and released when idle.
  static let smallBlockCount = 32 * 1024
  /// Large block: block header + RecvPacket header + 64 KiB packet, or a
  /// whole maximal incoming frame (ForwardPacket header + 64 KiB) for reassembly.
  static let largeBlockBytes = 16 + 5 + 64 + 65_536 + 31
  /// Large blocks per worker: 512 × 64 KiB = 32 MiB of address space.
  static let largeBlockCount = 512
  /// Heap fallback when a pool is empty, bounded per worker so a flood of
  /// slow receivers cannot grow the relay without bound; beyond it packets
  /// are dropped with reason `no_memory`.
  static let fallbackBytesMax = 64 * 1024 * 1024

  // MARK: Send queues and backpressure (see docs/queueing.md)
  /// Soft depth per destination and kind (derper's 32): above it the sender
  /// that keeps adding is paused (TCP backpressure) instead of losing packets.
  static let queuePacketsMax = 32
  /// Hard depth of the "other" FIFO: room for what a paused sender had already
  /// received; beyond it derper's head/tail drops apply.
  static let otherQueueCapacity = 128
  /// Disco packets are few and small: derper's 32, drops only.
  static let discoQueueCapacity = 32
  /// A congested destination releases its paused senders at this depth.
  static let queueResumePackets = 8
  /// A congested destination whose socket took no bytes for this long is
  /// treated as stalled: its senders are released and packets to it are
  /// dropped (head, then tail) as in derper, so a receiver that stops reading
  /// never holds its senders up for longer. 300 ms lost 41 of 2.2M packets on a
  /// host with load average 13 (a reader starved of CPU looked stalled); 500 ms.
  static let stallTicks: UInt64 = 5
  /// Control frames (Pong, PeerGone, KeepAlive, handshake replies) queued per connection.
  static let controlFramesMax = 32
  /// iovecs per sendmsg: up to this many frames coalesced into one send.
  static let sendIovecsMax = 64
  /// Send-queue state block (rings + msghdr + iovecs), from its own pool.
  static let sendQueueBlockBytes = 4096
  static let sendQueueBlockCount = 16 * 1024
  /// derper's write timeout: a send with no progress this long closes the connection.
  static let writeTimeoutTicks: UInt64 = 20
  /// The most one wake-up of a worker's loop advances its tick: a loop that
  /// did not run for longer (descheduled, SIGSTOP, a paused VM) counts the gap
  /// as this much, so its own stall is not charged to peers as no progress.
  static let maxTicksPerWake: UInt64 = 5
  /// Mesh peers get 30 s (derper), since a whole region's traffic may queue behind them.
  static let meshWriteTimeoutTicks: UInt64 = 300
  /// Packets waiting for one mesh peer's link (ForwardPacket frames); beyond
  /// it they are dropped as `mesh_queue_full`.
  static let meshOutboxBytes = 4 * 1024 * 1024

  // MARK: Protocol timing
  /// Deadline from accept to registration (derper: 10 s).
  static let handshakeTimeoutTicks: UInt64 = 100
  /// KeepAlive every 60 s plus a per-connection jitter in [0, 5 s).
  static let keepAliveTicks: UInt64 = 600
  static let keepAliveJitterTicksMax: UInt64 = 50
  /// PeerGone(NotHere) answers: 1 per second, burst 3, per connection.
  static let notHereBurst: Int32 = 3
  static let notHereRefillTicks: UInt64 = 10

  // MARK: Cross-worker
  /// Bytes per cross-worker SPSC ring (one per ordered worker pair). 1 MiB
  /// holds ~700 full-MTU frames: several loop iterations of the busiest peer.
  static let xferRingBytes = 1 << 20
  /// A sender pushing into a ring that holds more than this (the consumer is
  /// behind) is paused until the ring is down to `xferRingResumeBytes` (or for
  /// `stallTicks`). The consumer takes every record and queues at most the hard
  /// depth per destination, so the ring must not hold more for one destination
  /// than its queue can absorb: with half the ring (~370 frames) 0.5 % of
  /// packets were head-dropped in the 20-peer, 2-worker benchmark; 64 KiB: 0 %.
  static let xferRingPauseBytes = 64 * 1024
  static let xferRingResumeBytes = 16 * 1024
  /// A worker that paused a sender on another worker (its destination here is
  /// congested) repeats the pause this often while the cause lasts...
  static let remotePauseRenewTicks: UInt64 = 10
  /// ...and the sender's worker reads the sender again when no pause or
  /// renewal came for this long: the safety net that keeps a lost or stale
  /// pause from holding a sender forever (never needed while messages flow).
  static let remotePauseSafetyTicks: UInt64 = 30
  /// PeerGone(Disconnected) destinations tracked per sending connection
  /// (derper tracks all; we cap memory per connection and count overflow).
  static let sentToTrackedMax = 1024

  // MARK: Rate limiting
  /// Bucket burst for `peer_rate_limit`: at least one maximal frame so a
  /// frame is never cut (derper raises the burst to 65568 likewise).
  static let peerRateBurstBytesMin: Int64 = 65_536 + 32 + 5
  /// A paused peer is read again once this many tokens are back (half a full
  /// receive, as before receives grew to 64 KiB): smaller would wake the loop
  /// more often for smaller reads. The burst is larger, so the bucket always gets there.
  static let peerRateResumeBytes: Int64 = 32 * 1024
}
