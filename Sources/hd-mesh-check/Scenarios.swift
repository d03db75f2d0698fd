// What the region test shows, one scenario at a time. Each prints PASS/FAIL
// lines (Tests/suites format). Things only the harness script can do (cut a
// link inside a namespace, SIGKILL and restart a relay, compare every relay's
// debug endpoints) are hooks: shell commands run to completion, which print
// their own PASS/FAIL lines and fail with a non-zero status.
@preconcurrency import Glibc
import Foundation
import HDClient
import HDProtocol

final class Report {
  private(set) var failures = 0

  func check(_ ok: Bool, _ what: String, _ detail: @autoclosure () -> String = "") {
    if ok {
      print("PASS \(what)")
    } else {
      failures += 1
      let why = detail()
      print("FAIL \(what)" + (why.isEmpty ? "" : ": \(why)"))
    }
  }

  /// Runs a hook with `/bin/sh -c`; true when it exits 0. Spawned directly
  /// (not Foundation's Process) with every descriptor above stderr marked
  /// close-on-exec first: a relay the hook restarts must not inherit the
  /// clients' sockets (closing one here would then not disconnect it).
  func hook(_ name: String, _ command: String?, environment: [String: String] = [:]) -> Bool {
    guard let command else {
      check(false, "hook \(name)", "not given")
      return false
    }
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
      if let fd = Int32(entry), fd > 2 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    }
    let variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0)=\($1)" }
    let words: [String] = ["/bin/sh", "-c", command]
    let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
    let envp: [UnsafeMutablePointer<CChar>?] = variables.map { strdup($0) } + [nil]
    defer { (argv + envp).forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, "/bin/sh", nil, nil, argv, envp)
    guard rc == 0 else {
      check(false, "hook \(name)", "posix_spawn: \(String(cString: strerror(rc)))")
      return false
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let ok = status == 0
    if !ok { failures += 1 }
    return ok
  }
}

struct Hooks {
  var cut: String?
  var heal: String?
  var kill: String?
  var restart: String?
  var check: String?
}

struct Scenarios {
  let region: Region
  let report: Report
  let hooks: Hooks
  var relayCount: Int { region.relays.count }

  private func clients(_ names: [(String, Int)]) throws -> [RegionClient] {
    try names.map { try RegionClient($0.0, relay: $0.1, in: region) }
  }

  /// Every client reaches every other, on its own relay and across the mesh.
  func allPairs() throws {
    let all = try clients((0..<relayCount).flatMap { r in [("r\(r + 1)a", r), ("r\(r + 1)b", r)] })
    defer { all.forEach { $0.close() } }
    let pairs = all.flatMap { a in all.filter { $0 !== a }.map { (a, $0) } }
    report.check(Exchange.converge(pairs), "all pairs: \(all.count) clients on \(relayCount) relays reach each other")
    var flows = pairs.map { Flow($0.0, $0.1) }
    let ok = Exchange.run(&flows, rounds: 5, perRound: 4)
    report.check(ok, "all pairs: \(flows.count * 20) packets on \(flows.count) flows delivered, contents and order checked",
                 Exchange.describe(flows))
  }

  /// derper's rule: B leaves; C, who received from B, is told; A, who only sent to B, is not.
  func peerGoneRule() throws {
    let c = try clients([("A", 0), ("B", 1), ("C", 2)])
    let (a, b, receiver) = (c[0], c[1], c[2])
    defer { c.forEach { $0.close() } }
    report.check(Exchange.converge([(a, b), (b, receiver)]), "PeerGone: A→B and B→C routes work")
    b.close()
    receiver.drain(seconds: 15) { !receiver.peerGones(of: b.publicKey).isEmpty }
    report.check(receiver.peerGones(of: b.publicKey) == [0],
                 "PeerGone: C (relay 3), which received from B (relay 2), got PeerGone(Disconnected) when B left",
                 "got \(receiver.peerGones(of: b.publicKey))")
    a.drain(seconds: 1.5)
    report.check(a.peerGones(of: b.publicKey).isEmpty, "PeerGone: A (relay 1), which only sent to B, got none (derper)")
  }

  /// K moves from relay 1 to relay 2 while streaming to R (relay 3): no packet
  /// after the move is lost, nobody is told K left; when K leaves for good, R is.
  func handover() throws {
    let c = try clients([("K", 0), ("R", 2), ("S", 3)])
    let (k1, r, s) = (c[0], c[1], c[2])
    defer { c.forEach { $0.close() } }
    report.check(Exchange.converge([(k1, r), (s, k1)]), "handover: K (relay 1)→R and S→K routes work")
    var flows = [Flow(k1, r)]
    report.check(Exchange.run(&flows, rounds: 2, perRound: 5), "handover: K→R before the move", Exchange.describe(flows))

    let k2 = try RegionClient("K'", relay: 1, keys: k1.keys, in: region)
    defer { k2.close() }
    let learned = Region.wait(seconds: 15) {
      (0..<relayCount).filter { $0 != 1 }.allSatisfy { region.knows($0, k2.publicKey, via: 1) }
    }
    report.check(learned, "handover: every relay learned K on relay 2 too")
    k1.close()
    report.check(Exchange.converge([(r, k2), (s, k2)]), "handover: R→K and S→K reach K on relay 2")
    flows = [Flow(continuing: flows[0], from: k2), Flow(r, k2)]
    report.check(Exchange.run(&flows, rounds: 3, perRound: 5),
                 "handover: K's stream continues from relay 2 with no packet lost, and R→K works", Exchange.describe(flows))
    r.drain(seconds: 0.5)
    report.check(r.peerGones(of: k2.publicKey).isEmpty, "handover: R was not told K left (it never left the region)")

    k2.close()
    r.drain(seconds: 15) { !r.peerGones(of: k2.publicKey).isEmpty }
    report.check(r.peerGones(of: k2.publicKey) == [0], "handover: R got PeerGone(Disconnected) once K left the region",
                 "got \(r.peerGones(of: k2.publicKey))")
    s.drain(seconds: 1.5)
    report.check(s.peerGones(of: k2.publicKey).isEmpty, "handover: S, which only sent to K, got none")
  }

