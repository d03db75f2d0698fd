// `hd-bench idle`: N idle peers spread over several child processes (one
// process holds at most ~20k sockets here), then the relay's RSS and idle CPU
// from /proc/PID. Children are `hd-bench connrate --hold stdin --ready-line`;
// closing their stdin ends them.
@preconcurrency import Glibc

enum IdleScaleCommand {
  static let valueOptions: Set<String> = ["host", "port", "peers", "processes", "hold", "relay-pid", "output", "label",
                                          "timeout"]
  static let flagOptions: Set<String> = ["json"]

  static let usage = """
    hd-bench idle --relay-pid PID [--host H] [--port P] [--peers N] [--processes K] [--hold S] [--timeout S]
                  [--label NAME] [--json] [--output FILE]
      Connects N idle peers from K processes, then samples the relay's RSS and its CPU over S idle seconds.
    """

  struct Child {
    var pid: pid_t
    var stdinFD: Int32
    var stdoutFD: Int32
  }

  static func run(_ args: [String]) throws(BenchError) {
    let a = try Arguments(args, valueOptions: valueOptions, flagOptions: flagOptions)
    let host = a.string("host", "127.0.0.1")
    let port = try a.int("port", 3340, range: 1...65535)
    let peers = try a.int("peers", 10_000, range: 1...1_000_000)
    let processes = try a.int("processes", max(1, (peers + 8999) / 9000), range: 1...256)
    let hold = try a.double("hold", 5, range: 0...3600)
    let timeout = try a.double("timeout", 120, range: 1...3600)
    guard let pid = try a.optionalInt("relay-pid", range: 1...Int(Int32.max)).map(Int32.init) else {
      throw .usage("--relay-pid is required (RSS and CPU are read from /proc/PID)")
    }
    guard let baseline = ProcessStats.sample(pid: pid) else { throw .failed("cannot read /proc/\(pid)/stat") }
    let perChild = (peers + processes - 1) / processes
    let started = MonoClock.seconds()
    var children: [Child] = []
    var remaining = peers
    for _ in 0..<processes where remaining > 0 {
      let n = min(perChild, remaining)
      remaining -= n
      children.append(try spawnChild(["connrate", "--host", host, "--port", String(port), "--count", String(n),
                                      "--timeout", String(timeout), "--hold", "stdin", "--ready-line"]))
    }
    defer { for c in children { finish(c) } }
    var connected = 0
    var failed = 0
    var firstError: String?
    for c in children {
      let line = readLine(c.stdoutFD)
      guard case .object(let fields)? = try? JSONValueLite.parse(line) else {
        failed += perChild
        firstError = firstError ?? "child \(c.pid) reported nothing"
        continue
      }
      connected += fields["connected_peers"].flatMap(Int.init) ?? 0
      failed += fields["connect_failed"].flatMap(Int.init) ?? 0
      if let e = fields["first_error"], e != "null" { firstError = firstError ?? e }
    }
    let connectSeconds = MonoClock.seconds() - started
    guard let loaded = ProcessStats.sample(pid: pid) else { throw .failed("relay \(pid) is gone") }
    MonoClock.sleep(seconds: hold)
    guard let after = ProcessStats.sample(pid: pid) else { throw .failed("relay \(pid) is gone") }
    let idleCPUPercent = hold > 0 ? 100 * (after.cpuSeconds - loaded.cpuSeconds) / hold : 0
    Output.log("idle: \(connected)/\(peers) peers from \(children.count) processes in \(JSONOut.format(connectSeconds, decimals: 2)) s;"
      + " relay RSS \(baseline.rssBytes / 1_048_576) → \(after.rssBytes / 1_048_576) MiB,"
      + " idle CPU \(JSONOut.format(idleCPUPercent, decimals: 2)) % over \(JSONOut.format(hold, decimals: 0)) s")
    let json: JSONOut = .object([
      ("test", .string("idle")),
      ("timestamp", .string(isoTimestamp())),
      ("relay", .string(a.string("label", "hyper-derp"))),
      ("total_peers", .int(Int64(peers))),
      ("connected_peers", .int(Int64(connected))),
      ("connect_failed", .int(Int64(failed))),
      ("processes", .int(Int64(children.count))),
      ("connect_time_ms", .num(connectSeconds * 1000, 1)),
      ("relay_rss_bytes_before", .uint(baseline.rssBytes)),
      ("relay_rss_bytes", .uint(after.rssBytes)),
      ("relay_rss_bytes_per_peer", .num(connected > 0 ? Double(Int64(after.rssBytes) - Int64(baseline.rssBytes)) / Double(connected) : 0, 1)),
      ("relay_cpu_sec_connect", .num(loaded.cpuSeconds - baseline.cpuSeconds, 3)),
      ("relay_idle_cpu_pct", .num(idleCPUPercent, 3)),
      ("relay_threads", .int(Int64(after.threads))),
      ("hold_sec", .num(hold, 1)),
      ("first_error", firstError.map { .string($0) } ?? .null),
    ])
    if a.flag("json") || a.values["output"] != nil { try Output.emit(json, path: a.values["output"]) }
  }

