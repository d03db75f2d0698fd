// What a throughput run does, and what it measured.

struct ThroughputConfig: Sendable {
  var host = "127.0.0.1"
  var port: UInt16 = 3340
  /// Connected peers; the first 2 × pairs form sender→receiver pairs (peer 2i → 2i+1).
  var peers = 20
  var pairs = 10
  /// Packet bytes per message (the C++ tool's --msg-size; published runs: 1400).
  var messageBytes = 1400
  /// Aggregate offered rate in Mbit/s of packet bytes; 0 = unpaced.
  var rateMbps = 0.0
  /// Measured window, after warm-up.
  var durationSeconds = 10.0
  var warmupSeconds = 2.0
  /// After senders stop, wait at most this long for in-flight messages.
  var drainSeconds = 2.0
  var tls = false
  /// Paced senders' jitter in percent of the mean gap between frames (0 =
  /// lockstep ticks; see JitterSchedule.swift).
  var jitterPercent = 0.0
  /// Pause between connecting and the first send (`--start-delay`).
  var startDelaySeconds = 0.0
  /// Frames per write (the batching that keeps generator cost low).
  var batchFrames = 32
  /// Receive buffer per receiver connection.
  var receiveBufferBytes = 256 * 1024
  var relayPID: Int32?
  /// Cross-relay runs: receivers (odd peers) connect here, a second relay of
  /// the same region, so every packet crosses the mesh; its process is
  /// sampled like the first.
  var receiverPort: UInt16?
  var relay2PID: Int32?
  var label = ""
}

struct PairResult: Sendable {
  var pairID: Int
  var senderID: Int
  var receiverID: Int
  var sent: UInt64
  var received: UInt64
  var sentInWindow: UInt64
  var receivedInWindow: UInt64
  var receivedBytesInWindow: UInt64
}

struct ThroughputResult: Sendable {
  var config: ThroughputConfig
  var connectedPeers = 0
  var connectFailed = 0
  var connectSeconds = 0.0
  var pairs: [PairResult] = []
  var sendErrors: UInt64 = 0
  /// Bytes of packets received over the whole run (warm-up, window, drain).
  var receivedBytesTotal: UInt64 = 0
  /// Seconds from traffic start until senders stopped.
  var sendingSeconds = 0.0
  var windowSeconds = 0.0
  /// Seconds the receivers spent draining after senders stopped.
  var drainedSeconds = 0.0
  /// Paced io_uring engine: writes a completion (not the tick) let a sender make.
  var writesOffTick: UInt64 = 0
  var corruptStreams = 0
  var otherFrames: UInt64 = 0
  var generatorCPUSeconds = 0.0
  var relayBefore: ProcessSample?
  var relayAfter: ProcessSample?
  var relay2Before: ProcessSample?
  var relay2After: ProcessSample?
  var engine = "io_uring"

  var sent: UInt64 { pairs.reduce(0) { $0 + $1.sent } }
  var received: UInt64 { pairs.reduce(0) { $0 + $1.received } }
  var sentInWindow: UInt64 { pairs.reduce(0) { $0 + $1.sentInWindow } }
  var receivedInWindow: UInt64 { pairs.reduce(0) { $0 + $1.receivedInWindow } }
  var lossPercent: Double { sent == 0 ? 0 : 100 * (1 - Double(received) / Double(sent)) }

  /// Packet bits received during the window / window seconds.
  var goodputMbps: Double {
    windowSeconds > 0 ? Double(pairs.reduce(0) { $0 + $1.receivedBytesInWindow }) * 8 / 1e6 / windowSeconds : 0
  }

  /// The C++ derp-scale-test figure: all received packet bits over the
  /// sending time plus its fixed ~2 s drain tail (benchmark-method.md §1.6-2).
  var drainInclusiveMbps: Double {
    let seconds = sendingSeconds + config.drainSeconds
    return seconds > 0 ? Double(receivedBytesTotal) * 8 / 1e6 / seconds : 0
  }

  var relayCPUSeconds: Double? {
    guard let a = relayBefore, let b = relayAfter else { return nil }
    return b.cpuSeconds - a.cpuSeconds
  }

  /// Share of the relay's CPU spent in the kernel (stime), in percent.
  var relaySystemPercent: Double? {
    guard let a = relayBefore, let b = relayAfter, let cpu = relayCPUSeconds, cpu > 0 else { return nil }
    return 100 * (b.systemSeconds - a.systemSeconds) / cpu
  }

  /// Relay CPU-seconds per GB (1e9 bytes) of packet data delivered.
  var relayCPUSecondsPerGB: Double? {
    guard let cpu = relayCPUSeconds, receivedBytesTotal > 0 else { return nil }
    return cpu / (Double(receivedBytesTotal) / 1e9)
  }

  /// The receivers' relay (cross-relay runs), CPU-seconds per GB delivered.
  var relay2CPUSecondsPerGB: Double? {
    guard let a = relay2Before, let b = relay2After, receivedBytesTotal > 0 else { return nil }
    return (b.cpuSeconds - a.cpuSeconds) / (Double(receivedBytesTotal) / 1e9)
  }

  var relayCPUMicrosecondsPerMessage: Double? {
    guard let cpu = relayCPUSeconds, received > 0 else { return nil }
    return cpu * 1e6 / Double(received)
  }

  /// Per message written: both sides handle every sent message, including
  /// the ones the relay drops, so this is the fair cost figure under loss.
  var relayCPUMicrosecondsPerSentMessage: Double? {
    guard let cpu = relayCPUSeconds, sent > 0 else { return nil }
    return cpu * 1e6 / Double(sent)
  }

  var generatorCPUMicrosecondsPerSentMessage: Double {
    sent > 0 ? generatorCPUSeconds * 1e6 / Double(sent) : 0
  }

  var generatorCPUMicrosecondsPerMessage: Double {
    received > 0 ? generatorCPUSeconds * 1e6 / Double(received) : 0
  }
}