  /// The link between relays 1 and 2 is cut (hook: packets dropped inside
  /// relay 1's namespace): both notice within the bound, count it, and once
  /// healed forwarding resumes with nothing lost, duplicated or replayed.
  func linkCut() throws {
    let c = try clients([("A", 0), ("B", 1)])
    let (a, b) = (c[0], c[1])
    defer { c.forEach { $0.close() } }
    report.check(Exchange.converge([(a, b), (b, a)]), "link cut: A (relay 1) and B (relay 2) reach each other")
    var flows = [Flow(a, b), Flow(b, a)]
    report.check(Exchange.run(&flows, rounds: 2, perRound: 5), "link cut: traffic before the cut", Exchange.describe(flows))
    guard report.hook("cut", hooks.cut) else { return }
    for i in 0..<5 {
      a.send(to: b, Packet.make(.whileCut, stream: 0, sequence: UInt32(i)))
      b.send(to: a, Packet.make(.whileCut, stream: 0, sequence: UInt32(i)))
    }
    guard report.hook("heal", hooks.heal) else { return }
    let relearned = Region.wait(seconds: 30) {
      region.knows(0, b.publicKey, via: 1) && region.knows(1, a.publicKey, via: 0)
    }
    report.check(relearned, "link cut: relays 1 and 2 relearned each other's clients after the heal")
    report.check(Exchange.run(&flows, rounds: 3, perRound: 5),
                 "link cut: forwarding resumed, every later packet delivered once and in order", Exchange.describe(flows))
    a.drain(seconds: 1)
    b.drain(seconds: 1)
    report.check(a.whileCutPackets + b.whileCutPackets == 0 && a.problems.isEmpty && b.problems.isEmpty,
                 "link cut: nothing sent during the cut arrived later, no duplicates",
                 "\(a.whileCutPackets + b.whileCutPackets) late; \((a.problems + b.problems).prefix(3))")
  }

  /// Relay 3 is SIGKILLed and restarted: its clients reconnect, the others
  /// learn the new connections and traffic through it works again.
  func killAndRestart() throws {
    let c = try clients([("C", 2), ("D", 0), ("E", 3)])
    let (onVictim, d, e) = (c[0], c[1], c[2])
    defer { c.forEach { $0.close() } }
    report.check(Exchange.converge([(onVictim, d), (d, onVictim), (e, onVictim)]), "kill: C (relay 3), D, E reach each other")
    guard report.hook("kill", hooks.kill) else { return }
    onVictim.drain(seconds: 10) { onVictim.closedByServer }
    report.check(onVictim.closedByServer, "kill: C's connection died with its relay")
    d.drain(seconds: 15) { !d.peerGones(of: onVictim.publicKey).isEmpty }
    report.check(d.peerGones(of: onVictim.publicKey) == [0],
                 "kill: D, which received from C, was told PeerGone when relay 3's link dropped")
    guard report.hook("restart", hooks.restart) else { return }
    try onVictim.reconnect(in: region)
    let learned = Region.wait(seconds: 20) {
      [0, 1, 3].allSatisfy { region.knows($0, onVictim.publicKey, via: 2) }
    }
    report.check(learned, "kill: every relay learned C on the restarted relay 3")
    report.check(Exchange.converge([(onVictim, d), (d, onVictim), (e, onVictim)]), "kill: routes through relay 3 work again")
    var flows = [Flow(onVictim, d), Flow(d, onVictim), Flow(e, onVictim)]
    report.check(Exchange.run(&flows, rounds: 3, perRound: 5), "kill: traffic through the restarted relay verified",
                 Exchange.describe(flows))
  }

  /// `count` clients arrive over all relays while earlier ones leave; then the
  /// hook checks every relay's view of remote keys against reality.
  func flood(count: Int, directory: String) throws {
    var live: [DERPClient] = []
    var gone: [DERPKey] = []
    var generator = SystemRandomNumberGenerator()
    var failedConnects = 0
    let started = Date()
    for i in 0..<count {
      do { live.append(try region.connect(i % relayCount)) } catch { failedConnects += 1 }
      if i % 3 == 2, !live.isEmpty {
        let leaving = live.remove(at: Int.random(in: 0..<live.count, using: &generator))
        gone.append(leaving.publicKey)
        leaving.close()
      }
    }
    for _ in 0..<(live.count / 4) {
      let leaving = live.remove(at: Int.random(in: 0..<live.count, using: &generator))
      gone.append(leaving.publicKey)
      leaving.close()
    }
    defer { live.forEach { $0.close() } }
    report.check(failedConnects == 0,
                 "flood: \(count) clients connected over \(relayCount) relays, \(gone.count) left again "
                   + "(\(String(format: "%.1f", Date().timeIntervalSince(started))) s)",
                 "\(failedConnects) connections failed")
    let livePath = directory + "/flood-live.keys"
    let gonePath = directory + "/flood-gone.keys"
    try live.map(\.publicKey.hex).joined(separator: "\n").write(toFile: livePath, atomically: true, encoding: .utf8)
    try gone.map(\.hex).joined(separator: "\n").write(toFile: gonePath, atomically: true, encoding: .utf8)
    _ = report.hook("check", hooks.check, environment: ["HD_LIVE_KEYS": livePath, "HD_GONE_KEYS": gonePath])
  }
}
