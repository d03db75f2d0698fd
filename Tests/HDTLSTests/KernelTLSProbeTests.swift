// The probe must give a definite answer on any kernel; on one without the
// `tls` module the message names the fix. (Kernel TLS itself is exercised in
// the VM tests, Tests/vm.)
import XCTest

@testable import HDTLS

final class KernelTLSProbeTests: XCTestCase {
  func testProbeAnswersAndNamesTheFix() {
    switch KernelTLS.probe() {
    case .success:
      break  // a kernel with kTLS: nothing more to check here
    case .failure(let unavailable):
      XCTAssertNotEqual(unavailable.cause, .probeFailed, unavailable.description)
      if unavailable.cause == .moduleAbsent {
        XCTAssertTrue(unavailable.description.contains("modprobe tls"), unavailable.description)
        XCTAssertTrue(unavailable.description.contains("/etc/modules-load.d"), unavailable.description)
      }
    }
  }

  func testInstallOnAPlainSocketPairFailsWithoutCrashing() {
    let (a, b) = makeSocketPair()
    defer {
      close(a)
      close(b)
    }
    let key = TrafficKey(key: [UInt8](repeating: 1, count: 16), fixedIV: [UInt8](repeating: 2, count: 12), nextSequence: 0)
    let keys = SessionTrafficKeys(version: .tls13, cipher: .aes128GCM, transmit: key, receive: key)
    guard case .failure(let error) = KernelTLS.install(fd: a, keys: keys) else {
      return XCTFail("AF_UNIX sockets cannot take the TLS ULP")
    }
    XCTAssertEqual(error.step, "TCP_ULP")
  }
}
