// The server key file (`privkey:<hex>` or derper's JSON form) and the mesh
// key file readers, from the text they read.
import HDProtocol
import HDRelay

extension FuzzTargets {
  static let keyFiles = FuzzTarget(
    name: "key-files",
    summary: "server key file (privkey / derper JSON) and mesh key file parsers",
    maxInputBytes: 4_096
  ) { raw, checks throws(FuzzFailure) in
    let text = String(decoding: raw, as: UTF8.self)
    let path = "/fuzz/key"
    switch Result(catching: { () throws(KeyFileError) in try KeyFile.parsePrivateKey(text, path: path) }) {
    case .success(let key):
      // What the relay writes back for this key reads as the same key.
      let again = try? KeyFile.parsePrivateKey(key.privateKeyText + "\n", path: path)
      try checks.require(again == key, "privkey text of an accepted key does not read back")
    case .failure(let error):
      try checks.require(error.description.hasPrefix(path), "key file error does not name the file: \(error)")
    }
    switch Result(catching: { () throws(MeshKeyError) in try MeshKeyFile.parse(text, path: path) }) {
    case .success(let key):
      try checks.require(!key.isZero, "accepted an all-zero mesh key")
      try checks.require(text.lowercased().contains(key.hex), "mesh key \(key.hex) is not the file's hex")
    case .failure(let error):
      try checks.require(error.description.contains(path), "mesh key error does not name the file")
    }
  }
}
