// hdctl check-config [PATH...] [--format text|json] [--strict] [--syntax-only]
// (the logic is HDCLI.CheckConfigRunner, shared with the tests).

import HDCLI

func runCheckConfig(_ arguments: ParsedArguments) -> Int32 {
  let outcome = CheckConfigRunner.run(arguments)
  print(outcome.output, terminator: "")
  return outcome.exitCode
}
