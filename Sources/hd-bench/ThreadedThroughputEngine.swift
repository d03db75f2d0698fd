// The TLS throughput engine: OpenSSL sessions are blocking streams here, so
// each sender and receiver gets a thread. Writes are still batched (many
// frames per SSL_write) and reads large (many frames per SSL_read), and the
// counting is the same header-skipping counter as the io_uring engine.
@preconcurrency import Glibc
import HDClient
import HDProtocol
import Synchronization

final class SharedCounters: Sendable {
  let bytesWritten = Atomic<UInt64>(0)
  let packets = Atomic<UInt64>(0)
  let packetBytes = Atomic<UInt64>(0)
  let otherFrames = Atomic<UInt64>(0)
  let errors = Atomic<UInt64>(0)
  let corrupt = Atomic<Bool>(false)
}

final class StopFlags: Sendable {
  let sending = Atomic<Bool>(false)
  let receiving = Atomic<Bool>(false)
}

final class ThreadedThroughputEngine {
  let config: ThroughputConfig
  let messagesPerSender: UInt64?
  let senderCounters: [SharedCounters]
  let receiverCounters: [SharedCounters]
  let senderClients: [Handoff<DERPClient>]
  let receiverClients: [Handoff<DERPClient>]
  let destinations: [DERPKey]
  let stop = StopFlags()

  init(config: ThroughputConfig, peers: [ConnectedPeer], messagesPerSender: UInt64? = nil) {
    precondition(peers.count >= 2 * config.pairs && peers.allSatisfy { $0.client != nil })
    self.config = config
    self.messagesPerSender = messagesPerSender
    senderCounters = (0..<config.pairs).map { _ in SharedCounters() }
    receiverCounters = (0..<config.pairs).map { _ in SharedCounters() }
    senderClients = (0..<config.pairs).map { Handoff(peers[2 * $0].client!) }
    receiverClients = (0..<config.pairs).map { Handoff(peers[2 * $0 + 1].client!) }
    destinations = (0..<config.pairs).map { peers[2 * $0 + 1].keys.publicKey }
  }

  func run() -> UringThroughputEngine.Outcome {
    let t0 = MonoClock.nanoseconds()
    var outcome = UringThroughputEngine.Outcome()
    let (receiversThreads, senderThreads) = config.rateMbps > 0 ? spawnPaced(t0: t0) : spawnUnpaced(t0: t0)
    let warmEnd = t0 + Int64(config.warmupSeconds * 1e9)
    let windowEnd = warmEnd + Int64(config.durationSeconds * 1e9)
    sleepUntil(warmEnd)
    let start = snapshot()
    while MonoClock.nanoseconds() < windowEnd {
      if let cap = messagesPerSender, senderCounters.allSatisfy({ $0.bytesWritten.load(ordering: .relaxed) / UInt64(frameBytes) >= cap }) { break }
      MonoClock.sleep(seconds: 0.01)
    }
    let end = snapshot()
    outcome.windowSeconds = Double(MonoClock.nanoseconds() - warmEnd) / 1e9
    stop.sending.store(true, ordering: .relaxed)
    senderThreads.forEach { $0.join() }
    let stopped = MonoClock.nanoseconds()
    outcome.sendingSeconds = Double(stopped - t0) / 1e9
    let deadline = stopped + Int64(config.drainSeconds * 1e9)
    while MonoClock.nanoseconds() < deadline && totalReceived() < totalSent() {
      MonoClock.sleep(seconds: 0.005)
    }
    outcome.drainedSeconds = Double(MonoClock.nanoseconds() - stopped) / 1e9
    stop.receiving.store(true, ordering: .relaxed)
    receiversThreads.forEach { $0.join() }
    windowStart = start
    windowEnd_ = end
    return outcome
  }

