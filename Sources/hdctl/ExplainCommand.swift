// hdctl explain KEY

import HDCLI
import HDConfig

func runExplain(_ arguments: ParsedArguments) -> Int32 {
  let key = arguments.positionals[0]
  if let spec = ConfigSchema.spec(forKey: key) ?? ConfigSchema.spec(forFlag: key) {
    print(spec.explanation, terminator: "")
    return 0
  }
  var message = "hdctl explain: unknown key '\(key)'"
  if let near = Suggestions.closest(to: key, among: ConfigSchema.keys.map(\.key)) {
    message += "; did you mean '\(near)'?"
  }
  writeError(message)
  return 1
}
