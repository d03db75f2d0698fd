// Array.withUnsafe*Bytes rethrow untyped errors; these bridges keep
// `throws(DERPClientError)` intact through the closure.

@inline(__always)
func withBytes<R>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(DERPClientError) -> R) throws(DERPClientError) -> R {
  let result: Result<R, DERPClientError> = array.withUnsafeBytes { p in
    do throws(DERPClientError) { return .success(try body(p)) } catch { return .failure(error) }
  }
  return try result.get()
}

@inline(__always)
func withMutableBytes<R>(_ array: inout [UInt8], _ body: (UnsafeMutableRawBufferPointer) throws(DERPClientError) -> R)
  throws(DERPClientError) -> R
{
  let result: Result<R, DERPClientError> = array.withUnsafeMutableBytes { p in
    do throws(DERPClientError) { return .success(try body(p)) } catch { return .failure(error) }
  }
  return try result.get()
}
