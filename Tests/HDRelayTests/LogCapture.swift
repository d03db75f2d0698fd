// Collects log lines written to a capture sink.
import Foundation
import HDRelay

final class LogCapture: @unchecked Sendable {
  private let lock = NSLock()
  private var storage: [String] = []

  var lines: [String] {
    lock.lock()
    defer { lock.unlock() }
    return storage
  }

  var output: LogOutput {
    .capture { [self] line in
      lock.lock()
      storage.append(line)
      lock.unlock()
    }
  }
}