  /// Unpaced: a blocking thread per sender and per receiver, each as fast as
  /// its stream goes.
  private func spawnUnpaced(t0: Int64) -> (receivers: [JoinableThread], senders: [JoinableThread]) {
    let receivers = (0..<config.pairs).map { i in
      let client = receiverClients[i]
      let counters = receiverCounters[i]
      let bufferBytes = config.receiveBufferBytes
      return JoinableThread.spawn { [stop] in
        Self.receiveLoop(client: client.value, counters: counters, bufferBytes: bufferBytes, stop: stop)
      }
    }
    let senders = (0..<config.pairs).map { i in
      let client = senderClients[i]
      let counters = senderCounters[i]
      let destination = destinations[i]
      let config = self.config
      let cap = messagesPerSender
      return JoinableThread.spawn { [stop] in
        Self.sendLoop(client: client.value, counters: counters, destination: destination, config: config,
                      cap: cap, t0: t0, stop: stop)
      }
    }
    return (receivers, senders)
  }

  /// Paced: one thread writes for every sender and one reads for every
  /// receiver, each once per tick. A thread per connection woke 20 times per
  /// tick, and those context switches cost the generator more per message
  /// than the relay spends.
  private func spawnPaced(t0: Int64) -> (receivers: [JoinableThread], senders: [JoinableThread]) {
    let config = self.config
    let tickNanoseconds = UringThroughputEngine.pacedTick(config)
    let receiverClients = self.receiverClients
    let receiverCounters = self.receiverCounters
    let receiver = JoinableThread.spawn { [stop] in
      Self.pacedReceiveLoop(clients: receiverClients.map(\.value), counters: receiverCounters,
                            bufferBytes: config.receiveBufferBytes, tickNanoseconds: tickNanoseconds, stop: stop)
    }
    let senderClients = self.senderClients
    let senderCounters = self.senderCounters
    let destinations = self.destinations
    let cap = messagesPerSender
    let sender = JoinableThread.spawn { [stop] in
      Self.pacedSendLoop(clients: senderClients.map(\.value), counters: senderCounters, destinations: destinations,
                         config: config, cap: cap, t0: t0, tickNanoseconds: tickNanoseconds, stop: stop)
    }
    return ([receiver], [sender])
  }

  var frameBytes: Int { FrameWriter.sendPacketHeaderBytes + config.messageBytes }
  var windowStart: [(UInt64, UInt64, UInt64)] = []
  var windowEnd_: [(UInt64, UInt64, UInt64)] = []

  func sleepUntil(_ t: Int64) {
    let now = MonoClock.nanoseconds()
    if t > now { MonoClock.sleep(seconds: Double(t - now) / 1e9) }
  }

  /// (frames sent, packets received, packet bytes received) per pair.
  func snapshot() -> [(UInt64, UInt64, UInt64)] {
    (0..<config.pairs).map { i in
      (senderCounters[i].bytesWritten.load(ordering: .relaxed) / UInt64(frameBytes),
       receiverCounters[i].packets.load(ordering: .relaxed), receiverCounters[i].packetBytes.load(ordering: .relaxed))
    }
  }

  func totalSent() -> UInt64 { senderCounters.reduce(0) { $0 + $1.bytesWritten.load(ordering: .relaxed) / UInt64(frameBytes) } }
  func totalReceived() -> UInt64 { receiverCounters.reduce(0) { $0 + $1.packets.load(ordering: .relaxed) } }

  func pairResults() -> [PairResult] {
    (0..<config.pairs).map { i in
      PairResult(pairID: i, senderID: 2 * i, receiverID: 2 * i + 1,
                 sent: senderCounters[i].bytesWritten.load(ordering: .relaxed) / UInt64(frameBytes),
                 received: receiverCounters[i].packets.load(ordering: .relaxed),
                 sentInWindow: windowEnd_[i].0 - windowStart[i].0,
                 receivedInWindow: windowEnd_[i].1 - windowStart[i].1,
                 receivedBytesInWindow: windowEnd_[i].2 - windowStart[i].2)
    }
  }

