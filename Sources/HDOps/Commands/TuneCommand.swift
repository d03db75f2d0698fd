// `hdctl tune`: show the sysctl plan (dry run), --apply it to /proc/sys,
// --persist it to sysctl.d/modules-load.d, or --revert both.

public struct TuneRequest: Sendable {
  public var configPath: String?
  public var apply = false
  public var persist = false
  public var revert = false
  public var root: String?

  public init(configPath: String? = nil, apply: Bool = false, persist: Bool = false, revert: Bool = false, root: String? = nil) {
    self.configPath = configPath
    self.apply = apply
    self.persist = persist
    self.revert = revert
    self.root = root
  }
}

public enum TuneCommand {
  public static func run(_ request: TuneRequest, style: OutputStyle) -> CommandOutput {
    if request.revert && (request.apply || request.persist) {
      return .usage("--revert undoes earlier --apply/--persist runs; use it alone")
    }
    let environment: OpsEnvironment
    do {
      environment = try OpsEnvironment.forRoot(request.root)
    } catch {
      return .usage("\(error)")
    }
    return run(request, environment: environment, style: style)
  }

  public static func run(_ request: TuneRequest, environment: OpsEnvironment, style: OutputStyle) -> CommandOutput {
    let root = environment.root
    let changing = request.apply || request.persist || request.revert
    if changing && root.isLive && environment.probes.effectiveUserID() != 0 {
      let what = request.revert ? "--revert" : [request.apply ? "--apply" : nil, request.persist ? "--persist" : nil].compactMap { $0 }.joined(separator: " ")
      return .failure(
        "hdctl tune \(what) changes /proc/sys and /etc and needs root: run it with sudo (without those flags it only shows the plan)")
    }
    let executor = TuneExecutor(root: root)
    if request.revert {
      do {
        let log = try executor.revert()
        return CommandOutput(standardOutput: style.finish((["hdctl tune --revert:"] + log.map { "  \($0)" }).joined(separator: "\n") + "\n"))
      } catch {
        return .failure("\(error)")
      }
    }

    let loaded = LoadedConfig.load(path: request.configPath, root: root)
    if let problem = loaded.configErrors.first {
      return .failure("\(loaded.sourceDescription): \(problem.message) (hdctl check-config shows every problem)")
    }
    let plan = SysctlPlan.make(config: loaded.config, root: root)
    var lines = ["hdctl tune: kernel settings for hyper-derp (config: \(loaded.sourceDescription))", ""]
    lines += plan.table()
    lines.append("")
    lines.append(moduleLine(root: root))

    do {
      if request.apply {
        lines.append("")
        let log = try executor.apply(plan)
        lines.append(log.isEmpty ? "--apply: nothing to change in /proc/sys." : "--apply:")
        lines += log.map { "  \($0)" }
      }
      if request.persist {
        lines.append("")
        lines.append("--persist:")
        lines += try executor.persist(plan).map { "  \($0)" }
      }
    } catch {
      lines.append("")
      let output = style.finish(lines.joined(separator: "\n") + "\n")
      return CommandOutput(
        standardOutput: output,
        standardError: "error: \(error) (hdctl tune --revert restores what was changed so far)\n", exitCode: 1)
    }

    if !request.apply && !request.persist {
      lines.append("")
      lines.append("Dry run, nothing changed. --apply writes the raised values to /proc/sys now;")
      lines.append("--persist writes \(PersistedFiles.sysctlDropIn) and \(PersistedFiles.modulesLoad):")
      lines.append("")
      lines.append("--- \(PersistedFiles.sysctlDropIn)")
      lines += PersistedFiles.sysctlDropInText(plan).split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
      lines.append("--- \(PersistedFiles.modulesLoad)")
      lines += PersistedFiles.modulesLoadText.split(separator: "\n").map(String.init)
    } else {
      lines.append("")
      lines.append("Undo with: hdctl tune --revert (originals in \(PersistedFiles.originals)).")
    }
    return CommandOutput(standardOutput: style.finish(lines.joined(separator: "\n") + "\n"))
  }

  /// Tune writes files only; loading a module is the operator's command.
  static func moduleLine(root: FileSystemRoot) -> String {
    let ulps = root.readValue("/proc/sys/net/ipv4/tcp_available_ulp") ?? ""
    if root.isDirectory("/sys/module/tls") || ulps.split(separator: " ").contains("tls") {
      return "kernel TLS: the tls module is loaded; --persist also lists it in \(PersistedFiles.modulesLoad) for the next boot."
    }
    return "kernel TLS: the tls module is not loaded; load it with `modprobe tls` (tune does not load modules), --persist lists it for boot."
  }
}
