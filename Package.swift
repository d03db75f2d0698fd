// swift-tools-version:6.0
// Hyper-DERP for Swift. Layout (one concern per target):
//   C shims:     CYAML (libyaml), CSodium (libsodium), CURing (liburing 2.3 + helpers),
//                CTLS (OpenSSL macros, kTLS setsockopt), CSys (_GNU_SOURCE glibc: affinity, cpus)
//   Libraries:   HDX509 (PEM certificates and keys read with OpenSSL: validity, serial, key match;
//                  the one reader under check-config, doctor, the served-certificate summary, the ACME cache)
//                HDConfig (schema, YAML loader, validation, CLI overrides)
//                HDCLI (command definitions: argument parsing, --help, completions, generated docs)
//                HDProtocol (DERP wire format, keys, NaCl box handshake; shared by server and client)
//                HDTLS (OpenSSL memory-BIO sessions, kTLS key install)
//                HDClient (DERP client for tests, hdctl and hd-bench)
//                HDRelay (io_uring data plane, workers, lifecycle)
//                HDMetrics (metrics/health/debug HTTP server, off the data plane)
//                HDOps (doctor, topology, recommend, sysctl tuning; injectable root)
//                HDProbe (DERP map, probes of running relays, status; hdctl derpmap/probe/status)
//                HDFuzzTargets (fuzz targets: parser + invariants; Fuzz/ runs them under libFuzzer)
//   Executables: hyper-derp (daemon), hdctl (ops tool), hd-bench (load generator)
import PackageDescription

// Our own targets: Swift 6 language mode, warnings are errors.
let strict: [SwiftSetting] = [.unsafeFlags(["-warnings-as-errors"])]
// The relay's data plane in release builds: no dynamic exclusivity checks.
// They cost a third of the worker's user-space instructions per forwarded
// packet (swift_beginAccess/endAccess on every class-property access, issue
// 15); debug builds, which the tests run, keep them and catch violations.
let relayDataPlane: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
  name: "hyper-derp",
  products: [
    .executable(name: "hyper-derp", targets: ["hyper-derp"]),
    .executable(name: "hdctl", targets: ["hdctl"]),
    .executable(name: "hd-bench", targets: ["hd-bench"]),
    // For Fuzz/Package.swift (libFuzzer executables, `make fuzz`).
    .library(name: "HDFuzzTargets", targets: ["HDFuzzTargets"]),
  ],
  dependencies: [
    .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
  ],
  targets: [
    .systemLibrary(name: "CYAML", path: "Sources/CYAML"),
    .systemLibrary(name: "CSodium", path: "Sources/CSodium"),
    .target(name: "CURing", path: "Sources/CURing", linkerSettings: [.linkedLibrary("uring")]),
    .target(name: "CTLS", path: "Sources/CTLS", linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]),
    .target(name: "CSys", path: "Sources/CSys"),

    .target(name: "HDX509", dependencies: ["CTLS"], swiftSettings: strict),
    .target(name: "HDConfig", dependencies: ["CYAML", "CSys", "HDX509"], swiftSettings: strict),
    .target(name: "HDCLI", dependencies: ["HDConfig"], swiftSettings: strict),
    .target(name: "HDProtocol", dependencies: ["CSodium"], exclude: ["README.md"], swiftSettings: strict),
    .target(name: "HDTLS", dependencies: ["CTLS", "HDProtocol", "HDX509"], swiftSettings: strict),
    .target(name: "HDClient", dependencies: ["HDProtocol", "HDTLS", "CSys"], swiftSettings: strict),
    .target(name: "HDRelay", dependencies: ["HDConfig", "HDProtocol", "HDTLS", "HDClient", "CURing", "CSys"],
      swiftSettings: strict + relayDataPlane),
    .target(name: "HDMetrics", dependencies: ["HDRelay", "HDTLS", "HDConfig", "CSys"], swiftSettings: strict),
    .target(name: "HDOps", dependencies: ["HDConfig", "HDTLS", "CSys", "CURing"], swiftSettings: strict),
    // Fuzz targets' entry logic (bytes → parser → invariants), built always so it never rots.
    .target(name: "HDFuzzTargets", dependencies: ["HDProtocol", "HDClient", "HDRelay", "HDMetrics", "HDConfig", "HDTLS"],
      swiftSettings: strict),

    .executableTarget(name: "hyper-derp", dependencies: ["HDConfig", "HDCLI", "HDRelay", "HDMetrics"], swiftSettings: strict),
    .target(name: "HDProbe", dependencies: ["HDConfig", "HDClient", "HDProtocol", "HDTLS", "CTLS"], swiftSettings: strict),
    .executableTarget(name: "hdctl", dependencies: ["HDConfig", "HDCLI", "HDOps", "HDClient", "HDProbe"], swiftSettings: strict),
    .executableTarget(name: "hd-tls-check", dependencies: ["HDRelay", "HDClient", "HDTLS", "HDConfig", "HDProtocol"],
      swiftSettings: strict),
    .executableTarget(name: "hd-mesh-check", dependencies: ["HDClient", "HDProtocol", "HDTLS"], swiftSettings: strict),
    .executableTarget(name: "hd-bench", dependencies: ["HDClient", "HDProtocol", "HDConfig", "CURing", "CSys",
      .product(name: "Histogram", package: "hdrhistogram-swift")], swiftSettings: strict),

    .testTarget(name: "HDConfigTests", dependencies: ["HDConfig", "HDCLI"], resources: [.copy("Corpus")],
      swiftSettings: strict),
    .testTarget(name: "HDProbeTests", dependencies: ["HDProbe", "HDConfig"], swiftSettings: strict),
    .testTarget(name: "HDProtocolTests", dependencies: ["HDProtocol"], swiftSettings: strict),
    .testTarget(name: "HDClientTests", dependencies: ["HDClient", "HDProtocol"], swiftSettings: strict),
    .testTarget(name: "HDRelayTests", dependencies: ["HDRelay", "HDClient", "HDConfig", "HDProtocol", "CSys"], swiftSettings: strict),
    .testTarget(name: "HDTLSTests", dependencies: ["HDTLS", "HDClient", "HDRelay", "HDConfig", "HDProtocol"],
      swiftSettings: strict),
    .testTarget(name: "HDOpsTests", dependencies: ["HDOps"], exclude: ["Fixtures", "Goldens", "vm"], swiftSettings: strict),
    .testTarget(name: "HDMetricsTests", dependencies: ["HDMetrics", "HDRelay", "HDClient"], swiftSettings: strict),
    .testTarget(name: "HDBenchTests", dependencies: ["HDClient", "HDRelay", "HDConfig", "HDProtocol", "hd-bench"],
      swiftSettings: strict),
    .testTarget(name: "HDFuzzReplayTests", dependencies: ["HDFuzzTargets"], swiftSettings: strict),
    // Test-only counting malloc (interposes the whole test executable; cheap when idle).
    .target(name: "CAllocCounter", path: "Tests/CAllocCounter"),
    .testTarget(name: "HDRelayAllocationTests", dependencies: ["CAllocCounter", "HDRelay", "HDClient", "HDConfig", "HDProtocol", "HDTLS"],
      swiftSettings: strict),
  ]
)
