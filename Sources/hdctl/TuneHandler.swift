// hdctl tune [--config PATH] [--apply] [--persist] [--revert] [--root DIR]
// Dry run by default; the plan and the writes live in HDOps (TuneCommand).

import HDCLI
import HDOps

func runTune(_ arguments: ParsedArguments) -> Int32 {
  let request = TuneRequest(
    configPath: arguments.value("--config"), apply: arguments.has("--apply"), persist: arguments.has("--persist"),
    revert: arguments.has("--revert"), root: arguments.value("--root"))
  return printCommandOutput(TuneCommand.run(request, style: .forStandardOutput()))
}
