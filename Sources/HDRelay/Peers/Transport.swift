// How a connection's bytes are carried. All received bytes of a connection go
// through `Worker.receiveBytes` and all outgoing bytes through
// `Worker.flushSend`, which switch on this value: the seam where the TLS
// integration (Sources/HDRelay/TLS/) adds its cases.

enum Transport: UInt8 {
  /// Plain TCP: socket bytes are DERP/HTTP bytes.
  case plain
  /// TLS by OpenSSL in the worker (handshake, and data when the kernel can't).
  case userspaceTLS
  /// TLS records handled by the kernel (kTLS): socket bytes are plaintext.
  case kernelTLS

  var mode: TransportMode {
    switch self {
    case .plain: return .plain
    case .userspaceTLS: return .userspaceTLS
    case .kernelTLS: return .kernelTLS
    }
  }
}
