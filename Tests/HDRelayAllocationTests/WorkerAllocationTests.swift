// The data plane's promise (notes/style: no heap allocation per packet; packet
// memory comes from preallocated per-worker pools with a counted fallback),
// checked by counting every malloc/free the relay's worker threads make while
// they forward 100,000 packets of 1400 bytes between 10 pairs of peers, on one
// worker and on two (same-worker and cross-worker pairs), and over userspace
// TLS on one worker.
//
// Only the workers' threads are counted (by kernel tid, see CAllocCounter), so
// the test's own client code may allocate freely. The window opens after a
// warm-up (handshakes done, pools, rings and send queues touched) and closes
// once every send completion is reaped.
import Foundation
import HDClient
import HDConfig
import HDProtocol
import HDTLS
import XCTest
@testable import HDRelay

final class WorkerAllocationTests: XCTestCase {
  static let pairCount = 10
  static let packetBytes = 1400
  /// Packets per pair per lock-step round. A destination's queue holds at
  /// most two rounds (the last one's frames until their send completion is
  /// reaped, and the next), so 2 × 10 stays under the soft depth (32): the
  /// window measures forwarding, not backpressure pauses.
  static let batchPackets = 10
  static let warmUpPackets = 5_000
  static let measuredPackets = 100_000
  /// Worker heap calls tolerated in the window: one per thousand packets.
  /// Per-packet allocation would show as ≥ 100,000; the allowance only covers
  /// events that are rare and independent of traffic volume, such as the
  /// once-per-second sweep handing idle pool pages back and re-taking them.
  static let allowedHeapCalls = UInt64(measuredPackets / 1000)
  /// Heap calls by libcrypto/libssl are counted apart (their caller is in
  /// the library). OpenSSL 3.0's own record layer made 4 per record pair (a
  /// 40-byte WPACKET sub-block per record read and written); after the
  /// handshake AES-GCM records are the worker's own (Worker+TLSRecords), whose
  /// AES-GCM calls allocate nothing, so none are allowed in any mode.
  static let libraryHeapCallsAllowed: UInt64 = 0

