// The bandwidth check: `bytes` in 16 kB packets from one probe client to
// another through the same node, sent on a second thread while this one
// receives. The relay's backpressure paces the sender, so on a healthy relay
// nothing is lost; the figure is what arrived divided by the time it took.
import Foundation
import HDClient
import HDProtocol

enum ProbeBandwidth {
  static let packetBytes = 16_000

  /// Bytes per second, or why the transfer failed.
  static func measure(_ sender: DERPClient, _ receiver: DERPClient, bytes: Int, timeoutSeconds: Double)
    -> Result<(bytesPerSecond: Double, lostPackets: Int), ProbeStepFailure>
  {
    let packets = max(1, (bytes + packetBytes - 1) / packetBytes)
    let nonce = UInt64.random(in: 1...UInt64.max)
    let box = SenderBox(sender, destination: receiver.publicKey)
    let done = DispatchSemaphore(value: 0)
    let started = MonotonicClock.seconds()
    let thread = Thread {
      for sequence in 0..<UInt32(packets) {
        let packet = ProbePackets.payload(nonce: nonce, sequence: sequence, bytes: packetBytes)
        do {
          try box.client.send(to: box.destination, packet: packet)
        } catch {
          box.failure = "\(error)"
          break
        }
      }
      done.signal()
    }
    thread.start()
    var received = 0
    var last = started
    let source = sender.publicKey
    let prefix = ProbePackets.magic + withUnsafeBytes(of: nonce.littleEndian) { Array($0) }
    while received < packets {
      do {
        let frame = try receiver.receive(until: {
          if case .recvPacket(let from, let packet) = $0 { return from == source && packet.starts(with: prefix) }
          return false
        }, timeoutSeconds: timeoutSeconds)
        _ = frame
        received += 1
        last = MonotonicClock.seconds()
      } catch {
        break
      }
    }
    done.wait()
    if let failure = box.failure {
      return .failure(ProbeStepFailure(kind: .bandwidth, detail: "sending failed after \(received) packets arrived: \(failure)"))
    }
    guard received > 0 else {
      return .failure(ProbeStepFailure(kind: .bandwidth, detail: "none of \(packets) packets arrived within \(Int(timeoutSeconds)) s"))
    }
    let seconds = max(last - started, 1e-6)
    return .success((Double(received * packetBytes) / seconds, packets - received))
  }

  /// The sending side, handed to the sender thread (only it touches the client meanwhile).
  private final class SenderBox: @unchecked Sendable {
    let client: DERPClient
    let destination: DERPKey
    var failure: String?

    init(_ client: DERPClient, destination: DERPKey) {
      self.client = client
      self.destination = destination
    }
  }
}
