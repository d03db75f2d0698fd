// Maps each check code to the function that runs it.

public enum DoctorChecks {
  static func run(_ code: CheckCode, _ context: DoctorContext) -> CheckOutcome {
    switch code {
    case .config: return config(context)
    case .kernelVersion: return kernelVersion(context)
    case .seccomp: return seccomp(context)
    case .ioUringDisabled: return ioUringDisabled(context)
    case .ioUringSetup: return ioUringSetup(context)
    case .ioUringSQPoll: return ioUringSQPoll(context)
    case .ktlsModule: return ktlsModule(context)
    case .ktlsProbe: return ktlsProbe(context)
    case .ktlsBoot: return ktlsBoot(context)
    case .ktlsStats: return ktlsStats(context)
    case .sysctlRmemMax: return sysctl("net.core.rmem_max", context)
    case .sysctlWmemMax: return sysctl("net.core.wmem_max", context)
    case .sysctlSomaxconn: return sysctl("net.core.somaxconn", context)
    case .sysctlSynBacklog: return sysctl("net.ipv4.tcp_max_syn_backlog", context)
    case .sysctlNetdevBacklog: return sysctl("net.core.netdev_max_backlog", context)
    case .cpuTopology: return cpuTopology(context)
    case .cpuAllowed: return cpuAllowed(context)
    case .workers: return workers(context)
    case .pinCores: return pinCores(context)
    case .nofile: return nofile(context)
    case .memlock: return memlock(context)
    case .sysctlFileMax: return sysctl("fs.file-max", context)
    case .sysctlNrOpen: return sysctl("fs.nr_open", context)
    case .portPrivilege: return portPrivilege(context)
    case .tlsCert: return certificates(context, prefix: "")
    case .metricsTLSCert: return certificates(context, prefix: "metrics.")
    case .tlsCertExpiry: return certificateExpiry(context, listener: .derp)
    case .metricsCertExpiry: return certificateExpiry(context, listener: .metrics)
    case .relayHealth: return relayHealth(context)
    case .tlsCertServed: return servedCertificate(context)
    case .acmeChallengePorts: return acmeChallengePorts(context)
    case .acmePortsFree: return acmePortsFree(context)
    case .acmeCacheDir: return acmeCacheDir(context)
    case .acmeDNS: return acmeDNS(context)
    }
  }
}
