// Connecting the generator's peers through the real handshake, before any
// traffic (like the C++ tool: sequentially, timed as connect_time_ms).
import HDClient
import HDProtocol

struct ConnectedPeer {
  let keys: DERPKeyPair
  /// Plain peers are detached to the io_uring engine: socket + leftover bytes.
  var fd: Int32 = -1
  var leftover: [UInt8] = []
  /// TLS peers keep their blocking client (one thread each).
  var client: DERPClient?
}

enum PeerSetup {
  static func clientOptions() -> DERPClientOptions {
    var options = DERPClientOptions()
    options.clientInfo = ClientInfo(appName: "hd-bench")
    return options
  }

  /// Connects `count` peers; returns those that connected and how many failed.
  /// With `receiverPort`, odd peers (the receivers) connect there instead.
  static func connect(count: Int, host: String, port: UInt16, receiverPort: UInt16? = nil, tls: Bool)
    -> (peers: [ConnectedPeer], failed: Int, firstError: String?)
  {
    var peers: [ConnectedPeer] = []
    var failed = 0
    var firstError: String?
    for i in 0..<count {
      let port = i % 2 == 1 ? receiverPort ?? port : port
      let keys = DERPKeyPair.generate()
      do throws(DERPClientError) {
        if tls {
          let client = try DERPClient.connectTLS(host: host, port: port, keys: keys, options: clientOptions())
          peers.append(ConnectedPeer(keys: keys, client: client))
        } else {
          let client = try DERPClient.connect(host: host, port: port, keys: keys, options: clientOptions())
          let (fd, leftover) = try client.detach()
          peers.append(ConnectedPeer(keys: keys, fd: fd, leftover: leftover))
        }
      } catch {
        failed += 1
        if firstError == nil { firstError = error.description }
      }
    }
    return (peers, failed, firstError)
  }
}
