// swift-tools-version:6.0
// libFuzzer executable over the main package's HDFuzzTargets, built only by
// `make fuzz` (scripts/fuzz.sh) with `--sanitize fuzzer` (+ address, or + -O),
// which instruments the relay's own code too. One binary serves every target
// (HD_FUZZ_TARGET picks it): one link instead of eight on a busy machine.
// Debug configuration on purpose: ASan together with -O leaves libFuzzer
// without coverage of the Swift modules; -O alone (FUZZ_BUILD=fast) keeps it
// (docs/robustness.md).
import Foundation
import PackageDescription

// A path dependency's identity is its directory's name: the checkout's, which varies.
let rootDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

let package = Package(
  name: "hd-fuzz",
  dependencies: [.package(path: "..")],
  targets: [
    .executableTarget(
      name: "hd-fuzz",
      dependencies: [.product(name: "HDFuzzTargets", package: rootDirectory.lastPathComponent)]),
  ]
)
