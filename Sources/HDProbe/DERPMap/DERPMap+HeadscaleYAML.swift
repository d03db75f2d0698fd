// The DERP map as Headscale's DERP map file (`derp.paths` in its config).
// Headscale reads it with gopkg.in/yaml.v3 straight into tailcfg.DERPMap, and
// yaml.v3 names struct fields by their lowercased Go name (it ignores the json
// tags): `regions`, `regionid`, `hostname`, `stunport`… Strings are written
// as JSON-style double-quoted scalars, which YAML reads verbatim.
import HDProtocol

extension DERPMap {
  public func headscaleYAMLText() -> String {
    var lines = ["# Headscale DERP map (list this file under derp.paths); written by hdctl derpmap"]
    if omitDefaultRegions { lines.append("omitdefaultregions: true") }
    lines.append("regions:")
    for region in sortedRegions {
      lines.append("  \(region.regionID):")
      lines.append("    regionid: \(region.regionID)")
      lines.append("    regioncode: " + JSONValue.quote(region.regionCode))
      lines.append("    regionname: " + JSONValue.quote(region.regionName))
      if region.latitude != 0 { lines.append("    latitude: \(region.latitude)") }
      if region.longitude != 0 { lines.append("    longitude: \(region.longitude)") }
      if region.avoid { lines.append("    avoid: true") }
      lines.append(region.nodes.isEmpty ? "    nodes: []" : "    nodes:")
      for node in region.nodes {
        lines.append("      - name: " + JSONValue.quote(node.name))
        var fields = ["regionid: \(node.regionID)", "hostname: " + JSONValue.quote(node.hostName)]
        if !node.certName.isEmpty { fields.append("certname: " + JSONValue.quote(node.certName)) }
        if !node.ipv4.isEmpty { fields.append("ipv4: " + JSONValue.quote(node.ipv4)) }
        if !node.ipv6.isEmpty { fields.append("ipv6: " + JSONValue.quote(node.ipv6)) }
        if node.stunPort != 0 { fields.append("stunport: \(node.stunPort)") }
        if node.stunOnly { fields.append("stunonly: true") }
        if node.derpPort != 0 { fields.append("derpport: \(node.derpPort)") }
        if node.insecureForTests { fields.append("insecurefortests: true") }
        if !node.stunTestIP.isEmpty { fields.append("stuntestip: " + JSONValue.quote(node.stunTestIP)) }
        if node.canPort80 { fields.append("canport80: true") }
        lines += fields.map { "        " + $0 }
      }
    }
    return lines.joined(separator: "\n") + "\n"
  }
}
