// hdctl version

import HDCLI
import HDConfig

func runVersion(_ arguments: ParsedArguments) -> Int32 {
  print("hdctl \(ProductVersion.current)")
  return 0
}