  static func spawnChild(_ args: [String]) throws(BenchError) -> Child {
    var toChild: [Int32] = [0, 0]
    var fromChild: [Int32] = [0, 0]
    // CLOEXEC: a later child must not inherit an earlier child's stdin pipe,
    // or that child never sees EOF. dup2 onto 0/1 clears the flag for its own.
    guard pipe(&toChild) == 0, pipe(&fromChild) == 0 else { throw .system("pipe", errno) }
    for fd in toChild + fromChild { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
    posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
    let path = "/proc/self/exe"
    let argv = (["hd-bench"] + args).map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, path, &actions, nil, argv, environ)
    close(toChild[0])
    close(fromChild[1])
    guard rc == 0 else {
      close(toChild[1])
      close(fromChild[0])
      throw .system("posix_spawn", rc)
    }
    return Child(pid: pid, stdinFD: toChild[1], stdoutFD: fromChild[0])
  }

  static func readLine(_ fd: Int32) -> String {
    var bytes: [UInt8] = []
    var byte: UInt8 = 0
    while read(fd, &byte, 1) == 1 {
      if byte == 0x0a { break }
      bytes.append(byte)
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  static func finish(_ c: Child) {
    close(c.stdinFD)
    close(c.stdoutFD)
    var status: Int32 = 0
    waitpid(c.pid, &status, 0)
  }
}

/// Reads the flat one-line JSON objects the children print: top-level keys
/// to their raw value text (strings unquoted). Enough for our own output.
enum JSONValueLite {
  enum Value { case object([String: String]) }

  static func parse(_ line: String) throws -> Value {
    guard line.hasPrefix("{"), line.hasSuffix("}") else { throw BenchError.failed("not a JSON object") }
    var fields: [String: String] = [:]
    var depth = 0
    var inString = false
    var escape = false
    var current = ""
    var parts: [String] = []
    for ch in line.dropFirst().dropLast() {
      if inString {
        current.append(ch)
        if escape { escape = false } else if ch == "\\" { escape = true } else if ch == "\"" { inString = false }
        continue
      }
      switch ch {
      case "\"": inString = true; current.append(ch)
      case "{", "[": depth += 1; current.append(ch)
      case "}", "]": depth -= 1; current.append(ch)
      case "," where depth == 0: parts.append(current); current = ""
      default: current.append(ch)
      }
    }
    if !current.isEmpty { parts.append(current) }
    for part in parts {
      guard let colon = part.firstIndex(of: ":") else { continue }
      let key = part[..<colon].trimmingCharacters(in: "\" ")
      var value = String(part[part.index(after: colon)...]).trimmingCharacters(in: " ")
      if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
      fields[key] = value
    }
    return .object(fields)
  }
}

extension StringProtocol {
  func trimmingCharacters(in set: String) -> String {
    var s = Substring(self)
    while let f = s.first, set.contains(f) { s = s.dropFirst() }
    while let l = s.last, set.contains(l) { s = s.dropLast() }
    return String(s)
  }
}
