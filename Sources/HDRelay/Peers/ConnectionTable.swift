// The worker's connection slots: one large allocation whose pages are touched
// only up to the highest slot ever used, a free-slot stack, and a count.

final class ConnectionTable {
  let capacity: Int
  let slots: UnsafeMutablePointer<Connection>
  /// Slots below this index have been initialised.
  private(set) var highWater: Int32 = 0
  private var freeStack: [Int32] = []
  /// Slots in use (any state but .free).
  private(set) var live: Int = 0

  init(capacity: Int) {
    self.capacity = capacity
    slots = .allocate(capacity: capacity)
    freeStack.reserveCapacity(1024)
  }

  deinit {
    slots.deinitialize(count: Int(highWater))
    slots.deallocate()
  }

  /// A free slot, initialised to a fresh connection for `fd`, or nil when full.
  func allocate(fd: Int32) -> Int32? {
    let slot: Int32
    if let reused = freeStack.popLast() {
      slot = reused
    } else if Int(highWater) < capacity {
      slot = highWater
      (slots + Int(slot)).initialize(to: Connection())
      highWater += 1
    } else {
      return nil
    }
    // Generation 0 is never used so a packed location is never 0 (the empty marker).
    var generation = (slots[Int(slot)].generation &+ 1) & 0xFF_FFFF
    if generation == 0 { generation = 1 }
    slots[Int(slot)] = Connection()
    slots[Int(slot)].fd = fd
    slots[Int(slot)].generation = generation
    live += 1
    return slot
  }

  /// Marks `slot` free; its generation stays so stale references keep failing.
  func free(_ slot: Int32) {
    precondition(slots[Int(slot)].state != .free, "double free of connection slot")
    slots[Int(slot)].state = .free
    slots[Int(slot)].fd = -1
    freeStack.append(slot)
    live -= 1
  }

  @inline(__always) subscript(slot: Int32) -> UnsafeMutablePointer<Connection> {
    slots + Int(slot)
  }

  /// The connection at `location.slot` if it is still the same connection.
  @inline(__always) func resolve(slot: Int32, generation: UInt32) -> UnsafeMutablePointer<Connection>? {
    guard slot >= 0 && slot < highWater else { return nil }
    let c = slots + Int(slot)
    return c.pointee.generation == generation && c.pointee.state != .free ? c : nil
  }
}
