// Strict RFC 5389 Binding Request validation. Reads only inside the datagram;
// the attribute walk advances at least 4 bytes per step, so it ends within
// length/4 steps whatever the input.
package enum STUNRequestParser {
  /// nil when `datagram` is a well-formed Binding Request (the transaction id
  /// is then at STUNWire.transactionIDOffset); otherwise why it is dropped.
  package static func dropReason(_ datagram: UnsafeRawPointer, count: Int) -> STUNDropReason? {
    guard count >= STUNWire.headerBytes else { return .tooShort }
    guard count <= STUNWire.requestBytesMax else { return .tooLong }
    let type = datagram.stunU16(at: 0)
    guard type & 0xC000 == 0, datagram.stunU32(at: 4) == STUNWire.magicCookie else { return .notSTUN }
    let length = Int(datagram.stunU16(at: 2))
    guard length & 3 == 0, STUNWire.headerBytes + length == count else { return .badLength }
    guard type == STUNWire.bindingRequest else { return .notBindingRequest }
    return attributesDropReason(datagram, count: count)
  }

  private static func attributesDropReason(_ message: UnsafeRawPointer, count: Int) -> STUNDropReason? {
    var offset = STUNWire.headerBytes
    while offset < count {
      guard count - offset >= STUNWire.attributeHeaderBytes else { return .badAttribute }
      let type = message.stunU16(at: offset)
      let valueBytes = Int(message.stunU16(at: offset + 2))
      let next = offset + STUNWire.attributeHeaderBytes + STUNWire.padded(valueBytes)
      guard next <= count else { return .badAttribute }
      if type == STUNWire.fingerprint {
        // RFC 5389 §15.5: 4-byte CRC, always the last attribute, over the
        // message before it (the header length already includes it).
        guard valueBytes == 4, next == count,
          message.stunU32(at: offset + 4) == STUNFingerprint.value(message, count: offset)
        else { return .badFingerprint }
      } else if type < STUNWire.comprehensionOptionalMin {
        return .unknownRequiredAttribute
      }
      offset = next
    }
    return nil
  }
}
