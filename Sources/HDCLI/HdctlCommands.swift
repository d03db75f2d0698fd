// The command table of `hdctl`. Handlers live in the hdctl executable and are
// registered there by command name.

import HDConfig

public enum HdctlCommands {
  public static let defaultConfigPath = "/etc/hyper-derp/hyper-derp.yaml"

  public static let checkConfig = CommandSpec(
    name: "check-config", summary: "validate config files and the files they reference",
    details: """
      Checks each file (default \(defaultConfigPath)) against the configuration schema and
      reports every problem as FILE:LINE:COL: error|warning: message [CODE]. Certificate and
      key files are opened and checked (PEM, key matches certificate, expiry); checks that
      depend on this host (online CPUs, SMT siblings, socket buffer limits) are warnings
      marked host-specific.
      """,
    positionals: [PositionalSpec("PATH", .path, variadic: true, help: "config files to check")],
    options: [
      OptionSpec("--format", .enumeration(["text", "json"]), help: "text (default) or json: one object per diagnostic"),
      OptionSpec("--strict", help: "warnings make the check fail too"),
      OptionSpec("--syntax-only", help: "YAML and schema only: skip referenced files and host checks"),
    ],
    exitCodes: [(0, "valid (warnings allowed unless --strict)"), (1, "invalid"), (64, "usage error")])

  public static let explain = CommandSpec(
    name: "explain", summary: "print the reference entry of one configuration key",
    positionals: [PositionalSpec("KEY", .configKey, help: "a key such as port or metrics.port")],
    exitCodes: [(0, "printed"), (1, "unknown key"), (64, "usage error")])

  public static let generate = CommandSpec(
    name: "generate", summary: "write docs/config-reference.md, completions/ and man/ from the schema and command tables",
    options: [
      OptionSpec("--out", .directory, help: "repository root to write into (default .)"),
      OptionSpec("--check", help: "write nothing; fail when a committed file differs"),
    ],
    exitCodes: [(0, "written, or up to date with --check"), (1, "files differ (--check) or cannot be written"), (64, "usage error")])

  public static let doctor = CommandSpec(
    name: "doctor", summary: "check this host for problems that hurt the relay",
    options: [
      OptionSpec("--config", .path, help: "config file to check the host against"),
      OptionSpec("--json", help: "machine-readable output"),
      OptionSpec("--only", .string, repeatable: true, valueName: "CODES", help: "run only these checks (comma-separated codes)"),
      OptionSpec("--skip", .string, repeatable: true, valueName: "CODES", help: "skip these checks (comma-separated codes)"),
      OptionSpec("--list-checks", help: "list the checks and exit"),
      OptionSpec("--strict", help: "warnings make doctor fail too"),
      OptionSpec("--root", .directory, help: "read /sys and /proc under this root (tests, containers)"),
    ],
    exitCodes: [(0, "no problems"), (1, "problems found"), (64, "usage error")])

  public static let recommend = CommandSpec(
    name: "recommend", summary: "recommend workers, pinning and settings for this host",
    options: [
      OptionSpec("--config", .path, help: "config file to start from"),
      OptionSpec("--json", help: "machine-readable output"),
      OptionSpec("--root", .directory, help: "read /sys and /proc under this root"),
    ],
    exitCodes: [(0, "printed"), (1, "cannot read the host"), (64, "usage error")])

  public static let tune = CommandSpec(
    name: "tune", summary: "show, apply or revert the sysctl settings the relay wants",
    options: [
      OptionSpec("--config", .path, help: "config file the settings are computed for"),
      OptionSpec("--apply", help: "apply the settings now"),
      OptionSpec("--persist", help: "also write a sysctl.d drop-in"),
      OptionSpec("--revert", help: "restore the values saved by --apply"),
      OptionSpec("--root", .directory, help: "read and write /proc and /etc under this root"),
    ],
    exitCodes: [(0, "done"), (1, "failed"), (64, "usage error")])

