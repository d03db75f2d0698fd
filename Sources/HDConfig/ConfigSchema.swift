// THE schema: every configuration key of the reference, exactly once. Parsing,
// validation, CLI flags, --print-config, `hdctl explain`, completions and
// docs/config-reference.md are all derived from this table.

public enum ConfigSchema {
  public static let keys: [ConfigKeySpec] = [
    ConfigKeySpec(
      "port", flag: "--port", type: .integer(1...65535), defaultDescription: "3340",
      rangeDescription: "1–65535", lineage: .cxxCompatible,
      doc: "DERP listen port (TCP). Production uses 443.",
      read: { .integer(Int64($0.port)) }, write: { $0.port = Int($1.integerValue) }),
    ConfigKeySpec(
      "bind", flag: "--bind", type: .ipList,
      defaultDescription: "all addresses (IPv4 and, where the host has it, IPv6)",
      rangeDescription: "valid IPv4/IPv6 literals", lineage: .new,
      doc: "Addresses the DERP port listens on. The C++ server is IPv4-only on 0.0.0.0.",
      read: { .strings($0.bind) }, write: { $0.bind = $1.stringsValue }),
    ConfigKeySpec(
      "workers", flag: "--workers", type: .integer(0...64), defaultDescription: "0",
      rangeDescription: "0–64", lineage: .cxxCompatible,
      doc: "Data-plane threads, each with its own io_uring loop; 0 = one per CPU this process may run on.",
      read: { .integer(Int64($0.workers)) }, write: { $0.workers = Int($1.integerValue) }),
    ConfigKeySpec(
      "pin_cores", flag: "--pin-cores", deprecatedFlags: ["--pin-workers"], type: .cpuList(0...1023),
      defaultDescription: "none", rangeDescription: "each 0–1023, distinct", lineage: .cxxCompatible,
      doc: "Worker i is pinned to pin_cores[i]; the count must equal workers (with workers: 0 it sets the count).",
      read: { .integers($0.pinCores) }, write: { $0.pinCores = $1.integersValue }),
    ConfigKeySpec(
      "sockbuf", flag: "--sockbuf", type: .integer(0...268_435_456), defaultDescription: "0",
      rangeDescription: "0–268435456", unit: "bytes", lineage: .cxxCompatible,
      doc: "SO_SNDBUF and SO_RCVBUF for every peer socket; 0 = kernel default.",
      read: { .integer(Int64($0.sockbufBytes)) }, write: { $0.sockbufBytes = Int($1.integerValue) }),
    ConfigKeySpec(
      "max_accept_rate", flag: "--max-accept-rate", type: .integer(0...1_000_000),
      defaultDescription: "0", rangeDescription: "0–1000000", unit: "connections/s",
      lineage: .cxxCompatible,
      doc: "New connections per second; over the limit a connection is closed at once and counted. 0 = unlimited.",
      read: { .integer(Int64($0.maxAcceptRatePerSecond)) },
      write: { $0.maxAcceptRatePerSecond = Int($1.integerValue) }),
    ConfigKeySpec(
      "sqpoll", flag: "--sqpoll", type: .boolean, defaultDescription: "false", lineage: .cxxCompatible,
      doc: "io_uring SQPOLL mode: one kernel polling thread per worker; if the kernel refuses, the daemon says why.",
      read: { .boolean($0.sqpoll) }, write: { $0.sqpoll = $1.booleanValue }),
    ConfigKeySpec(
      "busy_poll", flag: "--busy-poll", type: .integer(0...10_000),
      defaultDescription: String(Config.defaultBusyPollMicroseconds), rangeDescription: "0–10000", unit: "microseconds",
      lineage: .new,
      doc: "After handling traffic a worker keeps polling this long before it sleeps, so a reply arriving meanwhile "
        + "skips a wake-up (tens of microseconds on a VM); costs at most this much CPU per quiet gap. 0 = sleep at once.",
      read: { .integer(Int64($0.busyPollMicroseconds)) }, write: { $0.busyPollMicroseconds = Int($1.integerValue) }),
    ConfigKeySpec(
      "tls_cert", flag: "--tls-cert", type: .path, defaultDescription: "none",
      rangeDescription: "readable PEM chain", lineage: .cxxCompatible,
      doc: "Certificate for the DERP port. Both tls_cert and tls_key, or neither.",
      read: { .optional($0.tlsCert) }, write: { $0.tlsCert = $1.optionalStringValue }),
    ConfigKeySpec(
      "tls_key", flag: "--tls-key", type: .path, defaultDescription: "none",
      rangeDescription: "readable PEM key matching the cert", lineage: .cxxCompatible,
      doc: "Private key for the DERP port.",
      read: { .optional($0.tlsKey) }, write: { $0.tlsKey = $1.optionalStringValue }),
    ConfigKeySpec(
      "tls_ca_file", flag: "--tls-ca-file", type: .path,
      defaultDescription: "OpenSSL's default verify paths (SSL_CERT_FILE / SSL_CERT_DIR, else the system store)",
      rangeDescription: "readable PEM file of CA certificates", lineage: .new,
      doc: "CA certificates the relay trusts when it connects out over TLS: https mesh.peers and an https verify_clients.url (not used for the DERP port or client certificates). Unset, the peers' certificates must chain to OpenSSL's default verify paths, which honour SSL_CERT_FILE and SSL_CERT_DIR like OpenSSL and Go (derper) do. A link whose verification fails logs which source it trusted.",
      read: { .optional($0.tlsCAFile) }, write: { $0.tlsCAFile = $1.optionalStringValue }),
    ConfigKeySpec(
      "ktls", flag: "--ktls",
      type: .enumeration(KTLSMode.allCases.map(\.rawValue), aliases: [:]),
      defaultDescription: "auto", rangeDescription: "auto, required, off", lineage: .new,
      doc: "auto: kernel TLS when the kernel has it, else userspace (said once at startup); required: refuse without it; off: userspace.",
      read: { .string($0.ktls.rawValue) }, write: { $0.ktls = KTLSMode(rawValue: $1.stringValue)! }),
    ConfigKeySpec(
      "log_level", flag: "--log-level",
      type: .enumeration(
        ["trace", "debug", "info", "warn", "error", "critical", "off"], aliases: ["warning": "warn"]),
      defaultDescription: "info",
      rangeDescription: "trace, debug, info, warn (alias warning), error, critical, off",
      lineage: .cxxCompatible, doc: "Log verbosity.",
      read: { .string($0.logLevel == .warning ? "warn" : $0.logLevel.rawValue) },
      write: { $0.logLevel = LogLevel(configValue: $1.stringValue)! }),
    ConfigKeySpec(
      "log_format", flag: "--log-format",
      type: .enumeration(LogFormat.allCases.map(\.rawValue), aliases: [:]),
      defaultDescription: "text", rangeDescription: "text, json", lineage: .new,
      doc: "Log line format on stderr (journald or a log shipper).",
      read: { .string($0.logFormat.rawValue) }, write: { $0.logFormat = LogFormat(rawValue: $1.stringValue)! }),
    ConfigKeySpec(
      "peer_rate_limit", flag: "--peer-rate-limit", type: .integer(0...1_000_000_000_000),
      defaultDescription: "0", rangeDescription: "0–10^12", unit: "bytes/s", lineage: .cxxCompatible,
      doc: "Per-peer receive budget; over budget the relay stops reading that peer (TCP backpressure). 0 = off.",
      read: { .integer($0.peerRateLimitBytesPerSecond) },
      write: { $0.peerRateLimitBytesPerSecond = $1.integerValue }),
    ConfigKeySpec(
      "key_file", flag: "--key-file", type: .path, defaultDescription: "none", lineage: .new,
      doc: "The server's private DERP key (privkey:<64 hex>); created with mode 0600 if missing.",
      read: { .optional($0.keyFile) }, write: { $0.keyFile = $1.optionalStringValue }),
    ConfigKeySpec(
      "stun_port", flag: "--stun-port", type: .integer(0...65535), defaultDescription: "0",
      rangeDescription: "0–65535", lineage: .new,
      doc: "UDP STUN binding responder (RFC 5389); production should enable it (3478). 0 = off.",
      read: { .integer(Int64($0.stunPort)) }, write: { $0.stunPort = Int($1.integerValue) }),
    ConfigKeySpec(
      "mesh.key_file", flag: "--mesh-key-file", type: .path, defaultDescription: "none",
      rangeDescription: "file with 64 hex chars", lineage: .new,
      doc: "Shared mesh secret (derper's -mesh-psk-file): clients presenting it are mesh peers and may use WatchConns, ClosePeer, ForwardPacket (e.g. derper's -mesh-with).",
      read: { .optional($0.mesh.keyFile) }, write: { $0.mesh.keyFile = $1.optionalStringValue }),
    ConfigKeySpec(
      "mesh.peers", flag: "--mesh-peer", type: .hostList, defaultDescription: "[]", lineage: .new,
      doc: "Other relays of the same region to mesh with (derper's -mesh-with): each is dialled at https://host/derp (or the http(s) URL given) with the mesh key, its clients are watched, and packets for them are forwarded there. Needs mesh.key_file. https peers must present a certificate valid for the host that chains to tls_ca_file (or OpenSSL's default verify paths); an http:// URL exposes the mesh key to anyone on the path.",
      read: { .strings($0.mesh.peers) }, write: { $0.mesh.peers = $1.stringsValue }),
    ConfigKeySpec(
      "mesh.link_timeout_seconds", flag: "--mesh-link-timeout", type: .integer(2...600), defaultDescription: "15",
      rangeDescription: "2–600", lineage: .new,
      doc: "A mesh.peers link pings its peer every third of this and is dropped, counted (hyper_derp_mesh_link_losses_total), forgotten and redialled when nothing arrives for this many seconds or a write makes no progress, so a cut path is noticed in bounded time.",
      read: { .integer(Int64($0.mesh.linkTimeoutSeconds)) }, write: { $0.mesh.linkTimeoutSeconds = Int($1.integerValue) }),
    ConfigKeySpec(
      "verify_clients.url", flag: "--verify-client-url", type: .url, defaultDescription: "none",
      rangeDescription: "http:// or https:// URL", lineage: .new,
      doc: "Admission controller (derper/Headscale compatible): POST the node key and source IP, expect {\"Allow\":true}.",
      read: { .optional($0.verifyClients.url) }, write: { $0.verifyClients.url = $1.optionalStringValue }),
    ConfigKeySpec(
      "verify_clients.fail_open", flag: "--verify-client-fail-open", type: .boolean,
      defaultDescription: "false", lineage: .new,
      doc: "Admit clients when the controller cannot be asked (unreachable, 5 s timeout, queue full); a non-200 or malformed answer still rejects.",
      read: { .boolean($0.verifyClients.failOpen) }, write: { $0.verifyClients.failOpen = $1.booleanValue }),
    ConfigKeySpec(
      "metrics.port", flag: "--metrics-port", type: .integer(0...65535), defaultDescription: "0",
      rangeDescription: "0–65535", lineage: .cxxCompatible,
      doc: "HTTP server for /metrics, /health and (opt-in) /debug/*. 0 = off. Must differ from port.",
      read: { .integer(Int64($0.metrics.port)) }, write: { $0.metrics.port = Int($1.integerValue) }),
    ConfigKeySpec(
      "metrics.bind", flag: "--metrics-bind", type: .ipList, defaultDescription: "all addresses",
      rangeDescription: "valid IPv4/IPv6 literals", lineage: .new,
      doc: "Where the metrics server listens (the C++ server always binds 0.0.0.0).",
      read: { .strings($0.metrics.bind) }, write: { $0.metrics.bind = $1.stringsValue }),
    ConfigKeySpec(
      "metrics.tls_cert", flag: "--metrics-tls-cert", type: .path, defaultDescription: "none",
      rangeDescription: "readable PEM chain", lineage: .cxxCompatible,
      doc: "The metrics server's own certificate (HTTPS); pair with metrics.tls_key.",
      read: { .optional($0.metrics.tlsCert) }, write: { $0.metrics.tlsCert = $1.optionalStringValue }),
    ConfigKeySpec(
      "metrics.tls_key", flag: "--metrics-tls-key", type: .path, defaultDescription: "none",
      rangeDescription: "readable PEM key matching the cert", lineage: .cxxCompatible,
      doc: "The metrics server's private key.",
      read: { .optional($0.metrics.tlsKey) }, write: { $0.metrics.tlsKey = $1.optionalStringValue }),
    ConfigKeySpec(
      "metrics.debug_endpoints", flag: "--debug-endpoints", type: .boolean, defaultDescription: "false",
      lineage: .cxxCompatible,
      doc: "Serves /debug/workers, /debug/peers and /debug/mesh, which expose peer public keys; check-config warns when on.",
      read: { .boolean($0.metrics.debugEndpoints) }, write: { $0.metrics.debugEndpoints = $1.booleanValue }),
  ] + acmeKeys

