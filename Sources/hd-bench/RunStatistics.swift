// Mean, standard deviation and 95 % Student-t confidence interval over
// repeated runs, as the C++ suite reports them (benchmark-method.md §1.2).

struct RunStatistics {
  let count: Int
  let mean: Double
  let standardDeviation: Double
  /// Half-width of the 95 % confidence interval of the mean.
  let confidence95: Double
  var coefficientOfVariationPercent: Double { mean != 0 ? 100 * standardDeviation / mean : 0 }

  init(_ values: [Double]) {
    count = values.count
    let m = values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
    mean = m
    guard values.count > 1 else {
      standardDeviation = 0
      confidence95 = 0
      return
    }
    let variance = values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count - 1)
    let sd = variance.squareRoot()
    standardDeviation = sd
    confidence95 = Self.tCritical95(degreesOfFreedom: values.count - 1) * sd / Double(values.count).squareRoot()
  }

  /// Two-sided 95 % critical values of Student's t for 1…30 degrees of freedom, then 1.96.
  static func tCritical95(degreesOfFreedom df: Int) -> Double {
    let table: [Double] = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                           2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                           2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]
    return df >= 1 && df <= table.count ? table[df - 1] : 1.96
  }
}
