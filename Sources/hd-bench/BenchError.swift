// Errors of the load generator: bad command lines and failed setup.
@preconcurrency import Glibc
import HDClient

enum BenchError: Error, CustomStringConvertible {
  case usage(String)
  case system(String, Int32)
  case client(DERPClientError)
  case failed(String)

  var description: String {
    switch self {
    case .usage(let why): return why
    case .system(let call, let e): return "\(call): \(String(cString: strerror(e))) (errno \(e))"
    case .client(let e): return e.description
    case .failed(let why): return why
    }
  }
}
