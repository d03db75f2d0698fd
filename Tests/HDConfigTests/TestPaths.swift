// Locations in the source tree. Tests read fixtures from the tree (not the
// bundle) so `HD_UPDATE_GOLDEN=1` can rewrite the goldens in place.

enum TestPaths {
  static let testsDirectory: String = {
    let file = #filePath
    return String(file[..<file.lastIndex(of: "/")!])
  }()

  static let corpus = testsDirectory + "/Corpus"
  static let hostFixture = corpus + "/host"
  static let repositoryRoot: String = {
    var path = testsDirectory
    for _ in 0..<2 { path = String(path[..<path.lastIndex(of: "/")!]) }
    return path
  }()

  /// 2027-01-01T00:00:00Z: "now" for the corpus' certificate expiry checks.
  static let corpusNowSeconds: Int64 = 1_798_761_600
}
