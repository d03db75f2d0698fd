// Recorded probe answers for fixture trees: <fixture>/probes.json. Errno
// values are written by name ("EPERM") so the file reads like the facts.
//
// {
//   "io_uring_setup": "ok", "io_uring_sqpoll": "EPERM", "tcp_ulp_tls": "ENOENT",
//   "affinity": "0-1", "euid": 0, "bind_loopback": "ok",
//   "nofile": {"soft": 1024, "hard": 524288}, "memlock": {"soft": null, "hard": null},
//   "health": {"status": 200, "body": "{\"status\":\"ok\"}"}   or   {"error": "ECONNREFUSED"}
// }
//   "listeners": {"80": [{"pid": 812, "command": "nginx"}]},
//   "dns": {"relay.example.com": ["192.0.2.10"], "gone.example.com": "unknown"},
//   "local_addresses": ["127.0.0.1", "192.0.2.10"]
// null limits mean unlimited; a missing "health" means nothing listens;
// "bind_loopback" (default "ok") answers every port; a port missing from
// "listeners" is free; a name missing from "dns" cannot be resolved (no DNS
// answer); "local_addresses" defaults to loopback only.
import FoundationEssentials
import HDConfig

public struct FixtureProbeError: Error, CustomStringConvertible {
  public var description: String
}

public struct FixtureHostProbes: HostProbes {
  public var ioUring: ProbeOutcome
  public var ioUringSQPoll: ProbeOutcome
  public var ulpTLS: ProbeOutcome
  public var affinity: [Int]?
  public var openFiles: ResourceLimit
  public var lockedMemory: ResourceLimit
  public var euid: UInt32
  public var bindOutcome: ProbeOutcome
  public var health: HealthProbeResult
  public var listeners: [Int: [PortListener]]
  public var names: [String: HostResolution]
  public var addresses: [String]?

  /// Reads `probes.json` at the top of a fixture root.
  public init(root: FileSystemRoot) throws {
    guard let bytes = root.readBytes("/probes.json") else {
      throw FixtureProbeError(description: "no probes.json in fixture \(root.directory)")
    }
    let file: File
    do {
      file = try JSONDecoder().decode(File.self, from: Data(bytes))
    } catch {
      throw FixtureProbeError(description: "\(root.directory)/probes.json: \(error)")
    }
    ioUring = try Self.outcome(file.io_uring_setup, "io_uring_setup")
    ioUringSQPoll = try Self.outcome(file.io_uring_sqpoll, "io_uring_sqpoll")
    ulpTLS = try Self.outcome(file.tcp_ulp_tls, "tcp_ulp_tls")
    guard let cpus = CPUList.parse(file.affinity) else {
      throw FixtureProbeError(description: "probes.json affinity is not a CPU list: \(file.affinity)")
    }
    affinity = cpus
    openFiles = ResourceLimit(soft: file.nofile.soft, hard: file.nofile.hard)
    lockedMemory = ResourceLimit(soft: file.memlock.soft, hard: file.memlock.hard)
    euid = file.euid
    bindOutcome = try Self.outcome(file.bind_loopback ?? "ok", "bind_loopback")
    if let recorded = file.health {
      if let status = recorded.status {
        health = .answered(status: status, body: recorded.body ?? "")
      } else {
        health = .unreachable(reason: recorded.error ?? "ECONNREFUSED")
      }
    } else {
      health = .unreachable(reason: "ECONNREFUSED")
    }
    listeners = [:]
    for (port, holders) in file.listeners ?? [:] {
      guard let number = Int(port) else {
        throw FixtureProbeError(description: "probes.json listeners: \(port) is not a port number")
      }
      listeners[number] = holders.map { PortListener(pid: $0.pid, command: $0.command) }
    }
    names = (file.dns ?? [:]).mapValues { answer in
      switch answer {
      case .addresses(let list): return .addresses(list)
      case .unknown: return .unknownName("Name or service not known")
      }
    }
    addresses = file.local_addresses ?? ["127.0.0.1", "::1"]
  }

  private static func outcome(_ text: String, _ key: String) throws -> ProbeOutcome {
    if text == "ok" { return .ok }
    guard let code = ErrnoNames.code(named: text) else {
      throw FixtureProbeError(description: "probes.json \(key): expected \"ok\" or an errno name, got \(text)")
    }
    return .failed(errno: code)
  }

  public func ioUringSetup() -> ProbeOutcome { ioUring }
  public func ioUringSetupSQPoll() -> ProbeOutcome { ioUringSQPoll }
  public func kernelTLSULP() -> ProbeOutcome { ulpTLS }
  public func affinityCPUs() -> [Int]? { affinity }
  public func openFilesLimit() -> ResourceLimit { openFiles }
  public func lockedMemoryLimit() -> ResourceLimit { lockedMemory }
  public func effectiveUserID() -> UInt32 { euid }
  public func bindLoopback(port: Int) -> ProbeOutcome { bindOutcome }
  public func httpGet(host: String, port: Int, path: String, timeoutMilliseconds: Int) -> HealthProbeResult {
    health
  }
  public func tcpListeners(port: Int) -> [PortListener] { listeners[port] ?? [] }
  public func resolve(host: String) -> HostResolution {
    names[host] ?? .unavailable("no DNS answer recorded in probes.json")
  }
  public func localAddresses() -> [String]? { addresses }

  // The file's shape; snake_case keys match the on-disk spelling.
  private struct File: Decodable {
    struct Limit: Decodable {
      var soft: UInt64?
      var hard: UInt64?
    }
    struct Health: Decodable {
      var status: Int?
      var body: String?
      var error: String?
    }
    var io_uring_setup: String
    var io_uring_sqpoll: String
    var tcp_ulp_tls: String
    var affinity: String
    var nofile: Limit
    var memlock: Limit
    var euid: UInt32
    struct Holder: Decodable {
      var pid: Int32?
      var command: String?
    }
    /// A list of addresses, or "unknown" for a name that does not exist.
    enum Answer: Decodable {
      case addresses([String])
      case unknown

      init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let list = try? container.decode([String].self) {
          self = .addresses(list)
        } else if try container.decode(String.self) == "unknown" {
          self = .unknown
        } else {
          throw DecodingError.dataCorruptedError(
            in: container, debugDescription: "expected a list of addresses or \"unknown\"")
        }
      }
    }
    var bind_loopback: String?
    var health: Health?
    var listeners: [String: [Holder]]?
    var dns: [String: Answer]?
    var local_addresses: [String]?
  }
}
