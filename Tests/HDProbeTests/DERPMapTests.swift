// `hdctl derpmap`'s map: accepted by a strict decoder of tailcfg's field set,
// read back unchanged, the same in Headscale's YAML form, and refused when a
// client would reject it.
import Foundation
import HDConfig
import HDProbe
import XCTest

final class DERPMapTests: XCTestCase {
  private var directory = ""

  override func setUpWithError() throws {
    directory = NSTemporaryDirectory() + "hd-derpmap-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  }

  override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

  private func write(_ name: String, _ text: String) throws -> String {
    let path = directory + "/" + name
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  /// A self-signed certificate and key; returns (cert, key, DER SHA-256 hex from the openssl CLI).
  private func selfSigned(_ name: String) throws -> (String, String, String) {
    let cert = directory + "/\(name).crt"
    let key = directory + "/\(name).key"
    try run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=\(name)", "-addext", "subjectAltName=DNS:\(name)"])
    let der = directory + "/\(name).der"
    try run(["openssl", "x509", "-in", cert, "-outform", "der", "-out", der])
    let digest = try run(["openssl", "dgst", "-sha256", "-r", der]).split(separator: " ")[0]
    return (cert, key, String(digest))
  }

  @discardableResult
  private func run(_ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = Pipe()
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 0, arguments.joined(separator: " "))
    return String(decoding: data, as: UTF8.self)
  }

  /// Two meshed relays: a on 8443 with STUN on 3478 and a self-signed
  /// certificate, b on 443 with STUN on 3479 and a CA-issued one (not pinned).
  private func regionRequest() throws -> (DERPMapRequest, pin: String) {
    let (certA, keyA, pin) = try selfSigned("derp1a.example.com")
    let (certB, keyB, _) = try selfSigned("derp1b.example.com")
    // b's certificate, reissued by a CA, is what real deployments have.
    let caKey = directory + "/ca.key"
    let caCert = directory + "/ca.crt"
    try run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", caKey, "-out", caCert, "-days", "2", "-subj", "/CN=test CA"])
    let csr = directory + "/b.csr"
    try run(["openssl", "req", "-new", "-key", keyB, "-out", csr, "-subj", "/CN=derp1b.example.com"])
    try run(["openssl", "x509", "-req", "-in", csr, "-CA", caCert, "-CAkey", caKey, "-CAcreateserial", "-out", certB, "-days", "2"])
    let a = try write("a.yaml", "port: 8443\nstun_port: 3478\ntls_cert: \(certA)\ntls_key: \(keyA)\nmesh:\n  key_file: \(directory)/mesh.key\n  peers: [derp1b.example.com]\n")
    let b = try write("b.yaml", "port: 443\nstun_port: 3479\ntls_cert: \(certB)\ntls_key: \(keyB)\nmesh:\n  key_file: \(directory)/mesh.key\n  peers: [derp1a.example.com]\n")
    var request = DERPMapRequest(
      regionID: 900, regionCode: "fra", regionName: "Frankfurt \"Main\"",
      nodes: [try spec("derp1a.example.com,config=\(a),ipv4=203.0.113.1,ipv6=2001:db8::1"), try spec("derp1b.example.com,config=\(b),ipv4=none")])
    request.omitDefaultRegions = true
    return (request, "sha256-raw:" + pin)
  }

  private func spec(_ text: String) throws -> DERPNodeSpec {
    switch DERPNodeSpec.parse(text) {
    case .success(let spec): return spec
    case .failure(let error): throw error
    }
  }

  private func built(_ request: DERPMapRequest) throws -> DERPMap {
    switch DERPMapBuilder.build(request) {
    case .built(let map, let warnings):
      XCTAssertEqual(warnings, [])
      return map
    case .refused(let problems): throw StrictDecodingError(description: problems.map(\.description).joined(separator: "\n"))
    }
  }

  private func refusals(_ request: DERPMapRequest) -> [String] {
    if case .refused(let problems) = DERPMapBuilder.build(request) { return problems.map(\.description) }
    XCTFail("the map was built")
    return []
  }

  func testJSONPassesTheStrictDecoderWithTheDocumentedFieldsAndTypes() throws {
    let (request, pin) = try regionRequest()
    let map = try built(request)
    let strict = try JSONDecoder().decode(StrictDERPMap.self, from: Data(map.jsonText().utf8))
    XCTAssertEqual(strict.omitDefaultRegions, true)
    let region = try XCTUnwrap(strict.regions["900"])
    XCTAssertEqual(region.regionID, 900)
    XCTAssertEqual(region.regionCode, "fra")
    XCTAssertEqual(region.regionName, "Frankfurt \"Main\"")
    XCTAssertEqual(region.nodes.map(\.name), ["900a", "900b"])
    let (a, b) = (region.nodes[0], region.nodes[1])
    XCTAssertEqual(a.regionID, 900)
    XCTAssertEqual(a.hostName, "derp1a.example.com")
    XCTAssertEqual(a.certName, pin, "a self-signed certificate is pinned")
    XCTAssertEqual(a.ipv4, "203.0.113.1")
    XCTAssertEqual(a.ipv6, "2001:db8::1")
    XCTAssertEqual(a.derpPort, 8443)
    XCTAssertNil(a.stunPort, "3478 is the default: omitted like Go's omitempty zero")
    XCTAssertNil(a.insecureForTests)
    XCTAssertNil(b.certName, "a CA-issued certificate is not pinned")
    XCTAssertNil(b.derpPort, "443 is omitted")
    XCTAssertEqual(b.stunPort, 3479)
    XCTAssertEqual(b.ipv4, "none")

    // The policy-file form is the same map under "derpMap".
    let policy = try JSONDecoder().decode(StrictPolicyFile.self, from: Data(map.policyFileText().utf8))
    XCTAssertEqual(policy.derpMap.regions["900"]?.nodes.map(\.hostName), ["derp1a.example.com", "derp1b.example.com"])
  }

  func testTheStrictDecoderRefusesUnknownFieldsAndWrongTypes() throws {
    let good = #"{"Regions":{"900":{"RegionID":900,"RegionCode":"x","RegionName":"x","Nodes":[{"Name":"900a","RegionID":900,"HostName":"h"}]}}}"#
    XCTAssertNoThrow(try JSONDecoder().decode(StrictDERPMap.self, from: Data(good.utf8)))
    for bad in [
      good.replacingOccurrences(of: "\"HostName\"", with: "\"Hostname\""),
      good.replacingOccurrences(of: "\"RegionID\":900,\"RegionCode\"", with: "\"RegionID\":\"900\",\"RegionCode\""),
      good.replacingOccurrences(of: "\"HostName\":\"h\"", with: "\"HostName\":\"h\",\"DERPPort\":\"443\""),
      good.replacingOccurrences(of: "\"HostName\":\"h\"", with: "\"HostName\":\"h\",\"STUNPort\":3478.5"),
      good.replacingOccurrences(of: "\"Regions\"", with: "\"regions\""),
    ] {
      XCTAssertThrowsError(try JSONDecoder().decode(StrictDERPMap.self, from: Data(bad.utf8)), bad)
    }
  }

  func testJSONRoundTripsThroughTheProbesReader() throws {
    let (request, _) = try regionRequest()
    let map = try built(request)
    let read = try DERPMap.decode(json: Array(map.jsonText().utf8))
    XCTAssertEqual(read, map)
    XCTAssertEqual(read.jsonText(), map.jsonText())
    XCTAssertEqual(try DERPMap.decode(json: Array(map.policyFileText().utf8)), map)
    // Go-style reading: case-insensitive names, unknown fields ignored, wrong types refused.
    let lenient = #"{"regions":{"7":{"regionid":7,"RegionCode":"c","RegionName":"n","NoMeasureNoHome":true,"Nodes":[{"name":"7a","RegionID":7,"hostname":"h","derpport":444}]}}}"#
    let decoded = try DERPMap.decode(json: Array(lenient.utf8))
    XCTAssertEqual(decoded.regions[7]?.nodes.first?.derpPort, 444)
    XCTAssertThrowsError(try DERPMap.decode(json: Array(#"{"Regions":{"7":{"RegionID":"7"}}}"#.utf8)))
  }

  func testHeadscaleYAMLParsesToTheSameMap() throws {
    let (request, pin) = try regionRequest()
    let map = try built(request)
    let (document, diagnostics) = YAMLParser.parse(map.headscaleYAMLText(), file: "derp.yaml")
    XCTAssertEqual(diagnostics, [])
    let root = try XCTUnwrap(document.root)
    let top = try mapping(root)
    XCTAssertEqual(Set(top.keys), ["omitdefaultregions", "regions"])
    XCTAssertEqual(top["omitdefaultregions"]?.scalarText, "true")
    let regions = try mapping(try XCTUnwrap(top["regions"]))
    let region = try mapping(try XCTUnwrap(regions["900"]))
    XCTAssertEqual(Set(region.keys), ["regionid", "regioncode", "regionname", "nodes"])
    XCTAssertEqual(region["regionname"]?.scalarText, "Frankfurt \"Main\"")
    guard case .sequence(let nodes)? = region["nodes"]?.value else { return XCTFail("nodes is not a list") }
    XCTAssertEqual(nodes.count, 2)
    let a = try mapping(nodes[0])
    // yaml.v3 (Headscale) names fields by the lowercased Go field name.
    let known = Set(DERPMapFieldNames.node.map { $0.lowercased() })
    XCTAssertTrue(Set(a.keys).isSubset(of: known), "\(a.keys)")
    XCTAssertEqual(a["name"]?.scalarText, "900a")
    XCTAssertEqual(a["hostname"]?.scalarText, "derp1a.example.com")
    XCTAssertEqual(a["certname"]?.scalarText, pin)
    XCTAssertEqual(a["derpport"]?.scalarText, "8443")
    XCTAssertEqual(a["ipv6"]?.scalarText, "2001:db8::1")
    let b = try mapping(nodes[1])
    XCTAssertEqual(b["stunport"]?.scalarText, "3479")
    XCTAssertNil(b["derpport"])
  }

  func testHeadscaleYAMLReadsBackToTheSameMap() throws {
    let (request, _) = try regionRequest()
    let map = try built(request)
    XCTAssertEqual(try DERPMap.decode(headscaleYAML: Array(map.headscaleYAMLText().utf8), file: "derp.yaml"), map)
    // Headscale's own example: a disabled region (null), unquoted values, explicit zeros.
    let example = """
      regions:
        1: null
        900:
          regionid: 900
          regioncode: custom
          regionname: My Region
          nodes:
            - name: 900a
              regionid: 900
              hostname: myderp.example.com
              ipv4: 198.51.100.1
              ipv6: 2001:db8::1
              stunport: 0
              stunonly: false
              derpport: 0
      """
    let read = try DERPMap.decode(headscaleYAML: Array(example.utf8), file: "derp-example.yaml")
    XCTAssertEqual(Array(read.regions.keys), [900])
    let node = try XCTUnwrap(read.regions[900]?.nodes.first)
    XCTAssertEqual(node.hostName, "myderp.example.com")
    XCTAssertEqual(node.ipv6, "2001:db8::1")
    XCTAssertEqual(node.effectiveDERPPort, 443)
    XCTAssertEqual(node.effectiveSTUNPort, 3478)
    XCTAssertThrowsError(try DERPMap.decode(headscaleYAML: Array("regions:\n  900:\n    regionid: [1]\n".utf8), file: "bad.yaml")) {
      XCTAssertTrue("\($0)".contains("RegionID must be an integer"), "\($0)")
    }
  }

  private func mapping(_ node: YAMLNode) throws -> [String: YAMLNode] {
    guard case .mapping(let pairs) = node.value else { throw StrictDecodingError(description: "not a mapping: \(node)") }
    var out: [String: YAMLNode] = [:]
    for pair in pairs { out[try XCTUnwrap(pair.key.scalarText)] = pair.value }
    return out
  }

  func testSTUNOffIsMinusOneAndPlainTCPNeedsInsecureForTests() throws {
    let plain = try write("plain.yaml", "port: 3340\nstun_port: 0\n")
    var request = DERPMapRequest(regionID: 901, regionCode: "t", regionName: "", nodes: [try spec("relay.test,config=\(plain)")])
    let refused = refusals(request)
    XCTAssertEqual(refused.count, 1)
    XCTAssertTrue(refused[0].contains("plain TCP") && refused[0].contains("--insecure-for-tests"), refused[0])
    request.insecureForTests = true
    let node = try XCTUnwrap(try built(request).regions[901]?.nodes.first)
    XCTAssertEqual(node.stunPort, -1)
    XCTAssertEqual(node.derpPort, 3340)
    XCTAssertTrue(node.insecureForTests)
    XCTAssertEqual(try built(request).regions[901]?.regionName, "t", "the name defaults to the code")
  }

  func testMapsAClientWouldRejectAreRefusedWithTheReason() throws {
    let (request, _) = try regionRequest()
    var missingHost = request
    missingHost.nodes[1].hostName = ""
    XCTAssertTrue(refusals(missingHost).contains { $0.contains("node 2") && $0.contains("host name is required") })

    var duplicate = request
    duplicate.nodes[1].name = "900a"
    XCTAssertTrue(refusals(duplicate).contains { $0.contains("both named \"900a\"") })

    var badAddress = request
    badAddress.nodes[0].ipv4 = "2001:db8::1"
    XCTAssertTrue(refusals(badAddress).contains { $0.contains("ipv4=2001:db8::1 is not an IPv4 address") })

    var url = request
    url.nodes[0].hostName = "https://derp1a.example.com"
    XCTAssertTrue(refusals(url).contains { $0.contains("not a host name") })

    var missingCertificate = request
    missingCertificate.nodes[0].certificatePath = directory + "/missing.pem"
    XCTAssertTrue(refusals(missingCertificate).contains { $0.contains("missing.pem") && $0.contains("No such file") })

    var noRegion = request
    noRegion.regionID = 0
    noRegion.regionCode = ""
    XCTAssertEqual(refusals(noRegion).count, 2)

    XCTAssertThrowsError(try spec("h,bogus=1")) { XCTAssertTrue("\($0)".contains("unknown key 'bogus'"), "\($0)") }
    XCTAssertThrowsError(try spec("h,derp-port=0")) { XCTAssertTrue("\($0)".contains("derp-port must be 1-65535"), "\($0)") }
  }

  func testAMeshWhosePeerListsDisagreeWithTheNodesIsWarnedAbout() throws {
    let (request, _) = try regionRequest()
    var single = request
    single.nodes = [request.nodes[0]]
    guard case .built(_, let warnings) = DERPMapBuilder.build(single) else { return XCTFail("refused") }
    XCTAssertEqual(warnings.count, 1)
    XCTAssertTrue(warnings[0].contains("1 mesh peers") && warnings[0].contains("map gets 1"), warnings[0])
  }
}
