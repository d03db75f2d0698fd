// `hdctl recommend`: workers and pin_cores for this host.
import HDConfig

public struct RecommendRequest: Sendable {
  public var configPath: String?
  public var json = false
  public var root: String?

  public init(configPath: String? = nil, json: Bool = false, root: String? = nil) {
    self.configPath = configPath
    self.json = json
    self.root = root
  }
}

public enum RecommendCommand {
  public static func run(_ request: RecommendRequest) -> CommandOutput {
    let environment: OpsEnvironment
    do {
      environment = try OpsEnvironment.forRoot(request.root)
    } catch {
      return .usage("\(error)")
    }
    return run(environment: environment, configPath: request.configPath, json: request.json)
  }

  public static func run(environment: OpsEnvironment, configPath: String?, json: Bool) -> CommandOutput {
    let loaded = LoadedConfig.load(path: configPath, root: environment.root)
    if let problem = loaded.configErrors.first {
      return .failure("\(loaded.sourceDescription): \(problem.message) (hdctl check-config shows every problem)")
    }
    let allowance = CPUAllowance.read(root: environment.root, probes: environment.probes)
    do {
      let recommendation = try WorkerRecommendation.make(
        allowance: allowance, nicNodes: WorkerRecommendation.nicNumaNodes(root: environment.root), config: loaded.config)
      let text = json
        ? recommendation.json(configSource: loaded.sourceDescription, allowance: allowance)
        : recommendation.yaml(configSource: loaded.sourceDescription)
      return CommandOutput(standardOutput: text)
    } catch {
      return .failure(error.description)
    }
  }
}
