// Preallocated datagram slots for one recvmmsg/sendmmsg batch: request
// buffers, answer buffers and the csys_datagram descriptors pointing at them.
// Allocated once at start; the loop reuses them for every batch.
import CSys

struct STUNSlots {
  static let batchCount = 32

  let requests: UnsafeMutablePointer<csys_datagram>
  let answers: UnsafeMutablePointer<csys_datagram>
  private let memory: UnsafeMutableRawPointer

  init() {
    let n = Self.batchCount
    memory = .allocate(byteCount: n * (STUNWire.requestBytesMax + STUNWire.responseBytesMax), alignment: 16)
    requests = .allocate(capacity: n)
    answers = .allocate(capacity: n)
    for i in 0..<n {
      var r = csys_datagram()
      r.data = memory + i * STUNWire.requestBytesMax
      r.capacity = UInt32(STUNWire.requestBytesMax)
      (requests + i).initialize(to: r)
      var a = csys_datagram()
      a.data = memory + n * STUNWire.requestBytesMax + i * STUNWire.responseBytesMax
      a.capacity = UInt32(STUNWire.responseBytesMax)
      (answers + i).initialize(to: a)
    }
  }

  func deallocate() {
    requests.deallocate()
    answers.deallocate()
    memory.deallocate()
  }
}
