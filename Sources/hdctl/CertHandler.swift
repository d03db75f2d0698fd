// hdctl cert self-signed --ip ADDR [--ip ADDR…] [--hostname NAME] --out DIR
//                         [--days N] [--force]
// The work lives in HDOps (SelfSignedCertCommand); this maps flags onto it.

import HDCLI
import HDOps

func runCert(_ arguments: ParsedArguments) -> Int32 {
  guard let out = arguments.value("--out") else {
    writeError("hdctl cert: --out DIR is required\n" + HelpRenderer.usageLine(HdctlCommands.tool, HdctlCommands.cert))
    return ParsedArguments.usageExitCode
  }
  var request = SelfSignedCertRequest(outputDirectory: out)
  request.ipAddresses = arguments.values("--ip")
  request.hostNames = arguments.values("--hostname")
  request.days = arguments.value("--days").flatMap { Int($0) } ?? HdctlCommands.selfSignedDefaultDays
  request.replaceExisting = arguments.has("--force")
  return printCommandOutput(SelfSignedCertCommand.run(request))
}
