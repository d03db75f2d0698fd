// A worker's mesh watchers (connections that sent WatchConns) and what each
// still has to be told. A WatchConns on a relay with many peers is thousands
// of PeerPresent frames: they wait here and go out in blocks of up to
// `MeshWatchState.framesPerBlock` as the watcher's control queue drains, so
// the flood is bounded by the number of peers and never overflows the queue.
import HDProtocol

struct MeshWatchState {
  struct Item {
    var key: DERPKey
    /// PeerPresent (with the peer's address and flags; nil = unknown) or PeerGone(Disconnected).
    var present: Bool
    var entry: MeshDirectory.Entry?

    var frameBytes: Int { present ? FrameWriter.peerPresentFrameBytes : FrameWriter.peerGoneFrameBytes }
  }

  struct Watcher {
    var slot: Int32
    var generation: UInt32
    var backlog: [Item] = []
    /// Items of `backlog` already queued on the connection.
    var sent = 0
  }

  /// Frames packed into one control block (~28 KiB of PeerPresent).
  static let framesPerBlock = 512

  var watchers: [Watcher] = []
  /// Some watcher has items left to queue.
  var pending = false
}
