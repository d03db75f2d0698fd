// Wire constants of the DERP protocol (spec/derp-protocol.md §2, §3), in one
// place so server, client and load generator cannot disagree.

/// Protocol constants. Names carry their unit last (`…Bytes`, `…Seconds`).
public enum DERPConstants {
  /// `"DERP🔑"`: the 8 bytes that open a ServerKey frame payload.
  public static let magic: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
    (0x44, 0x45, 0x52, 0x50, 0xf0, 0x9f, 0x94, 0x91)
  public static let magicBytes = 8
  /// 1 byte type + 4 byte big-endian payload length.
  public static let frameHeaderBytes = 5
  /// Curve25519 public and private keys.
  public static let keyBytes = 32
  /// NaCl box nonce, sent in front of every sealed handshake message.
  public static let nonceBytes = 24
  /// Poly1305 tag that NaCl box puts in front of the ciphertext.
  public static let boxOverheadBytes = 16
  /// Largest packet a client may send or receive (Go `MaxPacketSize` = 64 << 10).
  public static let maxPacketBytes = 65_536
  /// Largest ClientInfo frame payload the server accepts (derper: 256 KiB).
  public static let maxClientInfoBytes = 256 * 1024
  /// Smallest ClientInfo payload: client key + nonce (an empty box adds 16 more).
  public static let minClientInfoBytes = keyBytes + nonceBytes
  /// Largest frame payload the server reads: ForwardPacket carries two keys in
  /// front of a maximal packet; ClientInfo may be larger but is checked
  /// separately during the handshake.
  public static let maxFrameBytes = 2 * keyBytes + maxPacketBytes
  /// Client-side cap (Go client treats larger frames as a broken connection).
  public static let maxClientFrameBytes = 1 << 20
  /// ServerKey payload: magic + server public key.
  public static let serverKeyPayloadBytes = magicBytes + keyBytes
  /// Version the server announces and always speaks (RecvPacket with source key).
  public static let protocolVersion = 2
  /// Server → client KeepAlive interval, plus per-connection jitter in [0, 5 s).
  public static let keepAliveSeconds = 60
  public static let keepAliveJitterSecondsMax = 5
  /// Deadline for ServerKey + ClientInfo during the handshake.
  public static let handshakeDeadlineSeconds = 10
  /// Go client read timeout: a server must never be silent this long.
  public static let clientReadTimeoutSeconds = 120

  /// `"TS💬"`: prefix of Tailscale disco packets.
  public static let discoMagic: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
    (0x54, 0x53, 0xf0, 0x9f, 0x92, 0xac)
  public static let discoMagicBytes = 6
  /// Disco packets are magic + 32 byte sender key + 24 byte nonce at least.
  public static let discoMinBytes = discoMagicBytes + keyBytes + nonceBytes

  /// Ping payload bounds the server accepts (it echoes the first 8 bytes).
  public static let pingPayloadBytes = 8
  public static let pingPayloadBytesMax = 1000

  /// NotePreferred carries exactly one byte.
  public static let notePreferredPayloadBytes = 1
  /// PeerGone: key + reason byte.
  public static let peerGonePayloadBytes = keyBytes + 1
  /// PeerPresent as current derper sends it: key + 16 B IPv6 + 2 B port + 1 B flags.
  public static let peerPresentPayloadBytes = keyBytes + 16 + 2 + 1
  /// Restarting: two big-endian UInt32 millisecond values.
  public static let restartingPayloadBytes = 8
}

/// Reason byte of a PeerGone frame.
public enum PeerGoneReason: UInt8, Sendable {
  /// The peer left (its last connection closed).
  case disconnected = 0x00
  /// The server has no such peer (answer to a disco packet to an unknown key).
  case notHere = 0x01
  /// Client-internal in Go; never on the wire, listed so it decodes by name.
  case meshConnBroke = 0xf0
}

/// Flag bits of a PeerPresent frame.
public struct PeerPresentFlags: OptionSet, Sendable {
  public let rawValue: UInt8
  public init(rawValue: UInt8) { self.rawValue = rawValue }
  public static let isRegular = PeerPresentFlags(rawValue: 0x01)
  public static let isMeshPeer = PeerPresentFlags(rawValue: 0x02)
  public static let isProber = PeerPresentFlags(rawValue: 0x04)
  public static let notIdeal = PeerPresentFlags(rawValue: 0x08)
}
