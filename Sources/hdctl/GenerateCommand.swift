// hdctl generate [--out DIR] [--check]: writes (or compares) the files derived
// from the schema and the command definitions.

import Glibc
import HDCLI
import HDConfig

func runGenerate(_ arguments: ParsedArguments) -> Int32 {
  let root = arguments.value("--out") ?? "."
  let check = arguments.has("--check")
  var status: Int32 = 0
  for file in GeneratedFiles.all() {
    let path = root + "/" + file.path
    let current = FileAccess.readText(path)
    if current == file.contents {
      continue
    }
    if check {
      writeError("\(path) differs from the generated version; run 'hdctl generate'")
      status = 1
      continue
    }
    if let problem = writeFile(path, file.contents) {
      writeError("hdctl generate: cannot write \(path): \(problem)")
      status = 1
    } else {
      print("wrote \(path)")
    }
  }
  return status
}

/// Writes via a temporary file and rename, creating the directory if needed.
private func writeFile(_ path: String, _ contents: String) -> String? {
  if let slash = path.lastIndex(of: "/") {
    let directory = String(path[..<slash])
    if !directory.isEmpty, !FileAccess.isDirectory(directory), mkdir(directory, 0o755) != 0 {
      return String(cString: strerror(errno))
    }
  }
  let temporary = path + ".tmp"
  guard let file = fopen(temporary, "w") else { return String(cString: strerror(errno)) }
  let bytes = Array(contents.utf8)
  let written = fwrite(bytes, 1, bytes.count, file)
  fclose(file)
  guard written == bytes.count else { return "short write" }
  guard rename(temporary, path) == 0 else { return String(cString: strerror(errno)) }
  return nil
}