  func testCounterSeesTheWatchedThreadsSwiftAllocationsAndNoOtherThreads() {
    final class Box { var value = 0 }
    WorkerHeapWatch.start(threadIDs: [WorkerHeapWatch.currentThreadID])
    var boxes: [Box] = []
    boxes.reserveCapacity(1000)
    for i in 0..<1000 { let b = Box(); b.value = i; boxes.append(b) }
    boxes = []
    // Another thread's allocations must not land in this thread's counts.
    let done = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
      for _ in 0..<1000 { _ = [Int](repeating: 1, count: 16) }
      done.signal()
    }
    done.wait()
    let counts = WorkerHeapWatch.stop(threadCount: 1)[0]
    XCTAssertGreaterThanOrEqual(counts.allocations, 1001, "1000 objects + the array: the counter interposes malloc")
    XCTAssertGreaterThanOrEqual(counts.frees, 1001, "1000 objects + the array were released")
    XCTAssertLessThan(counts.allocations, 1500, "the other thread's 1000 arrays were not counted: \(counts)")
  }

  func testOneWorkerForwardsWithoutHeapAllocationPerPacket() throws {
    try assertForwardingDoesNotAllocate(workers: 1)
  }

  func testTwoWorkersForwardSameAndCrossWorkerWithoutHeapAllocationPerPacket() throws {
    try assertForwardingDoesNotAllocate(workers: 2)
  }

  /// Userspace TLS (ktls: off; kernel TLS runs only in the VM tests): records
  /// opened and sealed by the worker's own record layer.
  func testOneWorkerForwardsOverUserspaceTLSWithoutHeapAllocationPerPacket() throws {
    try assertForwardingDoesNotAllocate(workers: 1, tls: true)
  }

  // MARK: Scenario

  private func assertForwardingDoesNotAllocate(workers: Int, tls: Bool = false) throws {
    var config = Config(port: 0, bind: ["127.0.0.1"])
    if tls {
      config.tlsCert = TLSCertificate.certificatePath
      config.tlsKey = TLSCertificate.keyPath
      config.ktls = .off
    }
    let serverKeys = DERPKeyPair.generate()
    let relay = try Relay(options: RelayOptions(
      config: config, serverKeyPair: serverKeys, workerCount: workers,
      tls: try RelayTLS.make(config: config, serverKey: serverKeys.publicKey)))
    try relay.start()
    defer { relay.stop(graceSeconds: 1) }
    let port = UInt16(relay.boundPorts[0])
    let threadIDs = relay.workersSnapshot().map(\.threadID)
    XCTAssertEqual(threadIDs.count, workers)
    XCTAssertFalse(threadIDs.contains(0), "every worker reported its thread id")

    let (pairs, crossWorkerPairs) = try makePairs(relay: relay, port: port, workers: workers, tls: tls)

    // Control: the counter does see these threads allocate (building the peer
    // list is off the data path and allocates on every worker).
    WorkerHeapWatch.start(threadIDs: threadIDs)
    XCTAssertEqual(relay.peersSnapshot().count, pairs.count * 2 + extraClients.count)
    let control = WorkerHeapWatch.stop(threadCount: workers)
    for (w, counts) in control.enumerated() {
      XCTAssertGreaterThan(counts.allocations, 0, "worker \(w) allocated while listing peers: the watch sees it")
    }

    let pump = RawPacketPairs(pairs: pairs, packetBytes: Self.packetBytes, batchPackets: Self.batchPackets)
    let packetsPerRound = Self.batchPackets * pairs.count
    let warmedUp = try pump.run(rounds: Self.warmUpPackets / packetsPerRound)
    XCTAssertTrue(waitForSendCompletions(relay, total: UInt64(warmedUp)), "warm-up packets all sent")
    let before = relay.statsSnapshot()

    WorkerHeapWatch.start(threadIDs: threadIDs)
    let delivered = try pump.run(rounds: Self.measuredPackets / packetsPerRound)
    // Send completions are reaped a moment after the receivers read the bytes.
    let completed = waitForSendCompletions(relay, total: before.packetsSent + UInt64(delivered))
    let perWorker = WorkerHeapWatch.stop(threadCount: workers)
    let after = relay.statsSnapshot()

    let total = perWorker.total
    print("[alloc] \(workers) worker(s)\(tls ? " TLS" : ""), \(delivered) packets of \(Self.packetBytes) B over \(pairs.count) pairs "
      + "(\(crossWorkerPairs) cross-worker): worker heap calls \(total); per worker \(perWorker.map(\.description)); "
      + "cross-worker packets \(after.xferPackets - before.xferPackets), pool fallbacks "
      + "\(after.poolFallbacks - before.poolFallbacks), backpressure pauses "
      + "\(after.backpressurePauses - before.backpressurePauses)")
    XCTAssertEqual(delivered, Self.measuredPackets)
    XCTAssertTrue(completed, "every forwarded packet's send completed")
    XCTAssertEqual(after.packetsReceived - before.packetsReceived, UInt64(Self.measuredPackets))
    XCTAssertEqual(after.packetsDropped.joined().reduce(0, +), before.packetsDropped.joined().reduce(0, +),
                   "nothing dropped")
    let crossPackets = UInt64(crossWorkerPairs * Self.measuredPackets / pairs.count)
    XCTAssertGreaterThanOrEqual(after.xferPackets - before.xferPackets, crossPackets, "cross-worker path exercised")
    let openSSLAllowed = Self.libraryHeapCallsAllowed
    if total.ownAllocations >= Self.allowedHeapCalls { WorkerHeapWatch.printFirstAllocationStacks() }
    XCTAssertLessThan(total.ownAllocations, Self.allowedHeapCalls,
                      "workers allocated while forwarding \(Self.measuredPackets) packets: \(total)")
    XCTAssertLessThan(total.ownFrees, Self.allowedHeapCalls,
                      "workers freed while forwarding \(Self.measuredPackets) packets: \(total)")
    XCTAssertLessThanOrEqual(total.libraryAllocations, openSSLAllowed, "OpenSSL's heap calls per record: \(total)")
    XCTAssertLessThanOrEqual(total.libraryFrees, openSSLAllowed, "OpenSSL's heap calls per record: \(total)")
  }

  /// Clients connected while looking for a worker spread that were not paired.
  private var extraClients: [DERPClient] = []

  /// 10 sender→receiver pairs. One worker: all local. Two workers: 3 pairs
  /// each way across workers, 2 local pairs on each worker. Returns the pairs
  /// and how many cross workers.
  private func makePairs(relay: Relay, port: UInt16, workers: Int, tls: Bool) throws
    -> ([(sender: DERPClient, receiver: DERPClient)], Int)
  {
    var options = DERPClientOptions()
    options.handshakeTimeoutSeconds = 10  // also the receive timeout of the raw reads
    func connect() throws -> DERPClient {
      tls
        ? try DERPClient.connectTLS(host: "127.0.0.1", port: port, options: options, tls: TLSClientOptions())
        : try DERPClient.connect(host: "127.0.0.1", port: port, keys: .generate(), options: options)
    }
    if workers == 1 {
      let clients = try (0..<(2 * Self.pairCount)).map { _ in try connect() }
      return ((0..<Self.pairCount).map { (clients[2 * $0], clients[2 * $0 + 1]) }, 0)
    }
    // SO_REUSEPORT spreads connections by hash: connect until each worker has 10.
    var clients: [DERPClient] = []
    var byWorker: [[DERPClient]] = [[], []]
    while byWorker.contains(where: { $0.count < Self.pairCount }) && clients.count < 200 {
      for _ in 0..<10 { clients.append(try connect()) }
      let workerOfKey = Dictionary(uniqueKeysWithValues: relay.peersSnapshot().map { ($0.key, $0.worker) })
      byWorker = [[], []]
      for c in clients { byWorker[workerOfKey[c.publicKey]!].append(c) }
    }
    guard byWorker.allSatisfy({ $0.count >= Self.pairCount }) else {
      throw PacketPairsError(description: "200 connections did not give each worker 10: \(byWorker.map(\.count))")
    }
    let (w0, w1) = (byWorker[0], byWorker[1])
    let pairs: [(sender: DERPClient, receiver: DERPClient)] = [
      (w0[0], w1[0]), (w0[1], w1[1]), (w0[2], w1[2]),
      (w1[3], w0[3]), (w1[4], w0[4]), (w1[5], w0[5]),
      (w0[6], w0[7]), (w0[8], w0[9]), (w1[6], w1[7]), (w1[8], w1[9]),
    ]
    let paired = Set(pairs.flatMap { [ObjectIdentifier($0.sender), ObjectIdentifier($0.receiver)] })
    extraClients = clients.filter { !paired.contains(ObjectIdentifier($0)) }
    return (pairs, 6)
  }

  /// Waits (≤ 5 s) until the relay has completed `total` packet sends.
  private func waitForSendCompletions(_ relay: Relay, total: UInt64) -> Bool {
    for _ in 0..<500 {
      if relay.statsSnapshot().packetsSent >= total { return true }
      usleep(10_000)
    }
    return false
  }
}
