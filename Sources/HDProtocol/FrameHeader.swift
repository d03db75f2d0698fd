// The 5-byte frame header: 1 byte type + 4 byte big-endian payload length.
// Encoded and decoded through raw pointers so the data plane never allocates.

/// A decoded frame header. `type` is the raw byte so unknown types survive
/// decoding (servers and clients skip unknown frames instead of failing).
public struct FrameHeader: Sendable, Equatable {
  public var typeByte: UInt8
  public var payloadBytes: UInt32

  public init(typeByte: UInt8, payloadBytes: UInt32) {
    self.typeByte = typeByte
    self.payloadBytes = payloadBytes
  }

  public init(type: FrameType, payloadBytes: Int) {
    precondition(payloadBytes >= 0 && payloadBytes <= Int(UInt32.max), "frame payload length out of range")
    self.typeByte = type.rawValue
    self.payloadBytes = UInt32(payloadBytes)
  }

  /// The known frame type, or nil for a type this implementation doesn't know.
  @inlinable public var type: FrameType? { FrameType(rawValue: typeByte) }

  /// Reads a header from `pointer`, which must hold at least 5 bytes.
  @inlinable
  public init(decodingFrom pointer: UnsafeRawPointer) {
    typeByte = pointer.load(as: UInt8.self)
    payloadBytes = UInt32(bigEndian: pointer.loadUnaligned(fromByteOffset: 1, as: UInt32.self))
  }

  /// Writes the 5 header bytes to `pointer`.
  @inlinable
  public func encode(to pointer: UnsafeMutableRawPointer) {
    pointer.storeBytes(of: typeByte, as: UInt8.self)
    pointer.storeBytes(of: payloadBytes.bigEndian, toByteOffset: 1, as: UInt32.self)
  }

  /// Writes a header for `type` with `payloadBytes` to `pointer` in one call.
  @inlinable
  public static func encode(type: FrameType, payloadBytes: Int, to pointer: UnsafeMutableRawPointer) {
    pointer.storeBytes(of: type.rawValue, as: UInt8.self)
    pointer.storeBytes(of: UInt32(truncatingIfNeeded: payloadBytes).bigEndian, toByteOffset: 1, as: UInt32.self)
  }

  /// Decodes a header if `available` bytes suffice; nil means "need more bytes".
  @inlinable
  public static func decode(_ pointer: UnsafeRawPointer, available: Int) -> FrameHeader? {
    available >= DERPConstants.frameHeaderBytes ? FrameHeader(decodingFrom: pointer) : nil
  }
}
