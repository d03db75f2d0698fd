// hd-mesh-check: drives clients through a region of meshed relays (the
// region test, Tests/suites/region-mesh.sh, runs it inside a network
// namespace) and prints PASS/FAIL lines; exit 1 when anything failed.
//
//   hd-mesh-check --relays HOST:PORT:METRICS_PORT,... --ca CA.pem --dir DIR
//                 [--scenarios all-pairs,peergone,handover,link-cut,kill,flood] [--flood N]
//                 [--hook-cut CMD] [--hook-heal CMD] [--hook-kill CMD] [--hook-restart CMD] [--hook-check CMD]
//
// Relays are numbered from 1 in the order given; the scenarios use relays
// 1–4. The hooks are shell commands (see Scenarios.swift).
@preconcurrency import Glibc
import Foundation

signal(SIGPIPE, SIG_IGN)
setvbuf(stdout, nil, _IOLBF, 0)

func usage(_ why: String) -> Never {
  print("hd-mesh-check: \(why)")
  print("usage: hd-mesh-check --relays HOST:PORT:METRICS_PORT,... --ca CA.pem --dir DIR [--scenarios LIST] [--flood N]")
  print("       [--hook-cut CMD] [--hook-heal CMD] [--hook-kill CMD] [--hook-restart CMD] [--hook-check CMD]")
  exit(2)
}

var arguments = CommandLine.arguments.dropFirst()
var relays: [RelayAddress] = []
var caFile: String?
var directory = "/tmp"
var scenarioNames = ["all-pairs", "peergone", "handover", "link-cut", "kill", "flood"]
var floodCount = 1000
var hooks = Hooks()
while let flag = arguments.popFirst() {
  guard let value = arguments.popFirst() else { usage("\(flag) needs a value") }
  switch flag {
  case "--relays":
    for item in value.split(separator: ",") {
      let parts = item.split(separator: ":")
      guard parts.count == 3, let port = UInt16(parts[1]), let metrics = UInt16(parts[2]) else {
        usage("'\(item)' is not HOST:PORT:METRICS_PORT")
      }
      relays.append(RelayAddress(host: String(parts[0]), port: port, metricsPort: metrics))
    }
  case "--ca": caFile = value
  case "--dir": directory = value
  case "--scenarios": scenarioNames = value.split(separator: ",").map(String.init)
  case "--flood": floodCount = Int(value) ?? 0
  case "--hook-cut": hooks.cut = value
  case "--hook-heal": hooks.heal = value
  case "--hook-kill": hooks.kill = value
  case "--hook-restart": hooks.restart = value
  case "--hook-check": hooks.check = value
  default: usage("unknown argument \(flag)")
  }
}
guard relays.count >= 4 else { usage("the scenarios need at least 4 relays") }
guard let caFile else { usage("--ca is required") }

let report = Report()
let scenarios = Scenarios(region: Region(relays: relays, caFile: caFile), report: report, hooks: hooks)
for name in scenarioNames {
  do {
    switch name {
    case "all-pairs": try scenarios.allPairs()
    case "peergone": try scenarios.peerGoneRule()
    case "handover": try scenarios.handover()
    case "link-cut": try scenarios.linkCut()
    case "kill": try scenarios.killAndRestart()
    case "flood": try scenarios.flood(count: floodCount, directory: directory)
    default: usage("unknown scenario \(name)")
    }
  } catch {
    report.check(false, "\(name)", "\(error)")
  }
}
exit(report.failures == 0 ? 0 : 1)
