// PLACEHOLDERS for `hdctl doctor`, `recommend` and `tune`, which the ops
// engineer implements in Doctor*.swift, Recommend*.swift and Tune*.swift. When
// those land, this file is deleted and the real functions take these names.
// Until then the commands say so and exit 70 (EX_SOFTWARE) instead of
// pretending to succeed.

import HDCLI

private func notImplementedYet(_ arguments: ParsedArguments) -> Int32 {
  writeError("hdctl \(arguments.command): not implemented yet")
  return 70
}

func runDoctor(_ arguments: ParsedArguments) -> Int32 { notImplementedYet(arguments) }
func runRecommend(_ arguments: ParsedArguments) -> Int32 { notImplementedYet(arguments) }
func runTune(_ arguments: ParsedArguments) -> Int32 { notImplementedYet(arguments) }
