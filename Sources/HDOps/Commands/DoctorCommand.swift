// `hdctl doctor`: flags in, report out.

public struct DoctorRequest: Sendable {
  public var configPath: String?
  public var json = false
  public var only: [String] = []
  public var skip: [String] = []
  public var listChecks = false
  public var strict = false
  /// --root DIR: a fixture tree instead of "/".
  public var root: String?

  public init(configPath: String? = nil, root: String? = nil) {
    self.configPath = configPath
    self.root = root
  }
}

public enum DoctorCommand {
  public static func run(_ request: DoctorRequest, style: OutputStyle) -> CommandOutput {
    if request.listChecks {
      return CommandOutput(standardOutput: DoctorReport.checkList(json: request.json))
    }
    let options: DoctorOptions
    let environment: OpsEnvironment
    do {
      options = DoctorOptions(
        only: request.only.isEmpty ? nil : try DoctorOptions.parseCodes(request.only),
        skip: try DoctorOptions.parseCodes(request.skip), strict: request.strict)
      environment = try OpsEnvironment.forRoot(request.root)
    } catch let error as UsageError {
      return .usage(error.description)
    } catch {
      return .usage("\(error)")
    }
    return run(environment: environment, configPath: request.configPath, options: options, json: request.json, style: style)
  }

  public static func run(
    environment: OpsEnvironment, configPath: String?, options: DoctorOptions, json: Bool, style: OutputStyle
  ) -> CommandOutput {
    let loaded = LoadedConfig.load(path: configPath, root: environment.root)
    let context = DoctorContext(environment: environment, loaded: loaded)
    let report = Doctor.run(context, options: options)
    return CommandOutput(standardOutput: json ? report.json() : report.text(style: style), exitCode: report.exitCode)
  }
}
