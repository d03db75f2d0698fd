// libFuzzer's entry points. libFuzzer supplies main(); the target is chosen
// once by HD_FUZZ_TARGET. An invariant failure aborts, which libFuzzer reports
// as a crash and saves the input (scripts/fuzz.sh moves it to Fuzz/regressions).
@preconcurrency import Glibc
import HDFuzzTargets

nonisolated(unsafe) private var selected: FuzzTarget?

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
  guard let name = getenv("HD_FUZZ_TARGET").map({ String(cString: $0) }), let target = FuzzTargets.named(name) else {
    let names = FuzzTargets.all.map(\.name).joined(separator: ", ")
    fputs("hd-fuzz: set HD_FUZZ_TARGET to one of: \(names)\n", stderr)
    exit(2)
  }
  selected = target
  return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  do throws(FuzzFailure) {
    try selected!.run(UnsafeRawBufferPointer(start: data, count: size))
  } catch {
    fputs("INVARIANT VIOLATED: \(error)\n", stderr)
    abort()
  }
  return 0
}
