// The server's DERP identity. With `key_file` the key survives restarts (clients
// and DERP maps can pin it); without it a new key is made at each start, which
// we say out loud because every client sees a "new server" after a restart.
import HDProtocol

public enum ServerKeyLoader {
  public static func load(keyFile: String?, logger: Logger) throws(KeyFileError) -> DERPKeyPair {
    guard let path = keyFile else {
      let pair = DERPKeyPair.generate()
      logger.warning(
        "no key_file configured: using a new server key for this run only; clients see a different key after a restart",
        ["public_key": pair.publicKey.nodeKeyText])
      return pair
    }
    let (pair, created) = try KeyFile.loadOrCreate(path: path)
    if created {
      logger.info("created server key file (mode 0600)", ["key_file": path, "public_key": pair.publicKey.nodeKeyText])
    } else {
      logger.info("loaded server key", ["key_file": path, "public_key": pair.publicKey.nodeKeyText])
    }
    return pair
  }
}
