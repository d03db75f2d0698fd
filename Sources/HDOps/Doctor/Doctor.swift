// Runs the selected checks in order, honouring prerequisites, and produces
// the report. Exit status: 0 no errors, 1 errors (or warnings with --strict).

public struct DoctorOptions: Sendable {
  /// nil = every check.
  public var only: Set<CheckCode>?
  public var skip: Set<CheckCode>
  /// Warnings fail the run too.
  public var strict: Bool

  public init(only: Set<CheckCode>? = nil, skip: Set<CheckCode> = [], strict: Bool = false) {
    self.only = only
    self.skip = skip
    self.strict = strict
  }

  /// Parses a --only/--skip value: codes separated by commas (repeatable flags
  /// concatenate). Unknown codes are a usage error naming the closest code.
  public static func parseCodes(_ values: [String]) throws(UsageError) -> Set<CheckCode> {
    var codes = Set<CheckCode>()
    for value in values {
      for part in value.split(separator: ",") {
        let name = part.trimmingWhitespace().uppercased()
        guard let code = CheckCode(rawValue: name) else {
          let hint = closestCode(to: name).map { "; did you mean \($0.rawValue)?" } ?? ""
          throw UsageError("unknown check code '\(part)'\(hint) (hdctl doctor --list-checks shows them)")
        }
        codes.insert(code)
      }
    }
    return codes
  }

  private static func closestCode(to name: String) -> CheckCode? {
    CheckCode.allCases.map { ($0, editDistance(name, $0.rawValue)) }.filter { $0.1 <= 3 }.min { $0.1 < $1.1 }?.0
  }
}

public struct UsageError: Error, CustomStringConvertible, Sendable {
  public var description: String
  public init(_ description: String) { self.description = description }
}

public struct DoctorReport: Sendable {
  public var configSource: String
  /// Selected checks, in display order.
  public var results: [CheckResult]
  public var strict: Bool

  public func count(_ status: CheckStatus) -> Int { results.filter { $0.outcome.status == status }.count }

  public var exitCode: Int32 {
    if count(.error) > 0 { return 1 }
    if strict && count(.warning) > 0 { return 1 }
    return 0
  }
}

public enum Doctor {
  public static func run(_ context: DoctorContext, options: DoctorOptions) -> DoctorReport {
    let selected = Set(CheckCode.allCases.filter { code in
      (options.only?.contains(code) ?? true) && !options.skip.contains(code)
    })
    var needed = selected
    var frontier = Array(selected)
    while let code = frontier.popLast() {
      for prerequisite in code.prerequisites where !needed.contains(prerequisite) {
        needed.insert(prerequisite)
        frontier.append(prerequisite)
      }
    }
    var outcomes: [CheckCode: CheckOutcome] = [:]
    // allCases lists every prerequisite before the checks that need it.
    for code in CheckCode.allCases where needed.contains(code) {
      let blocking: Set<CheckStatus> = [.error, .skipped]
      if let failed = code.prerequisites.first(where: { blocking.contains(outcomes[$0]!.status) }) {
        let why = outcomes[failed]!.status == .skipped ? "was skipped" : "failed"
        outcomes[code] = .skipped("needs \(failed.rawValue), which \(why)")
      } else {
        outcomes[code] = DoctorChecks.run(code, context)
      }
    }
    let results = CheckCode.allCases.filter(selected.contains).map { CheckResult(code: $0, outcome: outcomes[$0]!) }
    return DoctorReport(configSource: context.loaded.sourceDescription, results: results, strict: options.strict)
  }
}

/// Levenshtein distance, for "did you mean" on check codes.
func editDistance(_ a: String, _ b: String) -> Int {
  let left = Array(a), right = Array(b)
  var previous = Array(0...right.count)
  for (i, x) in left.enumerated() {
    var current = [i + 1]
    for (j, y) in right.enumerated() {
      current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
    }
    previous = current
  }
  return previous[right.count]
}
