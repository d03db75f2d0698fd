// Busy polling (`busy_poll`): a worker that just handled traffic keeps
// looking for more for a short while before it sleeps. Waking a sleeping
// thread costs tens of microseconds on a VM (the idle vCPU halts and needs an
// IPI); a ping's echo usually arrives inside that window, so a round trip
// through the relay skips two of those wake-ups. The poll runs only after
// work, so an idle relay still sleeps (0 % CPU), and a loaded one never gets
// here.
import CURing

extension Worker {
  /// Polls for completions, cross-worker records and control requests until
  /// `busyPollNanoseconds` after the last handled completion (or `limit`,
  /// the next timer). Returns true when something arrived: don't sleep.
  @inline(__always)
  func busyPoll(now: UInt64, until limit: UInt64) -> Bool {
    guard busyPollNanoseconds > 0 else { return false }
    let deadline = min(lastWorkNanoseconds &+ busyPollNanoseconds, limit)
    guard now < deadline else { return false }
    // What the loop queued (sends, re-armed receives) must be in flight
    // before we wait for its answers.
    ring.submitPending()
    repeat {
      if ring.pollCompletions() || inboundXferHasData() || hd_load_relaxed(controlPending) != 0
        || verifyResultsWaiting
      {
        stats.add(.busyPollHits)
        return true
      }
    } while monotonicNanoseconds() < deadline
    stats.add(.busyPollMisses)
    return false
  }
}
