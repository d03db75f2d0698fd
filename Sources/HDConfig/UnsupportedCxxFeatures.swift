// Keys and flags of the C++ Hyper-DERP that this implementation does not
// support. They are recognised and rejected with the feature's name, so a C++
// config never starts with part of it silently dropped.

public enum UnsupportedCxxFeatures {
  public struct Entry: Sendable {
    public let name: String
    public let feature: String
    /// For flags: whether the C++ flag takes a value (skipped with it).
    public let takesValue: Bool
  }

  /// Top-level YAML keys. `mode` is listed separately: `mode: derp` is accepted.
  public static let keys: [Entry] = [
    Entry(name: "hd", feature: "the HD protocol (relay enrollment, fleet routing, federation)", takesValue: true),
    Entry(name: "level2", feature: "Level-2 direct paths (ICE, TURN, XDP STUN)", takesValue: true),
    Entry(name: "einheit", feature: "the einheit control channel (ZMQ configure/commit)", takesValue: true),
    Entry(name: "wg_relay", feature: "the WireGuard relay mode", takesValue: true),
  ]

  public static let flags: [Entry] = [
    Entry(name: "--hd-relay-key", feature: "the HD protocol (relay enrollment)", takesValue: true),
    Entry(name: "--hd-enroll-mode", feature: "the HD protocol (relay enrollment)", takesValue: true),
    Entry(name: "--hd-relay-id", feature: "the HD protocol (fleet routing)", takesValue: true),
    Entry(name: "--hd-seed-relay", feature: "the HD protocol (fleet routing)", takesValue: true),
    Entry(name: "--level2", feature: "Level-2 direct paths (ICE, TURN, XDP STUN)", takesValue: false),
    Entry(name: "--xdp-interface", feature: "Level-2 XDP acceleration", takesValue: true),
    Entry(name: "--xdp-mode", feature: "the WireGuard relay's XDP mode", takesValue: true),
    Entry(name: "--trace-forward-hashes", feature: "the WireGuard relay's per-frame hash tracing", takesValue: false),
  ]

  /// The only `mode` this implementation runs.
  public static let supportedMode = "derp"
  public static let modeFeatures: [String: String] = [
    "wireguard": "the WireGuard relay mode", "wg": "the WireGuard relay mode",
  ]

  public static func key(_ name: String) -> Entry? { keys.first { $0.name == name } }
  public static func flag(_ name: String) -> Entry? { flags.first { $0.name == name } }
}
