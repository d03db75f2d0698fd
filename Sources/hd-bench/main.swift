// hd-bench: load generator for DERP relays (throughput, latency, connection
// rate, idle scale, metrics scraping). See docs/benchmarks.md.
@preconcurrency import Glibc

let usage = """
  usage: hd-bench <mode> [options]
  modes: throughput, latency, connrate, idle, scrape, report
  run `hd-bench <mode> --help` for options
  """

// A relay that closes a connection must not kill the generator.
signal(SIGPIPE, SIG_IGN)

let arguments = Array(CommandLine.arguments.dropFirst())
guard let mode = arguments.first else {
  Output.log(usage)
  exit(2)
}
let rest = Array(arguments.dropFirst())
do throws(BenchError) {
  if rest.contains("--help") || rest.contains("-h") {
    Output.log(BenchModes.usage(mode) ?? usage)
    exit(0)
  }
  try BenchModes.run(mode: mode, rest)
} catch .usage(let why) {
  Output.log("hd-bench: \(why)")
  Output.log(BenchModes.usage(mode) ?? usage)
  exit(2)
} catch {
  Output.log("hd-bench: \(error)")
  exit(1)
}
