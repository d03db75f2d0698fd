// An in-process relay on a free loopback port for the generator's tests.
import HDConfig
import HDProtocol
import HDRelay

final class BenchRelay {
  let relay: Relay
  let port: UInt16

  init(workers: Int = 1) throws {
    let options = RelayOptions(config: Config(port: 0, bind: ["127.0.0.1"]), serverKeyPair: .generate(),
                               workerCount: workers)
    relay = try Relay(options: options)
    try relay.start()
    port = UInt16(relay.boundPorts[0])
  }

  deinit { relay.stop(graceSeconds: 1) }
}
