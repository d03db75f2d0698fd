// One data-plane thread: owns an io_uring ring, its listeners' accepts, a
// disjoint set of connections, its packet memory and its replica of the peer
// table. The loop: reap completions in batches, handle them, drain the
// cross-worker rings, flush coalesced sends, run timers, sleep in
// io_uring_enter when idle. Concerns live in the Worker+*.swift extensions.
@preconcurrency import Glibc
import CURing
import HDConfig
import HDProtocol
import Synchronization

final class Worker: @unchecked Sendable {
  let index: Int
  let shared: RelayShared
  let stats = WorkerStats()
  let conns: ConnectionTable
  let peers = PeerTable()
  let pinCore: Int?

  // Created on the worker thread (SINGLE_ISSUER rings must be).
  var ring: Ring!
  var buffers: BufferRing!
  /// A constant reference: reading an optional `var` retained and released
  /// the pool object around every frame allocation and free (issue 15).
  /// Pages are touched by the worker thread, as blocks are first used.
  let memory: PacketMemory

  /// 100 ms ticks since start (timers, deadlines, rate limits).
  var tick: UInt64 = 0
  var nextTickNanoseconds: UInt64 = 0
  var nextSweepTick: UInt64 = 0
  var completions: UnsafeMutablePointer<Completion>
  /// Head of the intrusive list of connections with frames to send.
  var dirtyHead: Int32 = -1
  /// Connections whose reading is paused by `peer_rate_limit`, and the
  /// earliest moment one of them has earned its next receive (.max: none).
  var pausedSlots: [Int32] = []
  var nextRateResumeNanoseconds: UInt64 = .max
  /// Connections whose multishot recv ran out of buffers.
  var starvedSlots: [Int32] = []
  /// Connections not read because a destination they send to is congested.
  var backpressuredSlots: [Int32] = []
  /// The connection whose frames are being handled (-1: none, e.g. cross-worker records).
  var currentSender: Int32 = -1
  /// The provided buffer whose bytes are being handled (frames in it may be
  /// sent in place, Worker+Forward), or -1.
  var receivingBuffer: Int = -1
  /// Senders on other workers paused on behalf of this worker's congested destinations.
  var remotePauses = RemotePauses()
  /// Control messages that found a cross-worker ring full, per destination worker.
  var overflow: [[XferControl]]
  /// Destination workers written to since the last wakeup pass.
  var touchedWorkers: UInt64 = 0
  /// 8-byte landing spot for the eventfd read.
  let wakeBuffer = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
  var listenersArmed = false
  var acceptRetryTick: UInt64 = 0
  var random: UInt64
  /// Per-peer budget from `peer_rate_limit` (bytes/s; 0 = off) and its burst.
  let rateBytesPerSecond: Int64
  let rateBurstBytes: Int64
  /// KeepAlive period and jitter bound in ticks (RelayOptions; 600 and 50 by default).
  let keepAliveTicks: UInt64
  let keepAliveJitterTicks: UInt64
  /// Sweep period: every second, or the keepalive period when that is shorter (tests).
  let sweepTicks: UInt64
  /// Mesh watchers on this worker and their backlogs (Worker+Mesh.swift).
  var meshWatch = MeshWatchState()
  /// (mesh source, receiver) pairs already reported to the mesh routes.
  let meshReceivers = MeshReceiverCache()
  /// `busy_poll` in ns (0 = off), and when the loop last handled completions.
  let busyPollNanoseconds: UInt64
  /// Receives may take a whole 64 KiB buffer (one worker; see armRecv).
  let wideReceives: Bool
  /// Receive buffers queued in-place frames may hold (Tuning.recvBuffersHeldForFramesMax).
  let recvBuffersHeldForFramesMax: Int
  var lastWorkNanoseconds: UInt64 = 0

