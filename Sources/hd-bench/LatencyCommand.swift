// `hd-bench latency`: closed-loop ping/echo through the relay (two relay
// traversals per sample), one ping outstanding, HdrHistogram percentiles;
// optionally with real forwarded background load from the io_uring engine.
import HDClient
import HDProtocol
import Histogram
import Synchronization

struct LatencyResult {
  var samples: Histogram<UInt64>
  var timeouts = 0
  var elapsedSeconds = 0.0
  var background: ThroughputResult?
}

enum LatencyCommand {
  static let valueOptions: Set<String> = ["host", "port", "count", "warmup", "size", "timeout-ms", "load-mbps",
                                          "load-pairs", "load-msg-size", "relay-pid", "output", "label",
                                          "receiver-port"]
  static let flagOptions: Set<String> = ["tls", "json"]

  static let usage = """
    hd-bench latency [--host H] [--port P] [--count N] [--warmup N] [--size B] [--timeout-ms MS] [--tls]
                     [--load-mbps R] [--load-pairs K] [--load-msg-size B] [--label NAME] [--json] [--output FILE]
      Ping peer → relay → echo peer → relay → ping peer; RTT from the monotonic clock.
      --receiver-port P2 puts the echo peer on another relay of the region (each sample crosses the mesh twice).
      --load-mbps R adds forwarded background traffic (K pairs) while sampling.
    """

  struct Settings {
    var host = "127.0.0.1"
    var port: UInt16 = 3340
    var count = 5000
    var warmup = 500
    var size = 64
    var timeoutSeconds = 5.0
    var tls = false
    var loadMbps = 0.0
    var loadPairs = 10
    var loadMessageBytes = 1400
    var relayPID: Int32?
    var receiverPort: UInt16?
    var label = ""
  }

  static func run(_ args: [String]) throws(BenchError) {
    let a = try Arguments(args, valueOptions: valueOptions, flagOptions: flagOptions)
    var s = Settings()
    s.host = a.string("host", s.host)
    s.port = UInt16(try a.int("port", Int(s.port), range: 1...65535))
    s.count = try a.int("count", s.count, range: 1...10_000_000)
    s.warmup = try a.int("warmup", s.warmup, range: 0...1_000_000)
    s.size = try a.int("size", s.size, range: 12...65536)
    s.timeoutSeconds = try a.double("timeout-ms", s.timeoutSeconds * 1000, range: 1...600_000) / 1000
    s.tls = a.flag("tls")
    s.loadMbps = try a.double("load-mbps", 0, range: 0...1_000_000)
    s.loadPairs = try a.int("load-pairs", s.loadPairs, range: 1...1000)
    s.loadMessageBytes = try a.int("load-msg-size", s.loadMessageBytes, range: 0...65536)
    s.relayPID = try a.optionalInt("relay-pid", range: 1...Int(Int32.max)).map(Int32.init)
    s.receiverPort = try a.optionalInt("receiver-port", range: 1...65535).map(UInt16.init)
    s.label = a.string("label", "")
    let result = try measure(s)
    let h = result.samples
    Output.log("latency: \(h.totalCount) samples of \(s.size) B" + (s.loadMbps > 0 ? " under \(JSONOut.format(s.loadMbps, decimals: 0)) Mbit/s load" : " (idle)")
      + ": p50 \(h.valueAtPercentile(50) / 1000) µs  p99 \(h.valueAtPercentile(99) / 1000) µs  p99.9 \(h.valueAtPercentile(99.9) / 1000) µs  max \(h.max / 1000) µs")
    if a.flag("json") || a.values["output"] != nil { try Output.emit(toJSON(result, s), path: a.values["output"]) }
  }

  static func measure(_ s: Settings) throws(BenchError) -> LatencyResult {
    let pinger: DERPClient
    let echo: DERPClient
    do throws(DERPClientError) {
      pinger = try connect(s)
      var echoSettings = s
      echoSettings.port = s.receiverPort ?? s.port
      echo = try connect(echoSettings)
    } catch { throw .client(error) }
    // Across the mesh: let the pinger's relay learn the echo peer first.
    if s.receiverPort != nil { MonoClock.sleep(seconds: 1.0) }
    let stopEcho = StopFlags()
    let echoHandoff = Handoff(echo)
    let echoThread = JoinableThread.spawn { [stopEcho] in runEcho(echoHandoff.value, stop: stopEcho) }
    defer {
      stopEcho.sending.store(true, ordering: .relaxed)
      echoThread.join()
    }

    // Background load on its own thread, stopped when sampling ends.
    var backgroundThread: JoinableThread?
    let stopLoad = StopFlags()
    let backgroundResult = Handoff<Result<ThroughputResult, BenchError>?>(nil)
    if s.loadMbps > 0 {
      var c = ThroughputConfig()
      c.host = s.host
      c.port = s.port
      c.pairs = s.loadPairs
      c.peers = 2 * s.loadPairs
      c.messageBytes = s.loadMessageBytes
      c.rateMbps = s.loadMbps
      c.warmupSeconds = 0
      c.durationSeconds = 3600
      c.tls = false
      c.relayPID = s.relayPID
      let config = c
      backgroundThread = JoinableThread.spawn { [stopLoad] in
        backgroundResult.value = Result { () throws(BenchError) -> ThroughputResult in
          try ThroughputCommand.measure(config, externalStop: stopLoad)
        }
      }
      // Let the load connect and reach its rate before sampling.
      while stopLoad.receiving.load(ordering: .relaxed) == false { MonoClock.sleep(seconds: 0.01) }
      MonoClock.sleep(seconds: 1.0)
    }

    var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    var result = LatencyResult(samples: histogram)
    var packet = [UInt8](repeating: 0x5a, count: s.size)
    let started = MonoClock.nanoseconds()
    var sequence: UInt32 = 0
    var failure: BenchError?
    for i in 0..<(s.warmup + s.count) {
      sequence &+= 1
      let sent = MonoClock.nanoseconds()
      packet.withUnsafeMutableBytes { p in
        p.storeBytes(of: sequence.bigEndian, toByteOffset: 0, as: UInt32.self)
        p.storeBytes(of: UInt64(sent).bigEndian, toByteOffset: 4, as: UInt64.self)
      }
      do throws(DERPClientError) {
        try pinger.send(to: echo.publicKey, packet: packet)
        try waitForEcho(pinger, sequence: sequence, deadline: sent + Int64(s.timeoutSeconds * 1e9))
        let rtt = MonoClock.nanoseconds() - sent
        if i >= s.warmup { _ = histogram.record(UInt64(max(1, rtt))) }
      } catch .timedOut {
        // In warm-up a timeout fails the run; measured, it ends sampling early.
        result.timeouts += 1
        if i < s.warmup { failure = .failed("echo timed out during warm-up") }
        break
      } catch {
        failure = .client(error)
        break
      }
    }
    result.elapsedSeconds = Double(MonoClock.nanoseconds() - started) / 1e9
    result.samples = histogram
    if let backgroundThread {
      stopLoad.sending.store(true, ordering: .relaxed)
      backgroundThread.join()
      switch backgroundResult.value {
      case .success(let r)?: result.background = r
      case .failure(let e)?: failure = failure ?? e
      case nil: break
      }
    }
    pinger.close()
    if let failure { throw failure }
    return result
  }

