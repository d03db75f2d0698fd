// hyper-derp.yaml(5), generated from the configuration schema and the loading
// rules of the reference: every key with its type, default, range and flag.

import HDConfig

public enum ConfigManPage {
  public static func page() -> String {
    var out = ManPage.header("hyper-derp.yaml", section: "5")
    out += ".SH NAME\nhyper\\-derp.yaml \\- configuration file of the Hyper\\-DERP relay\n"
    out += ".SH SYNOPSIS\n.I \(Roff.escape(HdctlCommands.defaultConfigPath))\n"
    out += ".SH DESCRIPTION\n" + Roff.paragraph("""
      `hyper-derp --config PATH` reads one YAML file; without `--config` the built-in defaults
      are used. `hdctl check-config [PATH...]` validates files and `hdctl explain KEY` prints
      one entry below. Nested keys are written as YAML sections: `metrics.port` is `port`
      under `metrics:`.
      """)
    out += ".SS \"Loading rules\"\n"
    for rule in ReferenceDocument.loadingRules {
      out += ".IP \\(bu 2\n" + Roff.paragraph(rule.joined(separator: " "))
    }
    for section in [nil] + ConfigSchema.sections.map(Optional.some) {
      out += section.map { ".SH \(Roff.quote("SECTION \($0.uppercased())"))\n" } ?? ".SH KEYS\n"
      for spec in ConfigSchema.keys where spec.section == section {
        out += entry(spec)
      }
    }
    out += ".SH EXAMPLE\n.EX\n"
    out += Roff.escapeLiteralBlock("""
      # TLS on 443 with a persistent server key, STUN and local metrics.
      port: 443
      tls_cert: /etc/hyper-derp/cert.pem
      tls_key: /etc/hyper-derp/key.pem
      key_file: /var/lib/hyper-derp/derp.key
      stun_port: 3478
      metrics:
        port: 9090
        bind: [127.0.0.1]
      """)
    out += ".EE\n"
    out += ManPage.seeAlso(["hyper-derp(8)", "hdctl(8)"])
    return out
  }

  static func entry(_ spec: ConfigKeySpec) -> String {
    var out = ".TP\n.B \(Roff.quote(spec.key))\n" + Roff.paragraph(spec.doc)
    var facts = [
      "Type: " + spec.type.typeDescription + (spec.unit.map { " (\($0))" } ?? "") + ".",
      "Default: " + spec.defaultDescription + ".",
    ]
    if !spec.rangeDescription.isEmpty { facts.append("Values: " + spec.rangeDescription + ".") }
    var flag = "Flag: `\(spec.flag)`" + (spec.type.isList ? " (repeatable)" : "")
    for old in spec.deprecatedFlags { flag += "; `\(old)` is a deprecated alias" }
    facts.append(flag + ".")
    if !spec.implemented { facts.append("Not implemented yet: only the default is accepted.") }
    out += ".br\n" + Roff.paragraph(facts.joined(separator: " "))
    return out
  }
}
