// SIGHUP: read the file again with the same command-line overrides, validate
// it, and apply what can change while running. An invalid file changes
// nothing: the old settings stay, the diagnostics are logged. Keys that need a
// restart are reported as such instead of being silently ignored.
import HDConfig
import Synchronization

/// A component that can take new settings at runtime (the TLS certificate
/// reload plugs in here). It must be all-or-nothing: either it applies its part
/// of `new` and returns, or it throws and leaves its old state untouched.
public struct ReloadHook: Sendable {
  /// The schema keys this hook makes live-changeable (e.g. `tls_cert`, `tls_key`).
  public var keys: [String]
  public var name: String
  public var apply: @Sendable (_ old: Config, _ new: Config) throws -> Void
  /// The hook reads files its keys name, whose content can change under an
  /// unchanged path (a renewed certificate): it runs on every reload.
  public var rereadsFiles: Bool

  public init(
    name: String, keys: [String], rereadsFiles: Bool = false,
    apply: @escaping @Sendable (_ old: Config, _ new: Config) throws -> Void
  ) {
    self.name = name
    self.keys = keys
    self.rereadsFiles = rereadsFiles
    self.apply = apply
  }
}

public enum ReloadOutcome: Sendable, Equatable {
  /// Nothing differs from the running configuration.
  case unchanged
  /// `applied` took effect; `needsRestart` differ in the file but only apply at the next start.
  case applied(applied: [ConfigChange], needsRestart: [ConfigChange])
  /// The file (or a hook) was rejected; the old configuration stays in force.
  case rejected(reason: String)
}

public final class ConfigReloader: Sendable {
  /// Reads and validates the configuration again: the config, or nil and the diagnostics.
  public typealias Load = @Sendable () -> (Config?, [Diagnostic])

  private struct State {
    var current: Config
    var hooks: [ReloadHook]
  }

  private let load: Load
  private let logSink: LogSink
  private let state: Mutex<State>

  /// - Parameters:
  ///   - initial: the configuration the daemon started with.
  ///   - load: re-reads the file with the start-up overrides (`ConfigLoader.reload`).
  ///   - logSink: gets the new `log_level` and `log_format`.
  public init(initial: Config, logSink: LogSink, load: @escaping Load) {
    self.load = load
    self.logSink = logSink
    state = Mutex(State(current: initial, hooks: []))
  }

  /// The configuration in force now.
  public var current: Config { state.withLock { $0.current } }

  public func register(_ hook: ReloadHook) {
    state.withLock { $0.hooks.append(hook) }
  }

  /// Keys that take effect without a restart.
  public var liveKeys: Set<String> {
    state.withLock { Set(["log_level", "log_format"] + $0.hooks.flatMap(\.keys)) }
  }

  /// Re-reads, validates and applies. Serialised: one reload at a time.
  public func reload() -> ReloadOutcome {
    let (loaded, diagnostics) = load()
    guard let new = loaded else {
      let errors = diagnostics.filter(\.isError)
      let text = (errors.isEmpty ? diagnostics : errors).map(DiagnosticRenderer.human).joined(separator: "\n")
      return .rejected(reason: text.isEmpty ? "the configuration could not be loaded" : text)
    }
    return state.withLock { state -> ReloadOutcome in
      let old = state.current
      let changes = ConfigChange.between(old, new)
      let live = Set(["log_level", "log_format"] + state.hooks.flatMap(\.keys))
      let changedKeys = Set(changes.map(\.key))
      let due = state.hooks.filter { $0.rereadsFiles || !changedKeys.isDisjoint(with: $0.keys) }
      if changes.isEmpty && due.isEmpty { return .unchanged }
      // Fallible components first: if one refuses, nothing has changed yet.
      for hook in due {
        do {
          try hook.apply(old, new)
        } catch {
          return .rejected(reason: "\(hook.name): \(error)")
        }
      }
      if changes.isEmpty { return .unchanged }
      logSink.setLevel(new.logLevel)
      logSink.setFormat(new.logFormat)
      // Restart-only keys keep their running value, so a later diff stays honest.
      var effective = old
      for spec in ConfigSchema.keys where live.contains(spec.key) {
        spec.apply(spec.value(in: new), to: &effective)
      }
      state.current = effective
      return .applied(
        applied: changes.filter { live.contains($0.key) }, needsRestart: changes.filter { !live.contains($0.key) })
    }
  }
}
