// The workers behind the connection targets: one per transport and process,
// made on first use (ring, pools and certificate are not per input).
import HDRelay

extension FuzzTargets {
  nonisolated(unsafe) private static var plainFeed: ConnectionFeed?
  nonisolated(unsafe) private static var tlsFeed: ConnectionFeed?

  static func sharedFeed(tls: Bool, _ checks: Checks) throws(FuzzFailure) -> ConnectionFeed {
    if let existing = tls ? tlsFeed : plainFeed { return existing }
    let feed: ConnectionFeed
    do { feed = try ConnectionFeed(tls: tls) } catch {
      throw checks.fail("cannot set up the \(tls ? "TLS " : "")worker: \(error)")
    }
    if tls { tlsFeed = feed } else { plainFeed = feed }
    return feed
  }
}
