// Every fuzz target, by name. A parser that takes bytes from outside the
// process (network, controller, config or key files) belongs here.

public enum FuzzTargets {
  public static let all: [FuzzTarget] = [
    derpHTTPHead, serverConnection, tlsServerRecords, clientFrameReader, metricsHTTP, verifyResponse, stun, config,
    keyFiles, tlsRecordLayer,
  ]

  public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }
}
