// `hdctl recommend` output: a YAML snippet to paste into the config, with the
// reasoning as comments above it, or JSON.
import HDConfig

extension WorkerRecommendation {
  public func yaml(configSource: String) -> String {
    var lines = ["# hdctl recommend (config: \(configSource))"]
    for reason in reasons { lines.append("# - \(reason)") }
    lines.append("workers: \(workers)")
    lines.append("pin_cores: [\(pinCores.map(String.init).joined(separator: ", "))]")
    return OutputStyle.plain.finish(lines.joined(separator: "\n") + "\n")
  }

  public func json(configSource: String, allowance: CPUAllowance) -> String {
    struct Host: Encodable {
      var online_cpus: String
      var allowed_cpus: String
      var pinnable_cpus: String
      var affinity: String?
      var cgroup_cpuset: String?
      var cgroup_quota_cpus: Double?
      var isolated_cpus: String
      var physical_cores: Int
      var smt: Bool
      var numa_nodes: Int
      var packages: Int
    }
    struct Document: Encodable {
      var schema = "hdctl-recommend/1"
      var config: String
      var workers: Int
      var pin_cores: [Int]
      var numa_node: Int
      var housekeeping_cpus: [Int]
      var reasons: [String]
      var host: Host
    }
    let topology = allowance.topology
    let host = Host(
      online_cpus: CPUList.format(topology.online), allowed_cpus: CPUList.format(allowance.allowed),
      pinnable_cpus: CPUList.format(allowance.pinnable), affinity: allowance.affinity.map { CPUList.format($0) },
      cgroup_cpuset: allowance.cgroup.cpuset.map { CPUList.format($0) }, cgroup_quota_cpus: allowance.cgroup.quotaCPUs,
      isolated_cpus: CPUList.format(topology.isolated), physical_cores: topology.cores.count, smt: topology.hasSMT,
      numa_nodes: topology.numaNodes.count, packages: topology.packageCount)
    return encodeJSON(Document(
      config: configSource, workers: workers, pin_cores: pinCores, numa_node: numaNode,
      housekeeping_cpus: housekeepingCPUs, reasons: reasons, host: host))
  }
}
