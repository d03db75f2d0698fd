// Rules that involve more than one key, checked on the effective configuration
// (after file and flags), each reported where the offending value was set.

enum ConfigRelations {
  static func check(_ config: Config, origins: [String: SettingOrigin]) -> [Diagnostic] {
    var diagnostics: [Diagnostic] = []
    func at(_ key: String) -> SettingOrigin { origins[key] ?? .builtIn }

    for (cert, key) in [("tls_cert", "tls_key"), ("metrics.tls_cert", "metrics.tls_key")] {
      let certSet = ConfigSchema.spec(forKey: cert)!.isSet(in: config)
      let keySet = ConfigSchema.spec(forKey: key)!.isSet(in: config)
      if certSet != keySet {
        let (present, missing) = certSet ? (cert, key) : (key, cert)
        diagnostics.append(
          at(present).diagnostic(
            .error, .incompletePair, key: present, "\(present) is set but \(missing) is not; set both or neither",
            suggestion: "add \(missing)"))
      }
    }

    if !config.pinCores.isEmpty, config.workers != 0, config.pinCores.count != config.workers {
      diagnostics.append(
        at("pin_cores").diagnostic(
          .error, .pinCoresCount, key: "pin_cores",
          "pin_cores names \(config.pinCores.count) cores but workers is \(config.workers); the counts must match",
          suggestion: "list \(config.workers) cores, or set workers: 0 to take the count from pin_cores"))
    }

    if config.metrics.port != 0, config.metrics.port == config.port {
      diagnostics.append(
        at("metrics.port").diagnostic(
          .error, .portConflict, key: "metrics.port",
          "metrics.port \(config.metrics.port) is the DERP port too; the two servers need different ports"))
    }

    if !config.mesh.peers.isEmpty, config.mesh.keyFile == nil {
      diagnostics.append(
        at("mesh.peers").diagnostic(
          .error, .meshPeersWithoutKey, key: "mesh.peers",
          "mesh.peers is set but mesh.key_file is not; meshing needs the shared mesh secret",
          suggestion: "add mesh.key_file"))
    }

    if config.metrics.debugEndpoints {
      diagnostics.append(
        at("metrics.debug_endpoints").diagnostic(
          .warning, .debugEndpointsEnabled, key: "metrics.debug_endpoints",
          "metrics.debug_endpoints serves /debug/peers, which exposes peer public keys; keep the metrics port private"))
    }
    diagnostics += ACMEConfigChecks.relations(config, origins: origins)
    return diagnostics
  }
}

extension Config {
  /// An error for every key set to a non-default value whose behaviour is not
  /// implemented yet; the daemon refuses to start on any of them.
  public func notImplementedSettings(origins: [String: SettingOrigin] = [:]) -> [Diagnostic] {
    ConfigSchema.keys.filter { !$0.implemented && $0.isSet(in: self) }.map { spec in
      (origins[spec.key] ?? .builtIn).diagnostic(
        .error, .notImplemented, key: spec.key,
        "\(spec.key) is not implemented yet in this build; the relay would not honour it",
        suggestion: "remove \(spec.key) (default: \(spec.defaultDescription))")
    }
  }
}
