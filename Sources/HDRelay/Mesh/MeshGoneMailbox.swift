// PeerGone(Disconnected) frames a worker owes its connections because a mesh
// key they sent to left the region (posted by mesh link threads, drained by
// the worker at the top of its loop; rare, so a mutex and a flag suffice).
import HDProtocol
import Synchronization

final class MeshGoneMailbox: Sendable {
  private let items = Mutex<[(key: DERPKey, location: PeerLocation)]>([])
  private let waiting = Atomic<Bool>(false)

  var hasItems: Bool { waiting.load(ordering: .acquiring) }

  func post(key: DERPKey, to location: PeerLocation) {
    items.withLock { $0.append((key, location)) }
    waiting.store(true, ordering: .releasing)
  }

  func take() -> [(key: DERPKey, location: PeerLocation)] {
    waiting.store(false, ordering: .releasing)
    return items.withLock { list in
      defer { list.removeAll() }
      return list
    }
  }
}
