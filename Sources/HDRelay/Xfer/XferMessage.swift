// Record types on the cross-worker rings and their body layouts.
import HDProtocol

enum XferType: UInt8 {
  /// [location: UInt64][kind: UInt8, 7 pad][sender: UInt64][RecvPacket frame bytes]
  /// (`sender` is the sending connection's location, for cross-worker backpressure).
  case packet = 1
  /// [key: 32][location: UInt64][seq: UInt64] — a connection registered.
  case add = 2
  /// [key: 32][location: UInt64] — a connection left.
  case remove = 3
  /// [key: 32][location: UInt64][seq: UInt64] — a duplicate became active.
  case activate = 4
  /// [key: 32][location: UInt64][reason: UInt8] — queue PeerGone(key) on location.
  case peerGone = 5
  /// [key: 32][member: UInt64][destination: UInt64] — a duplicate of `key` left;
  /// the surviving member at `member` inherits one of its PeerGone destinations.
  case inheritSentTo = 6
  /// [32 unused][sender: UInt64] — stop reading `sender`: a destination on the
  /// writing worker is congested (also renews an earlier pause).
  case pause = 7
  /// [32 unused][sender: UInt64] — read `sender` again: the destination drained, stalled or left.
  case resume = 8
  /// [key: 32][location: UInt64] — a mesh peer sent ClosePeer(key): close that connection.
  case closePeer = 9
}

/// Byte offsets in a `.packet` record body.
enum XferPacket {
  static let senderOffset = 16
  static let frameOffset = 24
}

/// Control records: never dropped; kept in an overflow list while the ring is full.
enum XferControl {
  case add(key: DERPKey, location: PeerLocation, seq: UInt64)
  case remove(key: DERPKey, location: PeerLocation)
  case activate(key: DERPKey, location: PeerLocation, seq: UInt64)
  case peerGone(key: DERPKey, location: PeerLocation, reason: PeerGoneReason)
  case inheritSentTo(key: DERPKey, member: PeerLocation, destination: PeerLocation)
  case pause(sender: PeerLocation)
  case resume(sender: PeerLocation)
  case closePeer(key: DERPKey, location: PeerLocation)

  var type: XferType {
    switch self {
    case .add: return .add
    case .remove: return .remove
    case .activate: return .activate
    case .peerGone: return .peerGone
    case .inheritSentTo: return .inheritSentTo
    case .pause: return .pause
    case .resume: return .resume
    case .closePeer: return .closePeer
    }
  }

  static let bodyBytes = 32 + 8 + 8

  func write(to p: UnsafeMutableRawPointer) {
    switch self {
    case .add(let key, let location, let seq), .activate(let key, let location, let seq):
      key.store(to: p)
      p.storeBytes(of: location.raw, toByteOffset: 32, as: UInt64.self)
      p.storeBytes(of: seq, toByteOffset: 40, as: UInt64.self)
    case .remove(let key, let location), .closePeer(let key, let location):
      key.store(to: p)
      p.storeBytes(of: location.raw, toByteOffset: 32, as: UInt64.self)
      p.storeBytes(of: 0, toByteOffset: 40, as: UInt64.self)
    case .inheritSentTo(let key, let member, let destination):
      key.store(to: p)
      p.storeBytes(of: member.raw, toByteOffset: 32, as: UInt64.self)
      p.storeBytes(of: destination.raw, toByteOffset: 40, as: UInt64.self)
    case .peerGone(let key, let location, let reason):
      key.store(to: p)
      p.storeBytes(of: location.raw, toByteOffset: 32, as: UInt64.self)
      p.storeBytes(of: UInt64(reason.rawValue), toByteOffset: 40, as: UInt64.self)
    case .pause(let sender), .resume(let sender):
      p.storeBytes(of: sender.raw, toByteOffset: 32, as: UInt64.self)
    }
  }
}