  var sendErrors: UInt64 { senderCounters.reduce(0) { $0 + $1.errors.load(ordering: .relaxed) } }
  var receivedBytesTotal: UInt64 { receiverCounters.reduce(0) { $0 + $1.packetBytes.load(ordering: .relaxed) } }
  var corruptStreams: Int { receiverCounters.filter { $0.corrupt.load(ordering: .relaxed) }.count }
  var otherFrames: UInt64 { receiverCounters.reduce(0) { $0 + $1.otherFrames.load(ordering: .relaxed) } }

  static func sendLoop(client: DERPClient, counters: SharedCounters, destination: DERPKey, config: ThroughputConfig,
                       cap: UInt64?, t0: Int64, stop: StopFlags) {
    let batch = FrameBatch(destination: destination, messageBytes: config.messageBytes, frames: config.batchFrames)
    defer { batch.free() }
    let perSenderBytesPerSecond = config.rateMbps * 1e6 / 8 / Double(max(1, config.pairs))
    let tickNanoseconds = UringThroughputEngine.pacedTick(config)
    var written: UInt64 = 0
    while !stop.sending.load(ordering: .relaxed) {
      var allowed = written / UInt64(batch.frameBytes) + UInt64(batch.frames)
      if config.rateMbps > 0 {
        let elapsed = Double(MonoClock.nanoseconds() - t0) / 1e9
        allowed = min(allowed, UInt64(elapsed * perSenderBytesPerSecond / Double(config.messageBytes)))
      }
      if let cap { allowed = min(allowed, cap) }
      let (pointer, length) = batch.nextWrite(bytesWritten: written, framesAllowed: allowed)
      if length == 0 {
        // Paced and nothing due: sleep a tick so the allowance gathers several
        // frames per SSL_write (a wake-up per frame would cost more than the frame).
        MonoClock.sleep(seconds: Double(tickNanoseconds) / 1e9)
        continue
      }
      do throws(DERPClientError) {
        try client.transport.write(UnsafeRawBufferPointer(start: pointer, count: length))
        written += UInt64(length)
        counters.bytesWritten.store(written, ordering: .relaxed)
      } catch {
        counters.errors.add(1, ordering: .relaxed)
        return
      }
    }
  }

