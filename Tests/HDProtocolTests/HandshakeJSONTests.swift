import XCTest
@testable import HDProtocol

final class HandshakeJSONTests: XCTestCase {
  func testClientInfoEncodesLikeGo() {
    XCTAssertEqual(String(decoding: ClientInfo().jsonBytes(), as: UTF8.self), #"{"version":2,"CanAckPings":true}"#)
    let mesh = DERPKey(hex: String(repeating: "01", count: 32))!
    let full = ClientInfo(meshKey: mesh, version: 2, canAckPings: false, isProber: true, appName: "a\"<b")
    XCTAssertEqual(String(decoding: full.jsonBytes(), as: UTF8.self),
                   #"{"meshKey":""# + mesh.hex + #"","version":2,"CanAckPings":false,"IsProber":true,"AppName":"a\"\u003cb"}"#)
  }

  func testClientInfoDecodesCaseInsensitivelyAndIgnoresUnknownKeys() throws {
    let json = #"{"VERSION":2,"canAckPings":true,"isprober":false,"appname":"x\u00e9","future":{"a":[1,2,{"b":null}]}}"#
    let info = try ClientInfo(json: Array(json.utf8))
    XCTAssertEqual(info, ClientInfo(meshKey: nil, version: 2, canAckPings: true, isProber: false, appName: "xé"))
  }

  func testClientInfoTypicalTailscaledAndEmptyObject() throws {
    XCTAssertEqual(try ClientInfo(json: Array(#"{"version":2,"CanAckPings":true}"#.utf8)), ClientInfo())
    let empty = try ClientInfo(json: Array("{}".utf8))
    XCTAssertEqual(empty.version, 0)
    XCTAssertFalse(empty.canAckPings)
    XCTAssertNil(empty.meshKey)
  }

  func testClientInfoRejectsWrongTypesAndBadJSON() {
    for bad in [#"{"version":"2"}"#, #"{"CanAckPings":1}"#, #"{"meshKey":"zz"}"#, #"{"version":2"#, "[1]",
                #"{"a":1} x"#, #"{"version":2.5}"#, #"{"a":"\x"}"#, String(repeating: "[", count: 100)] {
      XCTAssertThrowsError(try ClientInfo(json: Array(bad.utf8)), bad)
    }
  }

  func testServerInfoRoundTripAndTokenBucketNames() throws {
    XCTAssertEqual(String(decoding: ServerInfo().jsonBytes(), as: UTF8.self), #"{"version":2}"#)
    let tb = ServerInfo(version: 2, tokenBucketBytesPerSecond: 1000, tokenBucketBytesBurst: 5000)
    XCTAssertEqual(String(decoding: tb.jsonBytes(), as: UTF8.self),
                   #"{"version":2,"TokenBucketBytesPerSecond":1000,"TokenBucketBytesBurst":5000}"#)
    XCTAssertEqual(try ServerInfo(json: tb.jsonBytes()), tb)
    XCTAssertEqual(try ServerInfo(json: Array(#"{"tokenbucketbytespersecond":7}"#.utf8)).tokenBucketBytesPerSecond, 7)
  }

  func testJSONStringEscapesAndSurrogates() throws {
    let v = try JSONValue.parse(Array(#"["a\nb", "\ud83d\udd11", "\/"]"#.utf8))
    XCTAssertEqual(v, .array([.string("a\nb"), .string("🔑"), .string("/")]))
    XCTAssertEqual(JSONValue.quote("\u{1}"), #""\u0001""#)
  }
}
