// DaemonRunner in-process with fake services: the stop deadline, a second
// signal during a hanging stop, and SIGHUP reaching reload hooks. Signals are
// sent with pthread_kill to the runner's own thread, where they are blocked
// and consumed by sigtimedwait, so the test process is never at risk.
import Foundation
import HDConfig
import XCTest
@testable import HDRelay

final class DaemonRunnerTests: XCTestCase {
  final class FakeService: DaemonService, @unchecked Sendable {
    let serviceName = "fake"
    let stopSeconds: Double
    let stopped = LockedBox(false)
    init(stopSeconds: Double) { self.stopSeconds = stopSeconds }
    func stop() {
      Thread.sleep(forTimeInterval: stopSeconds)
      stopped.value = true
    }
  }

  /// Runs a DaemonRunner on its own thread; returns its pthread, the READY
  /// receiver and a box that gets the exit status.
  private func launch(
    service: FakeService, stopTimeoutSeconds: Double, configPath: String? = nil,
    register: @escaping @Sendable (ConfigReloader) -> Void = { _ in }
  ) throws -> (thread: pthread_t, status: LockedBox<Int32?>, done: DispatchSemaphore, logs: LogCapture) {
    let name = "hd-life-runner-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let notify = try DatagramReceiver(abstractName: name)
    var arguments = ["--log-level", "debug"]
    if let configPath { arguments += ["--config", configPath] }
    let invocation = DaemonCommandLine.parse(arguments, options: .syntaxOnly)
    let logs = LogCapture()
    let runner = UncheckedSendable(
      DaemonRunner(
        invocation: invocation, logSink: LogSink(level: .info, format: .text, output: logs.output),
        notifier: SystemdNotifier(socketAddress: "@" + name), stopTimeoutSeconds: stopTimeoutSeconds,
        checkOptions: .syntaxOnly))
    let threadBox = LockedBox<pthread_t?>(nil)
    let status = LockedBox<Int32?>(nil)
    let done = DispatchSemaphore(value: 0)
    Thread {
      threadBox.value = pthread_self()
      status.value = runner.value.run { context in
        register(context.reloader)
        return [service]
      }
      done.signal()
    }.start()
    XCTAssertNotNil(notify.receive(timeoutSeconds: 5), "no READY=1")
    return (try XCTUnwrap(threadBox.value), status, done, logs)
  }

  func testGracefulStopReturnsZeroAfterStoppingServices() throws {
    let service = FakeService(stopSeconds: 0.1)
    let run = try launch(service: service, stopTimeoutSeconds: 5)
    pthread_kill(run.thread, SIGTERM)
    XCTAssertEqual(run.done.wait(timeout: .now() + 5), .success)
    XCTAssertEqual(run.status.value, 0)
    XCTAssertTrue(service.stopped.value)
  }

  func testAHangingStopEndsAtTheDeadlineWithFailure() throws {
    let service = FakeService(stopSeconds: 6)
    let run = try launch(service: service, stopTimeoutSeconds: 0.5)
    let started = Date()
    pthread_kill(run.thread, SIGINT)
    XCTAssertEqual(run.done.wait(timeout: .now() + 5), .success)
    XCTAssertEqual(run.status.value, 1)
    XCTAssertLessThan(Date().timeIntervalSince(started), 3)
    XCTAssertTrue(run.logs.lines.contains { $0.contains("did not finish within") })
  }

  func testASecondSignalDuringAHangingStopExitsAtOnce() throws {
    let service = FakeService(stopSeconds: 6)
    let run = try launch(service: service, stopTimeoutSeconds: 20)
    pthread_kill(run.thread, SIGTERM)
    Thread.sleep(forTimeInterval: 0.3)
    let started = Date()
    pthread_kill(run.thread, SIGTERM)
    XCTAssertEqual(run.done.wait(timeout: .now() + 5), .success)
    XCTAssertEqual(run.status.value, 1)
    XCTAssertLessThan(Date().timeIntervalSince(started), 2)
  }

  func testSIGHUPRunsReloadHooksForChangedKeys() throws {
    let tree = TestFixtureTree()
    let path = tree.write("hd.yaml", "port: 3340\ntls_cert: \"/a\"\ntls_key: \"/b\"\n")
    let applied = LockedBox<[String]>([])
    let run = try launch(service: FakeService(stopSeconds: 0), stopTimeoutSeconds: 5, configPath: path) { reloader in
      reloader.register(ReloadHook(name: "tls", keys: ["tls_cert", "tls_key"]) { _, new in
        applied.value.append(new.tlsCert ?? "")
      })
    }
    tree.write("hd.yaml", "port: 3340\ntls_cert: \"/c\"\ntls_key: \"/b\"\n")
    pthread_kill(run.thread, SIGHUP)
    let deadline = Date().addingTimeInterval(3)
    while applied.value.isEmpty && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
    XCTAssertEqual(applied.value, ["/c"])
    XCTAssertTrue(run.logs.lines.contains { $0.contains("applied tls_cert: /a -> /c") }, run.logs.lines.joined())
    pthread_kill(run.thread, SIGTERM)
    XCTAssertEqual(run.done.wait(timeout: .now() + 5), .success)
    XCTAssertEqual(run.status.value, 0)
  }
}
