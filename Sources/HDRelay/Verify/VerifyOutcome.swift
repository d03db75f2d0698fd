// What the admission controller (verify_clients.url) said about one client,
// and the counters a scrape sees. The verifier threads produce outcomes; the
// owning worker counts them (its stats block has a single writer).

/// Why a verification produced no Allow/deny answer. `fail_open` decides
/// only when the controller could not be asked (`admitsWhenFailOpen`): a
/// controller that answered, but not with 200 and a boolean Allow, rejects,
/// as derper does, so a broken or hostile controller never opens the relay.
public enum VerifyError: Int, CaseIterable, Sendable {
  /// Name resolution, connect or I/O failed.
  case unreachable
  /// No complete answer within the timeout (5 s).
  case timeout
  /// The controller answered with a status other than 200.
  case badStatus
  /// 200, but the body was not JSON with a boolean Allow.
  case badResponse
  /// The verifier's bounded queue was full; the request was never sent.
  case queueFull

  /// True for the errors where the controller was never reached or never
  /// answered in time; false for answers that were not a valid 200.
  public var admitsWhenFailOpen: Bool {
    switch self {
    case .unreachable, .timeout, .queueFull: return true
    case .badStatus, .badResponse: return false
    }
  }

  /// Label for metrics and logs.
  public var label: String {
    switch self {
    case .unreachable: return "unreachable"
    case .timeout: return "timeout"
    case .badStatus: return "bad_status"
    case .badResponse: return "bad_response"
    case .queueFull: return "queue_full"
    }
  }
}

/// One verification's result, as carried on the result ring.
package enum VerifyOutcome: Equatable {
  case allowed
  case denied
  case failed(VerifyError)

  var code: UInt8 {
    switch self {
    case .allowed: return 1
    case .denied: return 2
    case .failed(let why): return 16 + UInt8(why.rawValue)
    }
  }

  init(code: UInt8) {
    switch code {
    case 1: self = .allowed
    case 2: self = .denied
    default: self = .failed(VerifyError(rawValue: Int(code) - 16) ?? .unreachable)
    }
  }
}

/// verify_clients counters, summed over workers.
public struct VerifyClientsStatsSnapshot: Sendable, Equatable {
  /// Clients the controller allowed.
  public var allowed: UInt64 = 0
  /// Clients the controller denied (closed without ServerInfo).
  public var denied: UInt64 = 0
  /// Verifications without an answer, indexed by `VerifyError.rawValue`.
  public var errors: [UInt64] = Array(repeating: 0, count: VerifyError.allCases.count)
  /// Clients admitted despite an error because `fail_open` is true.
  public var failOpenAdmits: UInt64 = 0

  public init() {}

  public func errors(_ why: VerifyError) -> UInt64 { errors[why.rawValue] }
}