  static func receiveLoop(client: DERPClient, counters: SharedCounters, bufferBytes: Int, stop: StopFlags) {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferBytes, alignment: 64)
    defer { buffer.deallocate() }
    var counter = StreamCounter()
    try? client.transport.setReadTimeout(seconds: 0.05)
    while !stop.receiving.load(ordering: .relaxed) {
      do throws(DERPClientError) {
        let n = try client.transport.read(into: buffer)
        if n == 0 { return }
        counter.consume(buffer.baseAddress!, n)
        counters.packets.store(counter.packets, ordering: .relaxed)
        counters.packetBytes.store(counter.packetBytes, ordering: .relaxed)
        counters.otherFrames.store(counter.otherFrames, ordering: .relaxed)
        if counter.corrupt { counters.corrupt.store(true, ordering: .relaxed) }
      } catch {
        if error == .timedOut { continue }
        return
      }
    }
  }

  /// Every tick: each sender writes what its allowance permits (batched
  /// SSL_writes of up to `batchFrames` frames; with jitter, by its own
  /// schedule). Writes block only when the relay pushes back, as in the
  /// C++ tool.
  static func pacedSendLoop(clients: [DERPClient], counters: [SharedCounters], destinations: [DERPKey],
                            config: ThroughputConfig, cap: UInt64?, t0: Int64, tickNanoseconds: Int64, stop: StopFlags) {
    let batches = destinations.map { FrameBatch(destination: $0, messageBytes: config.messageBytes, frames: config.batchFrames) }
    defer { batches.forEach { $0.free() } }
    let perSenderBytesPerSecond = config.rateMbps * 1e6 / 8 / Double(max(1, config.pairs))
    var written = [UInt64](repeating: 0, count: clients.count)
    var dead = [Bool](repeating: false, count: clients.count)
    var nextTick = t0
    var random = BenchRandom(seed: UInt64(truncatingIfNeeded: t0))
    let gap = config.frameGapNanoseconds
    var schedules = clients.map { _ in
      config.jitterPercent > 0 ? JitterSchedule(start: t0, gapNanoseconds: gap, random: &random) : JitterSchedule()
    }
    while !stop.sending.load(ordering: .relaxed) {
      let now = MonoClock.nanoseconds()
      let elapsed = Double(now - t0) / 1e9
      let byRate = UInt64(elapsed * perSenderBytesPerSecond / Double(config.messageBytes))
      for i in clients.indices where !dead[i] {
        let batch = batches[i]
        var due = byRate
        if config.jitterPercent > 0 {
          schedules[i].advance(to: now, gapNanoseconds: gap, jitter: config.jitterFraction, random: &random)
          due = schedules[i].due
        }
        // Several writes when the batch is smaller than what is due (one frame per write).
        while true {
          var allowed = min(written[i] / UInt64(batch.frameBytes) + UInt64(batch.frames), due)
          if let cap { allowed = min(allowed, cap) }
          let (pointer, length) = batch.nextWrite(bytesWritten: written[i], framesAllowed: allowed)
          guard length > 0 else { break }
          do throws(DERPClientError) {
            try clients[i].transport.write(UnsafeRawBufferPointer(start: pointer, count: length))
            written[i] += UInt64(length)
            counters[i].bytesWritten.store(written[i], ordering: .relaxed)
          } catch {
            counters[i].errors.add(1, ordering: .relaxed)
            dead[i] = true
            break
          }
        }
      }
      nextTick += tickNanoseconds
      let after = MonoClock.nanoseconds()
      if nextTick > after { MonoClock.sleep(seconds: Double(nextTick - after) / 1e9) } else { nextTick = after }
    }
  }

  /// Every tick: one poll over all receivers, then each readable one is read
  /// until its socket and its TLS session hold nothing more.
  static func pacedReceiveLoop(clients: [DERPClient], counters: [SharedCounters], bufferBytes: Int,
                               tickNanoseconds: Int64, stop: StopFlags) {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferBytes, alignment: 64)
    defer { buffer.deallocate() }
    var streamCounters = [StreamCounter](repeating: StreamCounter(), count: clients.count)
    var open = [Bool](repeating: true, count: clients.count)
    var polls = clients.map { pollfd(fd: $0.transport.fileDescriptor, events: Int16(POLLIN), revents: 0) }
    for c in clients { try? c.transport.setReadTimeout(seconds: 0.05) }
    var nextTick = MonoClock.nanoseconds()
    while !stop.receiving.load(ordering: .relaxed) {
      for i in polls.indices { polls[i].fd = open[i] ? clients[i].transport.fileDescriptor : -1 }
      _ = poll(&polls, nfds_t(polls.count), 0)
      for i in clients.indices where open[i] {
        var readable = polls[i].revents != 0 || clients[i].transport.bufferedReadBytes > 0
        while readable {
          do throws(DERPClientError) {
            let n = try clients[i].transport.read(into: buffer)
            if n == 0 {
              open[i] = false
              break
            }
            streamCounters[i].consume(buffer.baseAddress!, n)
          } catch {
            if error != .timedOut { open[i] = false }
            break
          }
          readable = clients[i].transport.bufferedReadBytes > 0 || socketReadable(clients[i].transport.fileDescriptor)
        }
        counters[i].packets.store(streamCounters[i].packets, ordering: .relaxed)
        counters[i].packetBytes.store(streamCounters[i].packetBytes, ordering: .relaxed)
        counters[i].otherFrames.store(streamCounters[i].otherFrames, ordering: .relaxed)
        if streamCounters[i].corrupt { counters[i].corrupt.store(true, ordering: .relaxed) }
      }
      nextTick += tickNanoseconds
      let now = MonoClock.nanoseconds()
      if nextTick > now { MonoClock.sleep(seconds: Double(nextTick - now) / 1e9) } else { nextTick = now }
    }
  }

  /// True if the socket has bytes to read now (poll with no wait).
  static func socketReadable(_ fd: Int32) -> Bool {
    var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    return poll(&p, 1, 0) > 0
  }
}
