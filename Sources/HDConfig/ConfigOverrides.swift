// Settings given as CLI flags. Kept apart from the Config they produce so a
// SIGHUP reload can re-read the file and re-apply exactly the same flags.

public struct ConfigOverrides: Sendable, Equatable {
  /// One assignment per key (repeated list flags already combined), in flag order.
  public var assignments: [SettingAssignment]

  public init(assignments: [SettingAssignment] = []) {
    self.assignments = assignments
  }

  public var isEmpty: Bool { assignments.isEmpty }

  /// Adds one flag's value; a list flag given again extends the list.
  mutating func add(key: String, value: SettingValue, flag: String, appending: Bool) {
    let origin = SettingOrigin.commandLine(flag: flag)
    guard let index = assignments.firstIndex(where: { $0.key == key }) else {
      assignments.append(SettingAssignment(key: key, value: value, origin: origin))
      return
    }
    switch (assignments[index].value, value) {
    case (.strings(let old), .strings(let new)) where appending:
      assignments[index].value = .strings(old + new)
    case (.integers(let old), .integers(let new)) where appending:
      assignments[index].value = .integers(old + new)
    default:
      assignments[index].value = value  // a scalar flag given twice: the last one wins
    }
    assignments[index].origin = origin
  }
}
