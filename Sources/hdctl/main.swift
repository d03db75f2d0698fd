// hdctl: operations tool. Parses the command line against the definitions in
// HDCLI and hands the result to the handler registered for the command.

import Glibc
import HDCLI

let arguments = Array(CommandLine.arguments.dropFirst())
exit(HdctlDispatcher.run(arguments))
