// The injectable root: path mapping, reads and the atomic write.
import XCTest
@testable import HDOps

final class FileSystemRootTests: XCTestCase {
  func testResolveAndLive() {
    XCTAssertEqual(FileSystemRoot(directory: "/tmp/x/").resolve("/proc/sys"), "/tmp/x/proc/sys")
    XCTAssertEqual(FileSystemRoot.live.resolve("/proc/sys"), "/proc/sys")
    XCTAssertTrue(FileSystemRoot(directory: "/").isLive)
    XCTAssertFalse(FileSystemRoot(directory: "/tmp").isLive)
    XCTAssertEqual(parentPath(of: "/etc/sysctl.d/a.conf"), "/etc/sysctl.d")
    XCTAssertEqual(parentPath(of: "/etc"), "/")
  }

  func testAtomicWriteCreateDirectoriesAndRemove() throws {
    let directory = NSTemporaryDirectory() + "hdops-root-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let root = FileSystemRoot(directory: directory)
    XCTAssertEqual(try root.createDirectories("/var/lib/hyper-derp"), ["/var", "/var/lib", "/var/lib/hyper-derp"])
    XCTAssertEqual(try root.createDirectories("/var/lib/hyper-derp"), [])
    try root.writeAtomically("/var/lib/hyper-derp/a", Array("one\n".utf8))
    try root.writeAtomically("/var/lib/hyper-derp/a", Array("two\n".utf8))
    XCTAssertEqual(root.readText("/var/lib/hyper-derp/a"), "two\n")
    XCTAssertEqual(root.list("/var/lib/hyper-derp"), ["a"], "no temporary file left behind")
    XCTAssertThrowsError(try root.overwrite("/var/lib/missing", with: [0x31]))
    try root.remove("/var/lib/hyper-derp/a")
    XCTAssertFalse(root.exists("/var/lib/hyper-derp/a"))
    XCTAssertNil(root.readInt("/nonexistent"))
  }
}
