// How many data-plane workers to run and where to pin them, decided once at
// startup from the configuration and the CPUs this process may use.
import HDConfig

public struct WorkerPlanError: Error, CustomStringConvertible, Sendable, Equatable {
  public var description: String
}

public struct WorkerPlan: Sendable, Equatable {
  /// The configuration's upper bound for `workers`.
  public static let maxWorkers = 64

  public var workerCount: Int
  /// Worker i runs on pinCores[i]; empty = not pinned.
  public var pinCores: [Int]
  /// Why this count, for the startup log.
  public var reason: String

  public init(workerCount: Int, pinCores: [Int], reason: String) {
    self.workerCount = workerCount
    self.pinCores = pinCores
    self.reason = reason
  }

  /// - Parameters:
  ///   - workers: the configured count; 0 = one per usable CPU, or one per pinned core.
  ///   - pinCores: the configured pinning; empty = none.
  ///   - host: the CPUs of this machine and process.
  /// - Throws: when a pinned core does not exist or is not available to this process,
  ///   or the pin list does not match the worker count.
  public static func resolve(
    workers: Int, pinCores: [Int], host: CPUAvailability
  ) throws(WorkerPlanError) -> WorkerPlan {
    guard workers >= 0, workers <= maxWorkers else {
      throw WorkerPlanError(description: "workers: \(workers) is outside 0–\(maxWorkers)")
    }
    if !pinCores.isEmpty {
      try validatePins(pinCores, workers: workers, host: host)
      let count = workers == 0 ? pinCores.count : workers
      return WorkerPlan(
        workerCount: count, pinCores: pinCores,
        reason: workers == 0 ? "one per pinned core" : "configured")
    }
    if workers > 0 {
      return WorkerPlan(workerCount: workers, pinCores: [], reason: "configured")
    }
    let count = min(host.usableCount, maxWorkers)
    return WorkerPlan(
      workerCount: count, pinCores: [], reason: "one per CPU this process may use (\(host.summary))")
  }

  static func validatePins(_ pins: [Int], workers: Int, host: CPUAvailability) throws(WorkerPlanError) {
    if workers > 0 && pins.count != workers {
      throw WorkerPlanError(
        description: "pin_cores names \(pins.count) cores but workers is \(workers); they must match")
    }
    if pins.count > maxWorkers {
      throw WorkerPlanError(description: "pin_cores names \(pins.count) cores; at most \(maxWorkers) workers")
    }
    var seen = Set<Int>()
    let allowed = Set(host.allowed)
    for (index, cpu) in pins.enumerated() {
      guard seen.insert(cpu).inserted else {
        throw WorkerPlanError(description: "pin_cores[\(index)] = \(cpu): CPU \(cpu) is listed twice")
      }
      guard host.online.contains(cpu) else {
        throw WorkerPlanError(
          description: "pin_cores[\(index)] = \(cpu): CPU \(cpu) does not exist or is offline on this host "
            + "(online CPUs: \(CPUList.format(host.online)))")
      }
      guard allowed.contains(cpu) else {
        throw WorkerPlanError(
          description: "pin_cores[\(index)] = \(cpu): CPU \(cpu) is not available to this process "
            + "(allowed CPUs: \(CPUList.format(host.allowed)); \(host.summary))")
      }
    }
  }
}
