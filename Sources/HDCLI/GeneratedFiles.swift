// Every file `hdctl generate` writes, with its path relative to the repository root.

public enum GeneratedFiles {
  public static func all() -> [(path: String, contents: String)] {
    [
      ("docs/config-reference.md", ReferenceDocument.markdown()),
      ("completions/hdctl.bash", BashCompletion.script(HdctlCommands.tool)),
      ("completions/hyper-derp.bash", BashCompletion.script(DaemonCommand.tool)),
      ("completions/_hdctl", ZshCompletion.script(HdctlCommands.tool)),
      ("completions/_hyper-derp", ZshCompletion.script(DaemonCommand.tool)),
      ("completions/hdctl.fish", FishCompletion.script(HdctlCommands.tool)),
      ("completions/hyper-derp.fish", FishCompletion.script(DaemonCommand.tool)),
      ("man/hyper-derp.8", ManPage.daemon()),
      ("man/hdctl.8", ManPage.hdctl()),
      ("man/hyper-derp.yaml.5", ConfigManPage.page()),
    ]
  }
}
