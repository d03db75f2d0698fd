// The kernel settings hyper-derp wants, computed from the config and compared
// with the host. One table serves `hdctl tune` (what to write) and `hdctl
// doctor` (what to warn about), so the two never disagree. Like tuned's ">"
// modifier, a limit is only ever raised: a larger value an admin set stays.
import HDConfig

/// One sysctl the relay cares about.
public struct SysctlRequirement: Sendable, Equatable {
  public enum Kind: Sendable, Equatable {
    /// A capacity: the host value must be at least `value`.
    case atLeast
    /// A mode switch that must equal `value` (kernel.io_uring_disabled).
    case exactly
  }

  /// Dotted name, as `sysctl` prints it.
  public var key: String
  public var kind: Kind
  /// nil when the config needs nothing from this key (it is shown as "keep").
  public var value: Int?
  public var reason: String

  /// /proc/sys path of the key.
  public var procPath: String {
    "/proc/sys/" + key.replacingDots()
  }
}

public struct SysctlPlanItem: Sendable, Equatable {
  public enum Action: String, Sendable {
    /// Current value is lower than needed: write the needed value.
    case raise
    /// A mode switch that must change (either direction).
    case set
    /// Current value already satisfies the need (or nothing is needed).
    case keep
    /// The key does not exist on this kernel.
    case absent
  }

  public var requirement: SysctlRequirement
  /// Raw current value; nil when the key is absent.
  public var current: Int?
  public var action: Action

  /// What the key holds after --apply.
  public var proposed: Int? {
    action == .raise || action == .set ? requirement.value : current
  }

  /// Whether --persist writes this key: everything we need that nothing else
  /// on the host already exceeds (a kernel default above our minimum, e.g. a
  /// RAM-scaled fs.file-max, is left to the kernel).
  public var persists: Bool {
    guard let needed = requirement.value, let current else { return false }
    switch requirement.kind {
    case .atLeast: return current <= needed
    case .exactly: return true
    }
  }
}

public struct SysctlPlan: Sendable, Equatable {
  public var items: [SysctlPlanItem]

  public var changes: [SysctlPlanItem] { items.filter { $0.action == .raise || $0.action == .set } }

  /// Floors from the C++ server's OPERATIONS.md, kept because they absorb the
  /// reconnect storm after a relay restart (every peer reconnects at once).
  public static let listenBacklogMin = 8192
  public static let netdevBacklogMin = 8192
  /// Enough descriptors for ~1M peers; LimitNOFILE in etc/hyper-derp.service matches.
  public static let fileDescriptorsMin = 1_048_576

  public static func requirements(for config: Config) -> [SysctlRequirement] {
    let sockbuf = config.sockbufBytes
    func bufferReason(_ direction: String) -> String {
      sockbuf > 0
        ? "sockbuf: \(sockbuf) sets SO_\(direction)BUF per peer; the kernel silently caps it at this value"
        : "sockbuf: 0 leaves peer buffers to TCP autotuning, which this cap does not limit"
    }
    return [
      SysctlRequirement(key: "net.core.rmem_max", kind: .atLeast, value: sockbuf > 0 ? sockbuf : nil, reason: bufferReason("RCV")),
      SysctlRequirement(key: "net.core.wmem_max", kind: .atLeast, value: sockbuf > 0 ? sockbuf : nil, reason: bufferReason("SND")),
      SysctlRequirement(
        key: "net.core.somaxconn", kind: .atLeast, value: listenBacklogMin,
        reason: "caps the listen() backlog; every peer reconnects at once after a relay restart"),
      SysctlRequirement(
        key: "net.ipv4.tcp_max_syn_backlog", kind: .atLeast, value: listenBacklogMin,
        reason: "half-open connections kept during that reconnect storm"),
      SysctlRequirement(
        key: "net.core.netdev_max_backlog", kind: .atLeast, value: netdevBacklogMin,
        reason: "packets queued per CPU between the NIC and TCP; small values drop bursts"),
      SysctlRequirement(
        key: "fs.file-max", kind: .atLeast, value: fileDescriptorsMin,
        reason: "system-wide open files; every peer holds one socket"),
      SysctlRequirement(
        key: "fs.nr_open", kind: .atLeast, value: fileDescriptorsMin,
        reason: "per-process ceiling for LimitNOFILE=\(fileDescriptorsMin) in the systemd unit"),
      SysctlRequirement(
        key: "kernel.io_uring_disabled", kind: .exactly, value: 0,
        reason: "the relay's data plane is io_uring; 1 or 2 make io_uring_setup fail with EPERM"),
    ]
  }

  public static func make(config: Config, root: FileSystemRoot) -> SysctlPlan {
    SysctlPlan(items: requirements(for: config).map { requirement in
      let current = root.readInt(requirement.procPath)
      let action: SysctlPlanItem.Action
      if let current {
        if let needed = requirement.value {
          switch requirement.kind {
          case .atLeast: action = current < needed ? .raise : .keep
          case .exactly: action = current != needed ? .set : .keep
          }
        } else {
          action = .keep
        }
      } else {
        action = .absent
      }
      return SysctlPlanItem(requirement: requirement, current: current, action: action)
    })
  }

  public func item(_ key: String) -> SysctlPlanItem? { items.first { $0.requirement.key == key } }
}

extension String {
  /// "net.core.rmem_max" → "net/core/rmem_max".
  func replacingDots() -> String { String(map { $0 == "." ? "/" : $0 }) }
}
