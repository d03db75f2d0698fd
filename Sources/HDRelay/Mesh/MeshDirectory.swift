// Where each registered connection comes from and what kind of client it is,
// for the PeerPresent frames mesh watchers get (spec §4.4: 51-byte payload
// with the peer's ip:port and flags). A watcher may sit on another worker
// than the peer, so this is shared: written on registration and departure,
// read when watchers are told about a key. Control path only; a mutex is fine
// at connection rates. Kept only when the relay has a mesh key.
import HDProtocol
import Synchronization

final class MeshDirectory: Sendable {
  struct Entry: Sendable {
    var address: PeerAddress
    var flags: PeerPresentFlags
  }

  private let entries = Mutex<[UInt64: Entry]>([:])

  func insert(_ location: PeerLocation, _ entry: Entry) {
    entries.withLock { $0[location.raw] = entry }
  }

  func remove(_ location: PeerLocation) {
    entries.withLock { $0[location.raw] = nil }
  }

  func entry(_ location: PeerLocation) -> Entry? {
    entries.withLock { $0[location.raw] }
  }

  /// Looks up many locations under one lock (a WatchConns flood).
  func entries(_ locations: [PeerLocation]) -> [Entry?] {
    entries.withLock { table in locations.map { table[$0.raw] } }
  }
}
