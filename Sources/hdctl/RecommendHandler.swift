// hdctl recommend [--config PATH] [--json] [--root DIR]
// The topology logic lives in HDOps (RecommendCommand).

import HDCLI
import HDOps

func runRecommend(_ arguments: ParsedArguments) -> Int32 {
  let request = RecommendRequest(
    configPath: arguments.value("--config"), json: arguments.has("--json"), root: arguments.value("--root"))
  return printCommandOutput(RecommendCommand.run(request))
}
