/// The version both binaries print (`hyper-derp --version`, `hdctl version`).
public enum ProductVersion {
  public static let current = "0.1.0"
}
