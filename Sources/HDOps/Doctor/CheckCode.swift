// Every doctor check, with its stable code (scripts use them with --only and
// --skip, so a code is never renamed or reused), section, one-line description
// and prerequisites. A check whose prerequisite ended in an error is reported
// as skipped instead of piling a second failure on the first.

public enum CheckCode: String, Sendable, Codable, CaseIterable {
  case config = "CONFIG"
  case kernelVersion = "KERNEL_VERSION"
  case seccomp = "SECCOMP"
  case ioUringDisabled = "IOURING_DISABLED"
  case ioUringSetup = "IOURING_SETUP"
  case ioUringSQPoll = "IOURING_SQPOLL"
  case ktlsModule = "KTLS_MODULE"
  case ktlsProbe = "KTLS_PROBE"
  case ktlsBoot = "KTLS_BOOT"
  case ktlsStats = "KTLS_STATS"
  case sysctlRmemMax = "SYSCTL_RMEM_MAX"
  case sysctlWmemMax = "SYSCTL_WMEM_MAX"
  case sysctlSomaxconn = "SYSCTL_SOMAXCONN"
  case sysctlSynBacklog = "SYSCTL_SYN_BACKLOG"
  case sysctlNetdevBacklog = "SYSCTL_NETDEV_BACKLOG"
  case cpuTopology = "CPU_TOPOLOGY"
  case cpuAllowed = "CPU_ALLOWED"
  case workers = "WORKERS"
  case pinCores = "PIN_CORES"
  case nofile = "NOFILE"
  case memlock = "MEMLOCK"
  case sysctlFileMax = "SYSCTL_FILE_MAX"
  case sysctlNrOpen = "SYSCTL_NR_OPEN"
  case portPrivilege = "PORT_PRIVILEGE"
  case tlsCert = "TLS_CERT"
  case metricsTLSCert = "METRICS_TLS_CERT"
  case tlsCertExpiry = "TLS_CERT_EXPIRY"
  case metricsCertExpiry = "METRICS_CERT_EXPIRY"
  case relayHealth = "RELAY_HEALTH"
  case tlsCertServed = "TLS_CERT_SERVED"
  case acmeChallengePorts = "ACME_CHALLENGE_PORTS"
  case acmePortsFree = "ACME_PORTS_FREE"
  case acmeCacheDir = "ACME_CACHE_DIR"
  case acmeDNS = "ACME_DNS"

  public var section: CheckSection {
    switch self {
    case .config: return .configuration
    case .kernelVersion, .seccomp: return .kernel
    case .ioUringDisabled, .ioUringSetup, .ioUringSQPoll: return .ioUring
    case .ktlsModule, .ktlsProbe, .ktlsBoot, .ktlsStats: return .kernelTLS
    case .sysctlRmemMax, .sysctlWmemMax, .sysctlSomaxconn, .sysctlSynBacklog, .sysctlNetdevBacklog:
      return .networkSysctls
    case .cpuTopology, .cpuAllowed, .workers, .pinCores: return .cpu
    case .nofile, .memlock, .sysctlFileMax, .sysctlNrOpen, .portPrivilege: return .limits
    case .tlsCert, .metricsTLSCert, .tlsCertExpiry, .metricsCertExpiry: return .certificates
    case .relayHealth, .tlsCertServed: return .runningRelay
    case .acmeChallengePorts, .acmePortsFree, .acmeCacheDir, .acmeDNS: return .acme
    }
  }

  public var title: String {
    switch self {
    case .config: return "the config file loads without errors"
    case .kernelVersion: return "Linux 6.1 or newer (io_uring SINGLE_ISSUER, DEFER_TASKRUN)"
    case .seccomp: return "no seccomp filter that could block io_uring"
    case .ioUringDisabled: return "kernel.io_uring_disabled allows io_uring"
    case .ioUringSetup: return "a real io_uring can be set up (errno classified)"
    case .ioUringSQPoll: return "an SQPOLL ring can be set up when sqpoll is on"
    case .ktlsModule: return "the kernel tls module is loaded"
    case .ktlsProbe: return "setsockopt(TCP_ULP, \"tls\") works on a loopback socket"
    case .ktlsBoot: return "tls is loaded at boot (modules-load.d)"
    case .ktlsStats: return "/proc/net/tls_stat counters, TlsDecryptError stays 0"
    case .sysctlRmemMax: return "net.core.rmem_max covers sockbuf"
    case .sysctlWmemMax: return "net.core.wmem_max covers sockbuf"
    case .sysctlSomaxconn: return "net.core.somaxconn for reconnect storms"
    case .sysctlSynBacklog: return "net.ipv4.tcp_max_syn_backlog for reconnect storms"
    case .sysctlNetdevBacklog: return "net.core.netdev_max_backlog for bursts"
    case .cpuTopology: return "CPU topology readable from sysfs"
    case .cpuAllowed: return "CPUs this process may use (affinity, cgroup cpuset and quota)"
    case .workers: return "worker count fits the usable CPUs"
    case .pinCores: return "pin_cores are online, usable and not SMT siblings"
    case .nofile: return "RLIMIT_NOFILE allows many peers"
    case .memlock: return "RLIMIT_MEMLOCK is enough for io_uring rings"
    case .sysctlFileMax: return "fs.file-max allows many sockets"
    case .sysctlNrOpen: return "fs.nr_open allows LimitNOFILE=1048576"
    case .portPrivilege: return "ports below ip_unprivileged_port_start can be bound"
    case .tlsCert: return "tls_cert/tls_key load, match and are not expiring (as check-config)"
    case .metricsTLSCert: return "metrics.tls_cert/tls_key load, match and are not expiring"
    case .tlsCertExpiry: return "the DERP certificate: days left (warn under 14), key matches, DERP map pin when self-signed"
    case .metricsCertExpiry: return "the metrics certificate: days left (warn under 14), key matches"
    case .relayHealth: return "a running relay answers GET /health (when metrics are on)"
    case .tlsCertServed: return "the running relay serves the tls_cert on disk (reloaded after a renewal)"
    case .acmeChallengePorts: return "the enabled ACME challenges are on the ports the CA dials (443, 80)"
    case .acmePortsFree: return "the ACME challenge ports are free or held by the relay itself"
    case .acmeCacheDir: return "acme.cache_dir is writable (account key, certificates)"
    case .acmeDNS: return "acme.domains resolve to (and acme.ip_addresses are) addresses of this host"
    }
  }

  public var prerequisites: [CheckCode] {
    switch self {
    case .ioUringSetup: return [.ioUringDisabled]
    case .ioUringSQPoll: return [.ioUringSetup]
    case .ktlsProbe, .ktlsBoot, .ktlsStats: return [.ktlsModule]
    case .cpuAllowed: return [.cpuTopology]
    case .workers, .pinCores: return [.cpuAllowed]
    case .memlock: return [.kernelVersion]
    default: return []
    }
  }
}
