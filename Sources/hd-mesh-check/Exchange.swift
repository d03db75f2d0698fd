// Moving traffic between region clients: probes until routes work, then
// numbered data in lock-step rounds (every sender sends a batch, every
// receiver reads its batch back), so no queue overflows and every loss,
// duplicate or reordering is the relays' doing.
import Foundation
import HDProtocol

struct Flow {
  let from: RegionClient
  let to: RegionClient
  let stream: UInt32
  var sent: UInt32 = 0

  init(_ from: RegionClient, _ to: RegionClient) {
    self.from = from
    self.to = to
    stream = Streams.open(from: from)
  }

  /// The same stream continued by `from` (another connection of the same key).
  init(continuing flow: Flow, from: RegionClient) {
    self.from = from
    to = flow.to
    stream = flow.stream
    sent = flow.sent
  }
}

enum Exchange {
  /// Sends probes on every pair until each got through; false after `seconds`.
  static func converge(_ pairs: [(RegionClient, RegionClient)], seconds: Double = 30) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    var pending = pairs
    var round: UInt32 = 0
    while !pending.isEmpty && Date() < deadline {
      round += 1
      for (from, to) in pending { from.send(to: to, Packet.make(.probe, stream: 0, sequence: round)) }
      let receivers = Dictionary(grouping: pending, by: { ObjectIdentifier($0.1) }).values.map { $0[0].1 }
      for receiver in receivers { receiver.drain(seconds: 0.15) }
      pending.removeAll { $0.1.probesFrom.contains($0.0.publicKey) }
    }
    return pending.isEmpty
  }

  /// `rounds` rounds of `perRound` packets on every flow; true when every
  /// receiver got exactly its packets (contents, order, no duplicates).
  static func run(_ flows: inout [Flow], rounds: Int, perRound: Int, timeoutSeconds: Double = 15) -> Bool {
    let receivers = Dictionary(grouping: flows.indices, by: { ObjectIdentifier(flows[$0].to) })
    for _ in 0..<rounds {
      for i in flows.indices {
        for _ in 0..<perRound {
          flows[i].from.send(to: flows[i].to, Packet.make(.data, stream: flows[i].stream, sequence: flows[i].sent))
          flows[i].sent += 1
        }
      }
      for indices in receivers.values {
        let receiver = flows[indices[0]].to
        let snapshot = flows
        receiver.drain(seconds: timeoutSeconds) {
          indices.allSatisfy { receiver.received[snapshot[$0].stream, default: 0] >= Int(snapshot[$0].sent) }
        }
      }
    }
    return flows.allSatisfy { $0.to.received[$0.stream, default: 0] == Int($0.sent) }
      && flows.allSatisfy { $0.to.problems.isEmpty }
  }

  /// What went wrong on `flows`, for a FAIL line.
  static func describe(_ flows: [Flow]) -> String {
    var parts: [String] = []
    for flow in flows where flow.to.received[flow.stream, default: 0] != Int(flow.sent) {
      parts.append("\(flow.from.name)→\(flow.to.name) \(flow.to.received[flow.stream, default: 0])/\(flow.sent)")
    }
    let problems = Set(flows.flatMap { $0.to.problems })
    return (parts + problems.sorted()).prefix(8).joined(separator: "; ")
  }
}
