// hdctl derpmap --node HOST[,KEY=VALUE...]... --region-id N --region-code CODE
//               [--region-name NAME] [--format json|policy|headscale]
//               [--omit-default-regions] [--insecure-for-tests]
// The map is built and checked by HDProbe.DERPMapBuilder.

import HDCLI
import HDProbe

func runDERPMap(_ arguments: ParsedArguments) -> Int32 {
  guard let regionID = arguments.value("--region-id").flatMap({ Int($0) }) else {
    writeError("hdctl derpmap: --region-id is required (900-999 are kept for self-hosted relays)")
    return ParsedArguments.usageExitCode
  }
  guard let regionCode = arguments.value("--region-code") else {
    writeError("hdctl derpmap: --region-code is required (a short name such as fra)")
    return ParsedArguments.usageExitCode
  }
  var nodes: [DERPNodeSpec] = []
  for text in arguments.values("--node") {
    switch DERPNodeSpec.parse(text) {
    case .success(let spec): nodes.append(spec)
    case .failure(let error):
      writeError("hdctl derpmap: \(error)")
      return ParsedArguments.usageExitCode
    }
  }
  var request = DERPMapRequest(
    regionID: regionID, regionCode: regionCode, regionName: arguments.value("--region-name") ?? "", nodes: nodes)
  request.omitDefaultRegions = arguments.has("--omit-default-regions")
  request.insecureForTests = arguments.has("--insecure-for-tests")
  switch DERPMapBuilder.build(request) {
  case .refused(let problems):
    for problem in problems { writeError("hdctl derpmap: \(problem)") }
    return 1
  case .built(let map, let warnings):
    for warning in warnings { writeError("hdctl derpmap: warning: \(warning)") }
    switch arguments.value("--format") ?? "json" {
    case "policy": print(map.policyFileText(), terminator: "")
    case "headscale": print(map.headscaleYAMLText(), terminator: "")
    default: print(map.jsonText(), terminator: "")
    }
    return 0
  }
}