  public static let derpmap = CommandSpec(
    name: "derpmap", summary: "print the DERP map region for the relays of a mesh (Tailscale or Headscale)",
    details: """
      One --node per relay of the region, in the order clients should prefer them:
        --node HOST[,config=PATH][,ipv4=ADDR][,ipv6=ADDR][,name=NAME][,derp-port=N][,stun-port=N][,cert=PATH]
      HOST is the name clients dial and send as TLS server name. The DERP port, STUN port
      and certificate come from the relay's config file (config=PATH, else the built-in
      defaults) unless given; a self-signed certificate becomes CertName "sha256-raw:<hex>".
      Field names and types are Tailscale's tailcfg.DERPRegion/DERPNode. Formats: json (a
      tailcfg.DERPMap, also read by hdctl probe), policy (the derpMap section of a tailnet
      policy file), headscale (Headscale's DERP map YAML, for derp.paths). Refuses a map a
      client would reject: a plain-TCP port (unless --insecure-for-tests), a missing host
      name, duplicate node names.
      """,
    options: [
      OptionSpec("--node", .string, repeatable: true, valueName: "HOST[,KEY=VALUE...]", help: "a relay of the region (see above)"),
      OptionSpec("--region-id", .int, help: "RegionID (900-999 are kept for self-hosted relays)"),
      OptionSpec("--region-code", .string, valueName: "CODE", help: "RegionCode, a short name such as fra"),
      OptionSpec("--region-name", .string, valueName: "NAME", help: "RegionName (default: the code)"),
      OptionSpec("--format", .enumeration(["json", "policy", "headscale"]), help: "json (default), policy or headscale"),
      OptionSpec("--omit-default-regions", help: "set OmitDefaultRegions: clients use only these relays"),
      OptionSpec(
        "--insecure-for-tests",
        help: "allow plain-TCP relays, marked InsecureForTests (clients need TS_DEBUG_USE_DERP_HTTP=1): test tailnets only"),
    ],
    exitCodes: [(0, "printed"), (1, "refused: the map would not work"), (64, "usage error")])

  public static let status = CommandSpec(
    name: "status", summary: "one screen about a running relay, from its metrics server",
    details: """
      Reads /health and /metrics of the relay's metrics server (URL such as
      http://127.0.0.1:9090; without one, metrics.port of --config on 127.0.0.1) and shows
      uptime, version, workers, peers, throughput over --interval seconds, drops by reason,
      TLS modes, mesh links, certificate expiry and open files.
      """,
    positionals: [PositionalSpec("URL", .string, optional: true, help: "the metrics server, http:// or https://")],
    options: [
      OptionSpec("--config", .path, help: "take the metrics port and TLS from this config (default \(defaultConfigPath))"),
      OptionSpec("--ca-file", .path, help: "CA bundle for an https metrics server (default: the system store)"),
      OptionSpec("--interval", .int, valueName: "SECONDS", help: "time between the two scrapes rates come from (default 1)"),
      OptionSpec("--json", help: "one JSON object"),
      OptionSpec("--watch", help: "refresh every interval until interrupted"),
    ],
    exitCodes: [(0, "shown (the relay answered)"), (1, "the relay did not answer"), (64, "usage error")])

  public static let cert = CommandSpec(
    name: "cert", summary: "make certificates for the relay (self-signed, pinned in the DERP map)",
    details: """
      self-signed: writes DIR/cert.pem (0644) and DIR/key.pem (0600), an ECDSA P-256
      certificate for the given IP addresses (and host names) that the relay serves with
      tls_cert/tls_key, and prints the DERP map CertName pin, sha256-raw:<hex of the
      SHA-256 of the DER certificate>. Tailscale clients (1.82 and later) trust the relay
      by that pin instead of a CA, so no domain is needed. The relay logs the same pin at
      start and on every reload. A new certificate has a new pin: update the DERP map
      before the relay serves it.
      """,
    positionals: [PositionalSpec("ACTION", .enumeration(["self-signed"]), help: "what to make: self-signed")],
    options: [
      OptionSpec("--ip", .string, repeatable: true, valueName: "ADDR", help: "IPv4/IPv6 address the relay is reached at"),
      OptionSpec("--hostname", .string, repeatable: true, valueName: "NAME", help: "DNS name it is also reached at"),
      OptionSpec("--out", .directory, help: "directory for cert.pem and key.pem (created if missing)"),
      OptionSpec("--days", .int, help: "validity in days (default \(selfSignedDefaultDays))"),
      OptionSpec("--force", help: "replace cert.pem/key.pem that already exist"),
    ],
    exitCodes: [(0, "written; the pin is printed"), (1, "cannot write the files"), (64, "usage error")])

