// The shared mesh secret (mesh.key_file, derper's -mesh-psk-file): 32 bytes
// as 64 hex characters, surrounding whitespace ignored. A client whose
// ClientInfo meshKey equals it is a trusted mesh peer (Worker+Mesh.swift).
import HDProtocol

public struct MeshKeyError: Error, CustomStringConvertible {
  public let description: String
}

public enum MeshKeyFile {
  public static func load(path: String) throws(MeshKeyError) -> DERPKey {
    guard let text = HostFile.readText(path, limitBytes: 4096) else {
      throw MeshKeyError(description: "mesh.key_file \(path): cannot read it (missing, or not readable by this user)")
    }
    return try parse(text, path: path)
  }

  /// The key in a mesh key file's text (`path` only names it in the error).
  package static func parse(_ text: String, path: String) throws(MeshKeyError) -> DERPKey {
    let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
    let trimmed = String(text.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    guard trimmed.utf8.count == 2 * DERPConstants.keyBytes, let key = DERPKey(hex: trimmed), !key.isZero else {
      throw MeshKeyError(
        description: "mesh.key_file \(path): must hold the mesh secret as 64 hex characters (32 bytes), "
          + "the same file on every relay of the region; make one with: openssl rand -hex 32 > \(path)")
    }
    return key
  }
}
