// Configuration, kernel and io_uring checks.
import HDConfig

extension DoctorChecks {
  static func config(_ context: DoctorContext) -> CheckOutcome {
    let loaded = context.loaded
    guard let path = loaded.path else {
      return .ok("no \(LoadedConfig.defaultPath): checking against built-in defaults")
    }
    let errors = loaded.configErrors
    guard errors.isEmpty else {
      let first = errors[0]
      let position = first.line.map { ":\($0)" } ?? ""
      return .error(
        "\(path)\(position): \(first.message)\(errors.count > 1 ? " (and \(errors.count - 1) more)" : "")",
        fix: "hdctl check-config \(path)   # shows every problem with line and column")
    }
    return .ok("\(path) loads without errors")
  }

  static func kernelVersion(_ context: DoctorContext) -> CheckOutcome {
    guard let release = context.kernelRelease, context.kernelVersion != nil else {
      return .error("cannot read /proc/sys/kernel/osrelease", fix: "mount /proc (the relay needs it too)")
    }
    if context.kernelAtLeast(6, 1) {
      return .ok("Linux \(release) (6.1 or newer)")
    }
    return .error(
      "Linux \(release) is older than 6.1, which io_uring SINGLE_ISSUER + DEFER_TASKRUN need",
      fix: "boot Linux 6.1 or newer (Debian 12: apt-get install linux-image-amd64)")
  }

  static func seccomp(_ context: DoctorContext) -> CheckOutcome {
    switch context.processStatus.seccompMode {
    case nil:
      return .ok("no Seccomp line in /proc/self/status (kernel without seccomp)")
    case 0:
      return .ok("no seccomp filter on this process")
    case 1:
      return .error(
        "seccomp strict mode: only read, write, exit and sigreturn are allowed",
        fix: "run hdctl and the relay outside the strict-mode sandbox")
    default:
      let filters = context.processStatus.seccompFilters.map { "\($0) filter(s)" } ?? "filters"
      return .warning(
        "seccomp \(filters) active: container default profiles block io_uring_setup/enter/register",
        fix: "allow io_uring_setup, io_uring_enter and io_uring_register in the seccomp profile (docker: --security-opt seccomp=PROFILE.json)")
    }
  }

  static func ioUringDisabled(_ context: DoctorContext) -> CheckOutcome {
    let fix = "sysctl -w kernel.io_uring_disabled=0   # persist: hdctl tune --apply --persist"
    guard let value = context.root.readInt("/proc/sys/kernel/io_uring_disabled") else {
      return .ok("kernel.io_uring_disabled not present (kernel before 6.6): io_uring allowed")
    }
    switch value {
    case 0:
      return .ok("kernel.io_uring_disabled = 0 (allowed for everyone)")
    case 1:
      let group = context.root.readInt("/proc/sys/kernel/io_uring_group") ?? -1
      return .warning(
        "kernel.io_uring_disabled = 1: only CAP_SYS_ADMIN or group id \(group) may use io_uring; the relay's service user is neither",
        fix: fix)
    default:
      return .error("kernel.io_uring_disabled = \(value): io_uring_setup fails with EPERM for every process", fix: fix)
    }
  }

  static func ioUringSetup(_ context: DoctorContext) -> CheckOutcome {
    switch context.probes.ioUringSetup() {
    case .ok:
      return .ok("io_uring_queue_init(8 entries) works")
    case .failed(let code):
      return ioUringFailure(code, what: "io_uring_setup", context: context)
    }
  }

  static func ioUringFailure(_ code: Int32, what: String, context: DoctorContext) -> CheckOutcome {
    let name = errnoName(code)
    switch name {
    case "EPERM":
      if (context.processStatus.seccompMode ?? 0) != 0 {
        return .error(
          "\(what): EPERM, a seccomp filter blocks io_uring",
          fix: "allow io_uring_setup, io_uring_enter and io_uring_register in the seccomp profile (docker: --security-opt seccomp=PROFILE.json)")
      }
      return .error(
        "\(what): EPERM, io_uring is disabled for this process (kernel.io_uring_disabled or an LSM)",
        fix: "sysctl -w kernel.io_uring_disabled=0   # persist: hdctl tune --apply --persist")
    case "ENOSYS":
      return .error(
        "\(what): ENOSYS, the kernel is built without io_uring",
        fix: "boot a kernel with CONFIG_IO_URING=y (Debian's linux-image-amd64 has it)")
    case "ENOMEM":
      return .error(
        "\(what): ENOMEM, ring memory cannot be allocated or locked (RLIMIT_MEMLOCK or memory cgroup)",
        fix: "raise LimitMEMLOCK= in the unit (e.g. LimitMEMLOCK=64M) or the container's memory limit")
    case "EINVAL":
      return .error(
        "\(what): EINVAL, the kernel rejects the ring parameters (too old for them)",
        fix: "boot Linux 6.1 or newer (Debian 12: apt-get install linux-image-amd64)")
    default:
      return .error("\(what): \(name)", fix: "see io_uring_setup(2) for \(name); the relay cannot start without io_uring")
    }
  }

  static func ioUringSQPoll(_ context: DoctorContext) -> CheckOutcome {
    let outcome = context.probes.ioUringSetupSQPoll()
    guard context.config.sqpoll else {
      switch outcome {
      case .ok: return .ok("SQPOLL rings can be set up (sqpoll is off in the config)")
      case .failed(let code): return .ok("SQPOLL unavailable (\(errnoName(code))); fine, sqpoll is off in the config")
      }
    }
    switch outcome {
    case .ok:
      return .ok("sqpoll: true and an SQPOLL ring can be set up")
    case .failed(let code):
      return .error(
        "sqpoll: true but IORING_SETUP_SQPOLL fails: \(errnoName(code))",
        fix: "set sqpoll: false in \(context.configFileForFixes), or run the relay with CAP_SYS_NICE (kernels before 5.13)")
    }
  }
}