  /// Default validity of `hdctl cert self-signed`: a pinned certificate is
  /// replaced by hand (with a DERP map change), so not too often.
  public static let selfSignedDefaultDays = 365

  public static let probe = CommandSpec(
    name: "probe", summary: "probe relays from the outside, like derpprobe (one-shot or --listen)",
    details: """
      Targets: a DERP map (--derp-map FILE or URL, in any form hdctl derpmap writes: JSON,
      policy file section or Headscale YAML), the derpmap flags (--node, --region-id, --region-code, ...), or one relay
      (--relay https://HOST[:PORT], http:// for a plain-TCP relay). Every node: TCP connect,
      TLS (chain valid for CertName/HostName against --ca-file or the system store, or the
      sha256-raw pin; days to expiry), the DERP handshake, --packets round trips between two
      clients, a STUN binding request (the answer must carry our address) and, with
      --bandwidth-bytes, a bandwidth check. Every ordered pair of nodes of a region: a
      client on one sends to a client on the other (mesh forwarding). With --mesh-key-file
      the probe clients present the mesh key, so verify_clients lets them in.
      One-shot: a table (or --json) and exit 1 on any failure. --listen ADDR: a pass every
      --interval seconds, results at http://ADDR/metrics (Prometheus) and http://ADDR/.
      """,
    options: [
      OptionSpec("--derp-map", .string, valueName: "FILE|URL", help: "a DERP map (JSON or Headscale YAML): file or http(s) URL"),
      OptionSpec("--relay", .string, valueName: "URL", help: "one relay: https://HOST[:PORT] or http://HOST:PORT"),
      OptionSpec("--stun-port", .int, help: "with --relay: also probe STUN on this UDP port"),
      OptionSpec("--node", .string, repeatable: true, valueName: "HOST[,KEY=VALUE...]", help: "a relay, as for hdctl derpmap"),
      OptionSpec("--region-id", .int, help: "with --node: RegionID"),
      OptionSpec("--region-code", .string, valueName: "CODE", help: "with --node: RegionCode"),
      OptionSpec("--region-name", .string, valueName: "NAME", help: "with --node: RegionName"),
      OptionSpec("--insecure-for-tests", help: "with --node: allow relays without TLS in the map"),
      OptionSpec("--ca-file", .path, help: "CA bundle for nodes without a pin (default: the system store)"),
      OptionSpec("--mesh-key-file", .path, help: "the region's mesh key (64 hex characters)"),
      OptionSpec("--packets", .int, help: "packets timed per packets/mesh check (default 10)"),
      OptionSpec("--timeout", .int, valueName: "SECONDS", help: "bound on each step (default 5)"),
      OptionSpec("--bandwidth-bytes", .int, valueName: "BYTES", help: "also send this many bytes through each node"),
      OptionSpec("--json", help: "one JSON document"),
      OptionSpec("--listen", .string, valueName: "ADDR", help: "run continuously; serve /metrics and / on ADDR (e.g. 127.0.0.1:9100)"),
      OptionSpec("--interval", .int, valueName: "SECONDS", help: "with --listen: seconds between passes (default 30)"),
    ],
    exitCodes: [(0, "every check passed (one-shot)"), (1, "a check failed, or the targets could not be read"), (64, "usage error")])

  public static let version = CommandSpec(name: "version", summary: "print the version", exitCodes: [(0, "printed")])

  public static let tool = ToolSpec(
    name: "hdctl", summary: "operations tool for the Hyper-DERP relay",
    commands: [checkConfig, explain, generate, doctor, recommend, tune, derpmap, probe, status, cert, version])
}
