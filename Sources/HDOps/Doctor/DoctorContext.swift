// Everything the checks read, gathered once: the config, the host's files
// (through the root) and the probes (called lazily by the checks that need
// them, so --skip really avoids e.g. the network request).
import HDConfig
import Synchronization

public struct DoctorContext: Sendable {
  public var environment: OpsEnvironment
  public var loaded: LoadedConfig
  public var allowance: CPUAllowance
  public var plan: SysctlPlan
  public var kernelRelease: String?
  public var processStatus: ProcessStatus
  /// The relay's /health answer, asked once per doctor run (RELAY_HEALTH and
  /// TLS_CERT_SERVED both read it).
  let relayHealthAnswer = HealthAnswerMemo()

  public var root: FileSystemRoot { environment.root }
  public var probes: any HostProbes { environment.probes }
  public var config: Config { loaded.config }

  public init(environment: OpsEnvironment, loaded: LoadedConfig) {
    self.environment = environment
    self.loaded = loaded
    allowance = CPUAllowance.read(root: environment.root, probes: environment.probes)
    plan = SysctlPlan.make(config: loaded.config, root: environment.root)
    kernelRelease = environment.root.readValue("/proc/sys/kernel/osrelease")
    processStatus = ProcessStatus(text: environment.root.readText("/proc/self/status") ?? "")
  }

  /// (major, minor) of the running kernel.
  public var kernelVersion: (Int, Int)? { kernelRelease.flatMap(parseKernelVersion) }

  /// True when the running kernel is at least major.minor (unknown → false).
  public func kernelAtLeast(_ major: Int, _ minor: Int) -> Bool {
    guard let (haveMajor, haveMinor) = kernelVersion else { return false }
    return (haveMajor, haveMinor) >= (major, minor)
  }

  /// How a fix line refers to the config file.
  public var configFileForFixes: String { loaded.path ?? LoadedConfig.defaultPath }
}

/// The first answer of a probe, kept for the other checks of the same run.
final class HealthAnswerMemo: Sendable {
  private let answer = Mutex<HealthProbeResult?>(nil)

  func get(_ ask: () -> HealthProbeResult) -> HealthProbeResult {
    if let known = answer.withLock({ $0 }) { return known }
    let fresh = ask()
    answer.withLock { $0 = fresh }
    return fresh
  }
}

/// "6.18.44-fc-v657" → (6, 18).
func parseKernelVersion(_ release: String) -> (Int, Int)? {
  let numbers = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
  guard numbers.count == 2 else { return nil }
  return (numbers[0], numbers[1])
}

/// The lines of /proc/self/status the checks use.
public struct ProcessStatus: Sendable, Equatable {
  /// 0 off, 1 strict, 2 filter; nil when the line is missing.
  public var seccompMode: Int?
  public var seccompFilters: Int?
  /// Effective capability bits.
  public var effectiveCapabilities: UInt64?

  public static let capNetBindService = 10

  public init(text: String) {
    var fields: [String: String] = [:]
    for line in text.split(separator: "\n") {
      guard let colon = line.firstIndex(of: ":") else { continue }
      fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingWhitespace()
    }
    seccompMode = fields["Seccomp"].flatMap { Int($0) }
    seccompFilters = fields["Seccomp_filters"].flatMap { Int($0) }
    effectiveCapabilities = fields["CapEff"].flatMap { UInt64($0, radix: 16) }
  }

  public func hasCapability(_ bit: Int) -> Bool {
    guard let effectiveCapabilities else { return false }
    return effectiveCapabilities & (1 << UInt64(bit)) != 0
  }
}
