// The table of modes: one place that maps a mode name to its command.

enum BenchModes {
  static func usage(_ mode: String) -> String? {
    switch mode {
    case "throughput": return ThroughputCommand.usage
    case "latency": return LatencyCommand.usage
    case "connrate": return ConnRateCommand.usage
    case "idle": return IdleScaleCommand.usage
    case "scrape": return ScrapeCommand.usage
    case "report": return ReportCommand.usage
    default: return nil
    }
  }

  static func run(mode: String, _ args: [String]) throws(BenchError) {
    switch mode {
    case "throughput": try ThroughputCommand.run(args)
    case "latency": try LatencyCommand.run(args)
    case "connrate": try ConnRateCommand.run(args)
    case "idle": try IdleScaleCommand.run(args)
    case "scrape": try ScrapeCommand.run(args)
    case "report": try ReportCommand.run(args)
    default: throw .usage("unknown mode '\(mode)'")
    }
  }
}
