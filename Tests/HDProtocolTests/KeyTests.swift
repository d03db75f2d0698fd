import XCTest
import Glibc
@testable import HDProtocol

final class KeyTests: XCTestCase {
  func testKeyBytesRoundTripUnaligned() {
    let bytes = (0..<40).map { UInt8($0) }
    let key = bytes.withUnsafeBytes { DERPKey(bytes: $0.baseAddress! + 3) }
    XCTAssertEqual(key.bytes, Array(bytes[3..<35]))
    var out = [UInt8](repeating: 0, count: 40)
    out.withUnsafeMutableBytes { key.store(to: $0.baseAddress! + 5) }
    XCTAssertEqual(Array(out[5..<37]), Array(bytes[3..<35]))
    XCTAssertEqual(MemoryLayout<DERPKey>.size, 32)
  }

  func testHexAndNodeKeyText() {
    let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
    let key = DERPKey(hex: hex)!
    XCTAssertEqual(key.hex, hex)
    XCTAssertEqual(key.bytes.first, 0x00)
    XCTAssertEqual(key.bytes[1], 0x11)
    XCTAssertEqual(key.nodeKeyText, "nodekey:" + hex)
    XCTAssertEqual(DERPKey(nodeKeyText: "nodekey:" + hex.uppercased()), key)
    XCTAssertNil(DERPKey(hex: String(hex.dropLast())))
    XCTAssertNil(DERPKey(hex: String(hex.dropLast()) + "g"))
    XCTAssertNil(DERPKey(nodeKeyText: hex))
    XCTAssertNil(DERPKey([1, 2, 3]))
  }

  func testHashableDistinguishesKeys() {
    let a = DERPKeyPair.generate().publicKey
    let b = DERPKeyPair.generate().publicKey
    XCTAssertNotEqual(a, b)
    XCTAssertEqual(Set([a, b, a]).count, 2)
    XCTAssertNotEqual(a.tableHash, b.tableHash)
  }

  func testGeneratedPairIsClampedAndConsistent() {
    let pair = DERPKeyPair.generate()
    let sk = pair.privateKey.raw.bytes
    XCTAssertEqual(sk[0] & 7, 0)
    XCTAssertEqual(sk[31] & 0x80, 0)
    XCTAssertEqual(sk[31] & 0x40, 0x40)
    XCTAssertEqual(pair.privateKey.publicKey, pair.publicKey)
    XCTAssertFalse(pair.publicKey.isZero)
  }

  func testKnownX25519Vector() {
    // RFC 7748 §6.1: Alice's private and public key.
    let sk = DERPPrivateKey(privateKeyText: "privkey:77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")!
    XCTAssertEqual(sk.publicKey.hex, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
  }

  func testPrivateKeyTextRoundTrip() {
    let pair = DERPKeyPair.generate()
    let text = pair.privateKey.privateKeyText
    XCTAssertTrue(text.hasPrefix("privkey:"))
    XCTAssertEqual(DERPPrivateKey(privateKeyText: "  " + text + "\n"), pair.privateKey)
    XCTAssertNil(DERPPrivateKey(privateKeyText: "nodekey:" + pair.publicKey.hex))
  }

  func testKeyFileCreatedWith0600AndReloaded() throws {
    let dir = makeTempDir()
    let path = dir + "/derp.key"
    let (created, wasCreated) = try KeyFile.loadOrCreate(path: path)
    XCTAssertTrue(wasCreated)
    var st = stat()
    XCTAssertEqual(stat(path, &st), 0)
    XCTAssertEqual(st.st_mode & 0o777, 0o600)
    let (again, createdAgain) = try KeyFile.loadOrCreate(path: path)
    XCTAssertFalse(createdAgain)
    XCTAssertEqual(again, created)
    XCTAssertEqual(try KeyFile.load(path: path), created)
  }

  func testKeyFileAcceptsDerperJSONAndRejectsGarbage() throws {
    let dir = makeTempDir()
    let pair = DERPKeyPair.generate()
    let json = dir + "/derper.json"
    try writeFile(json, "{\"PrivateKey\":\"\(pair.privateKey.privateKeyText)\"}\n")
    XCTAssertEqual(try KeyFile.load(path: json), pair)
    let bad = dir + "/bad.key"
    try writeFile(bad, "privkey:xyz\n")
    XCTAssertThrowsError(try KeyFile.loadOrCreate(path: bad)) { error in
      guard case .malformed? = error as? KeyFileError else { return XCTFail("\(error)") }
    }
    XCTAssertThrowsError(try KeyFile.load(path: dir + "/missing.key"))
  }
}

func makeTempDir() -> String {
  var template = Array("/tmp/hdproto-XXXXXX".utf8CString)
  let ptr = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
  return String(cString: ptr!)
}

func writeFile(_ path: String, _ text: String) throws {
  let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
  guard fd >= 0 else { throw KeyFileError.uncreatable(path: path, errno: errno) }
  defer { close(fd) }
  let bytes = Array(text.utf8)
  _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
}
