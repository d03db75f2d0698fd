// Why a datagram on the STUN port got no answer. Raw values index the drop
// counters; `label` is the metric label value.
public enum STUNDropReason: Int, CaseIterable, Sendable {
  /// Fewer than the 20 header bytes.
  case tooShort
  /// Larger than any binding request we accept (STUNWire.requestBytesMax).
  case tooLong
  /// Top two bits set or no magic cookie: not RFC 5389 STUN.
  case notSTUN
  /// Header length not a multiple of 4 or not matching the datagram size.
  case badLength
  /// STUN, but not a Binding Request (other method, indication, response).
  case notBindingRequest
  /// An attribute runs past the end of the message.
  case badAttribute
  /// A comprehension-required attribute we do not implement (e.g.
  /// MESSAGE-INTEGRITY, USERNAME, CHANGE-REQUEST).
  case unknownRequiredAttribute
  /// FINGERPRINT with a wrong CRC, wrong size, or not the last attribute.
  case badFingerprint

  public var label: String {
    switch self {
    case .tooShort: "too_short"
    case .tooLong: "too_long"
    case .notSTUN: "not_stun"
    case .badLength: "bad_length"
    case .notBindingRequest: "not_binding_request"
    case .badAttribute: "bad_attribute"
    case .unknownRequiredAttribute: "unknown_attribute"
    case .badFingerprint: "bad_fingerprint"
    }
  }
}
