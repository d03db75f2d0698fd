// The vocabulary of `hdctl doctor`: stable check codes, sections, statuses and
// the result line each check produces.

public enum CheckStatus: String, Sendable, Codable, Comparable {
  case ok, warning, error, skipped

  private var rank: Int {
    switch self {
    case .skipped: return 0
    case .ok: return 1
    case .warning: return 2
    case .error: return 3
    }
  }

  public static func < (lhs: CheckStatus, rhs: CheckStatus) -> Bool { lhs.rank < rhs.rank }
}

/// Sections in display order.
public enum CheckSection: String, Sendable, Codable, CaseIterable {
  case configuration = "Configuration"
  case kernel = "Kernel"
  case ioUring = "io_uring"
  case kernelTLS = "Kernel TLS"
  case networkSysctls = "Network sysctls"
  case cpu = "CPU"
  case limits = "Limits"
  case certificates = "Certificates"
  case acme = "ACME"
  case runningRelay = "Running relay"
}

/// What one check found: a one-line fact and, for failures, the exact fix.
public struct CheckOutcome: Sendable, Equatable {
  public var status: CheckStatus
  public var fact: String
  public var fix: String?

  public static func ok(_ fact: String) -> CheckOutcome { CheckOutcome(status: .ok, fact: fact) }
  public static func warning(_ fact: String, fix: String) -> CheckOutcome {
    CheckOutcome(status: .warning, fact: fact, fix: fix)
  }
  public static func error(_ fact: String, fix: String) -> CheckOutcome {
    CheckOutcome(status: .error, fact: fact, fix: fix)
  }
  /// Not applicable here (the reason says why); not a failure.
  public static func skipped(_ reason: String) -> CheckOutcome { CheckOutcome(status: .skipped, fact: reason) }
}

/// A check's result as reported.
public struct CheckResult: Sendable, Equatable {
  public var code: CheckCode
  public var outcome: CheckOutcome

  public var section: CheckSection { code.section }
}
