// hdctl doctor [--config PATH] [--json] [--only CODES] [--skip CODES]
//              [--list-checks] [--strict] [--root DIR]
// The checks live in HDOps (DoctorCommand); this maps flags onto them.

import HDCLI
import HDOps

func runDoctor(_ arguments: ParsedArguments) -> Int32 {
  var request = DoctorRequest(configPath: arguments.value("--config"), root: arguments.value("--root"))
  request.json = arguments.has("--json")
  request.only = arguments.values("--only")
  request.skip = arguments.values("--skip")
  request.listChecks = arguments.has("--list-checks")
  request.strict = arguments.has("--strict")
  return printCommandOutput(DoctorCommand.run(request, style: .forStandardOutput()))
}

/// Prints an ops command's output (shared by doctor, recommend and tune) and
/// returns its exit code.
func printCommandOutput(_ output: CommandOutput) -> Int32 {
  print(output.standardOutput, terminator: "")
  if !output.standardError.isEmpty { writeError(output.standardError) }
  return output.exitCode
}