  // Thread bookkeeping.
  var thread: pthread_t? = nil
  let startup = Mutex<StartupState>(.pending)
  private(set) var threadID: Int32 = 0
  var ringFlagNames = ""
  /// Stop phase: 0 running, 1 draining (no accepts, flushing sends), 2 done.
  var stopPhase = 0
  var stopDeadlineNanoseconds: UInt64 = 0
  /// Requests from other threads (snapshots).
  let control = Mutex<WorkerControl>(WorkerControl())
  let controlPending = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)

  enum StartupState: Sendable {
    case pending
    case running
    case failed(String)
  }

  init(index: Int, shared: RelayShared, pinCore: Int?, connectionCapacity: Int, keepAliveSeconds: Double,
       keepAliveJitterSeconds: Double) throws(RelayError) {
    keepAliveTicks = max(1, UInt64((keepAliveSeconds / RelayDefaults.tickSeconds).rounded()))
    keepAliveJitterTicks = max(1, UInt64((keepAliveJitterSeconds / RelayDefaults.tickSeconds).rounded()))
    sweepTicks = min(Tuning.sweepTicks, keepAliveTicks)
    self.index = index
    self.shared = shared
    self.pinCore = pinCore
    self.conns = ConnectionTable(capacity: connectionCapacity)
    self.memory = try PacketMemory()
    self.completions = .allocate(capacity: Tuning.cqeBatchMax)
    self.overflow = Array(repeating: [], count: shared.workerCount)
    self.random = monotonicNanoseconds() ^ UInt64(index &* 0x9E37_79B9)
    let rate = shared.config.peerRateLimitBytesPerSecond
    self.rateBytesPerSecond = rate
    self.rateBurstBytes = max(rate, Tuning.peerRateBurstBytesMin)
    self.busyPollNanoseconds = UInt64(max(0, shared.config.busyPollMicroseconds)) * 1000
    self.wideReceives = shared.workerCount == 1
    self.recvBuffersHeldForFramesMax = shared.recvBuffersHeldForFramesMax
    controlPending.initialize(to: 0)
    wakeBuffer.initialize(to: 0)
  }

  deinit {
    completions.deallocate()
    wakeBuffer.deallocate()
    controlPending.deallocate()
  }

  // MARK: Thread

  /// Starts the thread; returns once the ring is set up (or throws why not).
  func start() throws(RelayError) {
    let box = Unmanaged.passRetained(self)
    var t = pthread_t()
    let rc = pthread_create(&t, nil, { arg in
      let worker = Unmanaged<Worker>.fromOpaque(arg!).takeRetainedValue()
      worker.threadMain()
      return nil
    }, box.toOpaque())
    guard rc == 0 else {
      box.release()
      throw RelayError.system("pthread_create for worker \(index)", errno: rc)
    }
    thread = t
    while true {
      let state = startup.withLock { $0 }
      switch state {
      case .pending: usleep(1000)
      case .running: return
      case .failed(let why):
        pthread_join(t, nil)
        thread = nil
        throw RelayError("worker \(index): \(why)")
      }
    }
  }

  func join() {
    if let t = thread {
      pthread_join(t, nil)
      thread = nil
    }
  }

  private func threadMain() {
    threadID = csysThreadID()
    do throws(RelayError) {
      try setUp()
    } catch {
      startup.withLock { $0 = .failed(error.description) }
      return
    }
    startup.withLock { $0 = .running }
    loop()
    tearDown()
  }

  private func setUp() throws(RelayError) {
    if let core = pinCore {
      do { try ThreadAffinity.pinCurrentThread(to: [core]) } catch { throw RelayError(error.description) }
    }
    try setUpIO()
    nextTickNanoseconds = monotonicNanoseconds() + UInt64(Tuning.tickNanoseconds)
    nextSweepTick = sweepTicks
    armAccepts()
    armWake()
  }

  /// The ring and its receive buffers (the packet memory is made in init), on the calling
  /// thread (the worker's own; ConnectionFeed's when driven by hand).
  func setUpIO() throws(RelayError) {
    ring = try Ring(entries: Tuning.ringEntries, sqpoll: shared.config.sqpoll)
    ringFlagNames = ring.flagNames
    if let refusal = ring.sqpollRefusal {
      shared.log(.warning, "worker \(index): \(refusal); using \(ring.flagNames)")
    } else {
      shared.log(.debug, "worker \(index): io_uring flags \(ring.flagNames)")
    }
    buffers = try BufferRing(ring: ring, groupID: 0, count: Tuning.recvBufferCount, bufferBytes: Tuning.recvBufferBytes)
  }

  /// Closes listeners and gives back the ring and its receive buffers (the
  /// worker thread at exit; ConnectionFeed when it is dropped).
  func tearDown() {
    closeListeners()
    buffers.release(ring: ring)
    buffers = nil
    ring = nil
  }

  // MARK: Loop

  private func loop() {
    while stopPhase < 2 {
      handleControlRequests()
      deliverMeshGone()
      releaseBackpressure()
      drainXfer()
      drainVerifyResults()
      flushOverflow()
      if meshWatch.pending { flushWatchers() }
      flushDirty()
      wakeTouchedWorkers()
      let now = monotonicNanoseconds()
      let wakeNanoseconds = min(nextTickNanoseconds, nextRateResumeNanoseconds)
      var waitNanoseconds = now >= wakeNanoseconds ? 0 : Int64(wakeNanoseconds - now)
      if dirtyHead >= 0 { waitNanoseconds = 0 }
      if waitNanoseconds > 0 && busyPoll(now: now, until: wakeNanoseconds) { waitNanoseconds = 0 }
      if waitNanoseconds > 0 {
        // Announce sleep, then re-check the inbound rings (Dekker with producers' wake()).
        hd_store_seqcst(shared.sleepingFlag(index), 1)
        if inboundXferHasData() || hd_load_relaxed(controlPending) != 0 || verifyResultsWaiting { waitNanoseconds = 0 }
      }
      if waitNanoseconds > 0 { stats.add(.loopSleeps) }
      ring.submitAndWait(timeoutNanoseconds: waitNanoseconds)
      hd_store_relaxed(shared.sleepingFlag(index), 0)
      var handledAny = false
      while true {
        // Inbound cross-worker records first: a route added by another worker
        // before these completions happened must be visible when they are handled.
        drainXfer()
        let n = ring.reap(into: completions, max: Tuning.cqeBatchMax)
        if n == 0 { break }
        handledAny = true
        for i in 0..<n { dispatch(completions[i]) }
        rearmStarved()
        flushDirty()
        if n < Tuning.cqeBatchMax { break }
      }
      let after = monotonicNanoseconds()
      if handledAny { lastWorkNanoseconds = after }
      if after >= nextRateResumeNanoseconds { resumePaused(now: after) }
      if after >= nextTickNanoseconds { onTick() }
    }
  }

  @inline(__always)
  func dispatch(_ c: Completion) {
    let ud = UserData(raw: c.userData)
    switch ud.op {
    case .recv?: onRecv(c, slot: ud.slot, generation: ud.generation)
    case .send?: onSendComplete(c, slot: ud.slot, generation: ud.generation)
    case .accept?: onAccept(c, listener: Int(ud.slot))
    case .wake?: armWake()
    case .cancel?, nil: break
    }
  }

  private func armWake() {
    guard stopPhase < 2 else { return }
    hd_prep_read8(ring.sqe(), shared.wakeFDs[index], wakeBuffer, UserData(.wake, slot: 0, generation: 0).raw)
  }

  /// A pseudo-random number (xorshift64*): keepalive jitter.
  func nextRandom() -> UInt64 {
    random ^= random >> 12
    random ^= random << 25
    random ^= random >> 27
    return random &* 0x2545_F491_4F6C_DD1D
  }
}

/// Requests from other threads, handled between loop iterations.
struct WorkerControl: Sendable {
  var peersRequested = false
  var peersReply: [PeerInfo]? = nil
}

@inline(__always) func csysThreadID() -> Int32 { ThreadAffinity.currentThreadID() }