  /// The `acme` section: certificates from an ACME CA (RFC 8555), instead of tls_cert/tls_key.
  static let acmeKeys: [ConfigKeySpec] = [
    ConfigKeySpec(
      "acme.domains", flag: "--acme-domain", type: .domainList, defaultDescription: "[]",
      rangeDescription: "DNS names, no wildcards", lineage: .new,
      doc: "Get and renew the DERP port's certificate for these names from an ACME CA (derper's -certmode letsencrypt "
        + "with -hostname); excludes tls_cert/tls_key. The CA must reach this relay on port 443 (tls-alpn-01) or 80 "
        + "(http-01, see acme.http_port).",
      read: { .strings($0.acme.domains) }, write: { $0.acme.domains = $1.stringsValue }),
    ConfigKeySpec(
      "acme.ip_addresses", flag: "--acme-ip", type: .ipList, defaultDescription: "[]",
      rangeDescription: "valid IPv4/IPv6 literals", lineage: .new,
      doc: "IP addresses the certificate also (or only) names, RFC 8738 (derper's --acme-ip-certs); the CA must offer "
        + "IP certificates.",
      read: { .strings($0.acme.ipAddresses) }, write: { $0.acme.ipAddresses = $1.stringsValue }),
    ConfigKeySpec(
      "acme.email", flag: "--acme-email", type: .text, defaultDescription: "none", rangeDescription: "e-mail address",
      lineage: .new, doc: "Contact address registered with the CA account (expiry and policy notices).",
      read: { .optional($0.acme.email) }, write: { $0.acme.email = $1.optionalStringValue }),
    ConfigKeySpec(
      "acme.directory_url", flag: "--acme-directory-url", type: .url,
      defaultDescription: ACMEConfig.letsEncryptDirectory, rangeDescription: "https:// URL", lineage: .new,
      doc: "The CA's ACME directory. Let's Encrypt staging: https://acme-staging-v02.api.letsencrypt.org/directory.",
      read: { .string($0.acme.directoryURL) },
      write: { $0.acme.directoryURL = $1.optionalStringValue ?? ACMEConfig.letsEncryptDirectory }),
    ConfigKeySpec(
      "acme.directory_ca_file", flag: "--acme-directory-ca-file", type: .path, defaultDescription: "system CA store",
      rangeDescription: "readable PEM bundle", lineage: .new,
      doc: "CA certificates trusted for the directory's HTTPS, for a private ACME CA (step-ca, Pebble).",
      read: { .optional($0.acme.directoryCAFile) }, write: { $0.acme.directoryCAFile = $1.optionalStringValue }),
    ConfigKeySpec(
      "acme.cache_dir", flag: "--acme-cache-dir", type: .path, defaultDescription: ACMEConfig.defaultCacheDir,
      rangeDescription: "writable directory", lineage: .new,
      doc: "Where the account key and the certificate with its key are kept (mode 0600; created 0700 if missing). "
        + "A cached certificate is served at start, so a restart needs no CA.",
      read: { .string($0.acme.cacheDir) },
      write: { $0.acme.cacheDir = $1.optionalStringValue ?? ACMEConfig.defaultCacheDir }),
    ConfigKeySpec(
      "acme.challenges", flag: "--acme-challenge",
      type: .enumList(ACMEChallengeType.allCases.map(\.rawValue)), defaultDescription: "[tls-alpn-01, http-01]",
      rangeDescription: "tls-alpn-01, http-01", lineage: .new,
      doc: "Challenge types, in order of preference: tls-alpn-01 is answered by the DERP port itself (needs port 443 "
        + "reachable); http-01 by acme.http_port (needs port 80).",
      read: { .strings($0.acme.challenges.map(\.rawValue)) },
      write: { $0.acme.challenges = $1.stringsValue.compactMap(ACMEChallengeType.init(rawValue:)) }),
    ConfigKeySpec(
      "acme.http_port", flag: "--acme-http-port", type: .integer(0...65535), defaultDescription: "0",
      rangeDescription: "0–65535", lineage: .new,
      doc: "Plain-HTTP port (80 in production, like derper's) on the bind addresses: answers http-01 challenges and "
        + "redirects everything else to https. 0 = none.",
      read: { .integer(Int64($0.acme.httpPort)) }, write: { $0.acme.httpPort = Int($1.integerValue) }),
    ConfigKeySpec(
      "acme.eab_kid", flag: "--acme-eab-kid", type: .text, defaultDescription: "none", lineage: .new,
      doc: "External Account Binding key identifier (RFC 8555 §7.3.4; CAs such as Google Trust Services, ZeroSSL); "
        + "pair with acme.eab_hmac_key_file.",
      read: { .optional($0.acme.eabKid) }, write: { $0.acme.eabKid = $1.optionalStringValue }),
    ConfigKeySpec(
      "acme.eab_hmac_key_file", flag: "--acme-eab-hmac-key-file", type: .path, defaultDescription: "none",
      rangeDescription: "file with the base64url HMAC key", lineage: .new,
      doc: "File holding the External Account Binding HMAC key, base64url as the CA hands it out.",
      read: { .optional($0.acme.eabHMACKeyFile) }, write: { $0.acme.eabHMACKeyFile = $1.optionalStringValue }),
  ]

  /// The row for a dotted key path.
  public static func spec(forKey key: String) -> ConfigKeySpec? {
    keys.first { $0.key == key }
  }

  /// The row whose flag (or deprecated flag) is `flag`.
  public static func spec(forFlag flag: String) -> ConfigKeySpec? {
    keys.first { $0.flag == flag || $0.deprecatedFlags.contains(flag) }
  }

  /// YAML sections (`metrics`, `mesh`, `verify_clients`) in schema order.
  public static var sections: [String] {
    var seen: [String] = []
    for spec in keys {
      if let section = spec.section, !seen.contains(section) { seen.append(section) }
    }
    return seen
  }

  /// Names allowed directly under `section` (nil = the root): keys and, at the root, sections.
  public static func names(inSection section: String?) -> [String] {
    var names: [String] = []
    for spec in keys where spec.section == section {
      names.append(spec.leafName)
    }
    if section == nil { names += sections }
    return names
  }
}
