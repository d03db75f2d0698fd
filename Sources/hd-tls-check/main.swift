// hd-tls-check: runs a relay with TLS on loopback inside this process and
// checks DERP over TLS end to end with the project's client. The VM test
// (Tests/vm/run-vm-tests.sh) runs it with `--ktls required --expect-kernel`
// on a kernel that has kTLS; on a host without it, `--ktls required` must
// refuse to start (exit 3) with the fix in the message.
//
//   hd-tls-check --cert CERT --key KEY [--ktls auto|required|off] [--expect-kernel] [--workers N]
//   hd-tls-check --connect PORT [--expect-kernel]     (checks the daemon instead)
//   hd-tls-check --connect PORT --plain               (the same over plain DERP)
@preconcurrency import Glibc
import HDConfig

signal(SIGPIPE, SIG_IGN)
setvbuf(stdout, nil, _IOLBF, 0)

var arguments = CommandLine.arguments.dropFirst()
var certPath: String?
var keyPath: String?
var ktls = KTLSMode.auto
var expectKernel = false
var workers = 2
var externalPort: UInt16?
var plain = false
while let flag = arguments.popFirst() {
  switch flag {
  case "--cert": certPath = arguments.popFirst()
  case "--key": keyPath = arguments.popFirst()
  case "--ktls":
    guard let value = arguments.popFirst(), let mode = KTLSMode(rawValue: value) else {
      print("hd-tls-check: --ktls takes auto, required or off")
      exit(2)
    }
    ktls = mode
  case "--expect-kernel": expectKernel = true
  case "--workers": workers = Int(arguments.popFirst() ?? "") ?? 0
  case "--connect": externalPort = UInt16(arguments.popFirst() ?? "")
  case "--plain": plain = true
  default:
    print("hd-tls-check: unknown argument \(flag)")
    exit(2)
  }
}
guard (certPath != nil && keyPath != nil) || externalPort != nil, workers > 0 else {
  print("usage: hd-tls-check --cert CERT --key KEY [--ktls auto|required|off] [--expect-kernel] [--workers N]")
  print("       hd-tls-check --connect PORT [--expect-kernel]   (a relay already listening on 127.0.0.1:PORT)")
  print("       hd-tls-check --connect PORT --plain             (the same relay without TLS)")
  exit(2)
}
if plain {
  guard let externalPort else {
    print("hd-tls-check: --plain needs --connect PORT")
    exit(2)
  }
  exit(PlainRelayCheck(port: externalPort).run())
}
var scenario = TLSRelayScenario(
  certPath: certPath ?? "", keyPath: keyPath ?? "", ktls: ktls, workers: workers, expectKernel: expectKernel)
scenario.externalPort = externalPort
exit(scenario.run())
