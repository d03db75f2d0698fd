// The generated reference documents HDRelay's tuning constants
// (HDConfig.TuningConstants); this keeps the rows equal to the code.
import HDConfig
import XCTest
@testable import HDRelay

final class DataPlaneTuningTests: XCTestCase {
  func testDocumentedTuningConstantsMatchTheCode() {
    let code: [(String, Int64)] = [
      ("Tuning.ringEntries", Int64(Tuning.ringEntries)),
      ("Tuning.cqeBatchMax", Int64(Tuning.cqeBatchMax)),
      ("Tuning.recvBufferCount", Int64(Tuning.recvBufferCount)),
      ("Tuning.recvBufferBytes", Int64(Tuning.recvBufferBytes)),
      ("Tuning.recvBytesNarrow", Int64(Tuning.recvBytesNarrow)),
      ("Tuning.smallBlockBytes", Int64(Tuning.smallBlockBytes)),
      ("Tuning.smallBlockCount", Int64(Tuning.smallBlockCount)),
      ("Tuning.largeBlockCount", Int64(Tuning.largeBlockCount)),
      ("Tuning.largeBlockBytes", Int64(Tuning.largeBlockBytes)),
      ("Tuning.queuePacketsMax", Int64(Tuning.queuePacketsMax)),
      ("Tuning.otherQueueCapacity", Int64(Tuning.otherQueueCapacity)),
      ("Tuning.queueResumePackets", Int64(Tuning.queueResumePackets)),
      ("Tuning.stallTicks", Int64(Tuning.stallTicks)),
      ("Tuning.sendIovecsMax", Int64(Tuning.sendIovecsMax)),
      ("Tuning.sendQueueBlockBytes", Int64(Tuning.sendQueueBlockBytes)),
      ("Tuning.xferRingBytes", Int64(Tuning.xferRingBytes)),
      ("Tuning.tickNanoseconds", Tuning.tickNanoseconds),
      ("Tuning.sqpollIdleMilliseconds", Int64(Tuning.sqpollIdleMilliseconds)),
      ("Tuning.httpHeadBytesMax", Int64(Tuning.httpHeadBytesMax)),
      ("Tuning.fallbackBytesMax", Int64(Tuning.fallbackBytesMax)),
      ("Tuning.controlFramesMax", Int64(Tuning.controlFramesMax)),
      ("Tuning.writeTimeoutTicks", Int64(Tuning.writeTimeoutTicks)),
      ("Tuning.maxTicksPerWake", Int64(Tuning.maxTicksPerWake)),
      ("Tuning.meshWriteTimeoutTicks", Int64(Tuning.meshWriteTimeoutTicks)),
      ("Tuning.meshOutboxBytes", Int64(Tuning.meshOutboxBytes)),
      ("Tuning.sentToTrackedMax", Int64(Tuning.sentToTrackedMax)),
      ("Tuning.peerRateBurstBytesMin", Tuning.peerRateBurstBytesMin),
      ("Tuning.peerRateResumeBytes", Tuning.peerRateResumeBytes),
      ("Tuning.xferRingPauseBytes", Int64(Tuning.xferRingPauseBytes)),
      ("Tuning.xferRingResumeBytes", Int64(Tuning.xferRingResumeBytes)),
      ("Tuning.remotePauseRenewTicks", Int64(Tuning.remotePauseRenewTicks)),
      ("Tuning.remotePauseSafetyTicks", Int64(Tuning.remotePauseSafetyTicks)),
    ]
    for (name, value) in code {
      XCTAssertEqual(TuningConstants.value(named: name), value, name)
    }
  }

  func testQueueLayoutFitsItsBlockAndRingsArePowersOfTwo() {
    XCTAssertLessThanOrEqual(SendQueue.blockBytesNeeded, Tuning.sendQueueBlockBytes)
    for capacity in [Tuning.controlFramesMax, Tuning.discoQueueCapacity, Tuning.otherQueueCapacity] {
      XCTAssertEqual(capacity & (capacity - 1), 0, "ring capacity \(capacity) must be a power of two")
      XCTAssertLessThanOrEqual(capacity, 255, "ring counts are stored in one byte")
    }
    XCTAssertGreaterThan(Tuning.otherQueueCapacity, Tuning.queuePacketsMax + Tuning.recvBufferBytes / 1400,
                         "the hard depth absorbs one receive buffer of full-MTU frames beyond the soft depth")
  }
}