  static func connect(_ s: Settings) throws(DERPClientError) -> DERPClient {
    s.tls ? try DERPClient.connectTLS(host: s.host, port: s.port, options: PeerSetup.clientOptions())
      : try DERPClient.connect(host: s.host, port: s.port, options: PeerSetup.clientOptions())
  }

  /// Reads frames until the echo of `sequence` arrives; other frames (stale
  /// echoes, keep-alives) are skipped.
  static func waitForEcho(_ client: DERPClient, sequence: UInt32, deadline: Int64) throws(DERPClientError) {
    while true {
      let remaining = Double(deadline - MonoClock.nanoseconds()) / 1e9
      guard remaining > 0 else { throw .timedOut }
      let (header, payload) = try client.receiveRaw(timeoutSeconds: .some(remaining))
      guard header.type == .recvPacket, payload.count >= DERPConstants.keyBytes + 4 else { continue }
      let got = UInt32(bigEndian: payload.loadUnaligned(fromByteOffset: DERPConstants.keyBytes, as: UInt32.self))
      if got == sequence { return }
    }
  }

  /// Reflects every packet back to its source until stopped.
  static func runEcho(_ client: DERPClient, stop: StopFlags) {
    let packet = UnsafeMutableRawBufferPointer.allocate(byteCount: DERPConstants.maxPacketBytes, alignment: 16)
    defer { packet.deallocate() }
    while !stop.sending.load(ordering: .relaxed) {
      do throws(DERPClientError) {
        let (header, payload) = try client.receiveRaw(timeoutSeconds: .some(0.1))
        guard header.type == .recvPacket, payload.count >= DERPConstants.keyBytes else { continue }
        let source = DERPKey(bytes: payload.baseAddress!)
        let n = payload.count - DERPConstants.keyBytes
        packet.baseAddress!.copyMemory(from: payload.baseAddress! + DERPConstants.keyBytes, byteCount: n)
        try client.send(to: source, packet: UnsafeRawBufferPointer(start: packet.baseAddress!, count: n))
      } catch .timedOut {
        continue
      } catch {
        return
      }
    }
    client.close()
  }

  static func toJSON(_ r: LatencyResult, _ s: Settings) -> JSONOut {
    let h = r.samples
    var fields: [(String, JSONOut)] = [
      ("test", .string("latency")),
      ("mode", .string("ping")),
      ("timestamp", .string(isoTimestamp())),
      ("relay", .string(s.label.isEmpty ? "hyper-derp" : s.label)),
      ("tls", .bool(s.tls)),
      ("config", .object([("packet_count", .int(Int64(s.count))), ("packet_size", .int(Int64(s.size))),
                          ("warmup", .int(Int64(s.warmup))), ("load_mbps", .num(s.loadMbps, 1))])),
      ("elapsed_ms", .num(r.elapsedSeconds * 1000, 1)),
      ("packets", .uint(h.totalCount)),
      ("timeouts", .int(Int64(r.timeouts))),
      ("latency_ns", .object([
        ("samples", .uint(h.totalCount)),
        ("min", .uint(h.totalCount > 0 ? h.min : 0)),
        ("max", .uint(h.max)),
        ("mean", .uint(UInt64(h.totalCount > 0 ? h.mean : 0))),
        ("p50", .uint(h.valueAtPercentile(50))),
        ("p90", .uint(h.valueAtPercentile(90))),
        ("p99", .uint(h.valueAtPercentile(99))),
        ("p999", .uint(h.valueAtPercentile(99.9))),
      ])),
    ]
    if let b = r.background {
      fields.append(("background", .object([
        ("rate_mbps", .num(b.config.rateMbps, 1)),
        ("active_pairs", .int(Int64(b.config.pairs))),
        ("goodput_mbps", .num(b.goodputMbps, 1)),
        ("messages_sent", .uint(b.sent)),
        ("messages_recv", .uint(b.received)),
        ("message_loss_pct", .num(b.lossPercent, 4)),
      ])))
    }
    return .object(fields)
  }
}
