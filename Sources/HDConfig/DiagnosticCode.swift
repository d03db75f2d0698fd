// Every diagnostic code the configuration system can emit, in one place.
// Codes are stable once shipped: scripts and editors match on them, so a code is
// never renamed or reused; a new situation gets a new code.

public enum DiagnosticCode: String, Sendable, CaseIterable, Codable {
  // YAML and file level.
  case yamlSyntax = "YAML_SYNTAX"
  case yamlAliasUnsupported = "YAML_ALIAS_UNSUPPORTED"
  case yamlNestingTooDeep = "YAML_NESTING_TOO_DEEP"
  case multipleDocuments = "MULTIPLE_DOCUMENTS"
  case rootNotMapping = "ROOT_NOT_MAPPING"
  case configFileUnreadable = "CONFIG_FILE_UNREADABLE"

  // Keys.
  case duplicateKey = "DUPLICATE_KEY"
  case unknownKey = "UNKNOWN_KEY"
  case nonStringKey = "NON_STRING_KEY"
  case unsupportedCxxKey = "UNSUPPORTED_CXX_KEY"

  // Values.
  case typeMismatch = "TYPE_MISMATCH"
  case missingValue = "MISSING_VALUE"
  case invalidInteger = "INVALID_INTEGER"
  case outOfRange = "OUT_OF_RANGE"
  case invalidBool = "INVALID_BOOL"
  case boolSpelling = "BOOL_SPELLING"
  case invalidEnum = "INVALID_ENUM"
  case invalidIPAddress = "INVALID_IP_ADDRESS"
  case invalidURL = "INVALID_URL"
  case invalidHostPort = "INVALID_HOST_PORT"
  case emptyPath = "EMPTY_PATH"
  case duplicateListEntry = "DUPLICATE_LIST_ENTRY"
  case invalidDomainName = "INVALID_DOMAIN_NAME"

  // Relations between keys.
  case incompletePair = "INCOMPLETE_PAIR"
  case pinCoresCount = "PIN_CORES_COUNT"
  case portConflict = "PORT_CONFLICT"
  case meshPeersWithoutKey = "MESH_PEERS_WITHOUT_KEY"
  case debugEndpointsEnabled = "DEBUG_ENDPOINTS_ENABLED"
  case notImplemented = "NOT_IMPLEMENTED"
  case acmeWithCertificateFiles = "ACME_WITH_CERTIFICATE_FILES"
  case acmeNoIdentifiers = "ACME_NO_IDENTIFIERS"
  case acmeDirectoryNotHTTPS = "ACME_DIRECTORY_NOT_HTTPS"
  case acmeChallengeUnusable = "ACME_CHALLENGE_UNUSABLE"
  case acmeIncompleteEAB = "ACME_INCOMPLETE_EAB"
  case acmeCacheDirUnusable = "ACME_CACHE_DIR_UNUSABLE"
  case acmeEABKeyInvalid = "ACME_EAB_KEY_INVALID"
  case acmeContactInvalid = "ACME_CONTACT_INVALID"

  // Command line.
  case unknownFlag = "UNKNOWN_FLAG"
  case unsupportedCxxFlag = "UNSUPPORTED_CXX_FLAG"
  case missingFlagValue = "MISSING_FLAG_VALUE"
  case deprecatedAlias = "DEPRECATED_ALIAS"

  // Referenced files.
  case fileNotFound = "FILE_NOT_FOUND"
  case fileUnreadable = "FILE_UNREADABLE"
  case certificateInvalid = "CERTIFICATE_INVALID"
  case privateKeyInvalid = "PRIVATE_KEY_INVALID"
  case keyCertificateMismatch = "KEY_CERTIFICATE_MISMATCH"
  case certificateExpired = "CERTIFICATE_EXPIRED"
  case certificateExpiringSoon = "CERTIFICATE_EXPIRING_SOON"
  case keyFileInvalid = "KEY_FILE_INVALID"

  // Facts of the host the check runs on (warnings, marked host-specific).
  case hostCPUOffline = "HOST_CPU_OFFLINE"
  case hostCPUNotAllowed = "HOST_CPU_NOT_ALLOWED"
  case hostSMTSiblings = "HOST_SMT_SIBLINGS"
  case hostSockbufCapped = "HOST_SOCKBUF_CAPPED"
}
