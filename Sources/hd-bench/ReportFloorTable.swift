// The floor table of `hd-bench report` (issue 15): the relay's CPU per GB for
// batched, one-frame-per-write and many-peer loads, each divided by the floor
// measured in the same run: iperf3's sender + receiver CPU per GB (one kernel
// send and one receive per byte; the median of samples spread over the run)
// for plain TCP, plus two AES-128-GCM passes at 16 KiB from `openssl speed`
// for userspace TLS.

enum ReportFloorTable {
  typealias R = ReportCommand

  /// (result name, or its prefix when it ends in "rate" (bench.sh appends the
  /// offered rate), what it is, TLS, target ratio to the floor or nil).
  static let rows: [(String, String, Bool, Double?)] = [
    ("tcp-1w-unpaced", "plain TCP, 32 frames/write, 10 pairs, unpaced", false, 1.5),
    ("prod-tcp-1w-b1-unpaced", "plain TCP, 1 frame/write, 10 pairs, unpaced", false, 1.8),
    ("prod-tcp-1w-b1j-rate", "plain TCP, 1 frame/write, 10 pairs, paced, jitter", false, nil),
    ("prod-tcp-1w-many-rate", "plain TCP, 1 frame/write, many pairs, paced, jitter", false, nil),
    ("tls-1w-unpaced", "userspace TLS, 32 frames/write, 10 pairs, unpaced", true, 1.4),
    ("prod-tls-1w-b1-unpaced", "userspace TLS, 1 frame/write, 10 pairs, unpaced", true, 1.7),
    ("prod-tls-1w-b1j-rate", "userspace TLS, 1 frame/write, 10 pairs, paced, jitter", true, nil),
    ("prod-tls-1w-many-rate", "userspace TLS, 1 frame/write, many pairs, paced, jitter", true, nil),
  ]

  static func render(_ results: [(String, R.Fields)]) -> String {
    func named(_ name: String) -> (String, R.Fields)? {
      results.first(where: { ($0.0 == name || (name.hasSuffix("rate") && $0.0.hasPrefix(name)))
        && R.text(R.field($0.1, "test")) == "throughput" })
    }
    func run(_ name: String) -> R.Fields? { named(name)?.1 }
    let present = rows.filter { run($0.0) != nil }
    guard !present.isEmpty else { return "" }
    let floor = results.first(where: { R.text(R.field($0.1, "test")) == "floor" })?.1
    let copyFloor = floor.flatMap { R.double(R.field($0, "cpu_sec_per_gb")) }
    let speed = results.first(where: { R.text(R.field($0.1, "test")) == "openssl-speed" })?.1
    let aes16k = speed.flatMap { R.double(R.field($0, "bytes_per_sec_16384")) }
    let cryptoFloor = aes16k.map { 2 * 1e9 / $0 }
    var out = "### Production-shaped load vs the copy floor (issue 15)\n\n"
    if let floor, let copyFloor {
      // bench.sh takes several samples spread over the run and keeps the median one.
      var samples = ""
      if let count = R.double(R.field(floor, "sample_count")), count > 1 {
        let each = R.text(R.field(floor, "samples_cpu_sec_per_gb")).split(separator: " ").joined(separator: ", ")
        samples = "median of \(Int(count)) samples spread over the run (\(each) CPU-s/GB); that one: "
      }
      out += "Copy floor (same run): iperf3 one stream, 128 KiB writes, \(samples)sender \(R.text(R.field(floor, "sender_cpu_pct"))) % + "
        + "receiver \(R.text(R.field(floor, "receiver_cpu_pct"))) % of a core = **\(JSONOut.format(copyFloor, decimals: 3)) CPU-s/GB**"
      if let cryptoFloor {
        out += "; two AES-128-GCM passes at 16 KiB (`openssl speed`) add \(JSONOut.format(cryptoFloor, decimals: 3))"
          + " = **\(JSONOut.format(copyFloor + cryptoFloor, decimals: 3))** for TLS"
      }
      out += ".\n\n"
    }
    out += "| run | load | goodput Mbit/s | loss % | relay CPU s/GB | relay kernel % | generator µs/msg (sent) | relay µs/msg (sent) | floor s/GB | × floor | target |\n"
    out += "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    for (name, what, tls, target) in present {
      let (shown, f) = named(name)!
      let cost = R.meanOrSingle(f, "relay_cpu_sec_per_gb")
      let goodput = R.meanOrSingle(f, "goodput_mbps")
      let rowFloor = tls ? copyFloor.flatMap { c in cryptoFloor.map { c + $0 } } : copyFloor
      let ratio = cost.flatMap { c in rowFloor.map { c / $0 } }
      // A paced row that fell short of its offered rate is not at "the same
      // aggregate rate" as its neighbours: say so next to the rate.
      let offered = R.double(R.field(f, "rate_mbps")).map { rate -> String in
        guard rate > 0 else { return "" }
        let short = goodput.map { $0 < 0.95 * rate } ?? false
        return ", " + JSONOut.format(rate, decimals: 0) + " Mbit/s offered" + (short ? " (not reached)" : "")
      } ?? ""
      let goodputText = goodput.map { JSONOut.format($0, decimals: 1) } ?? "—"
      let costText = cost.map { JSONOut.format($0, decimals: 3) } ?? "—"
      let floorText = rowFloor.map { JSONOut.format($0, decimals: 3) } ?? "—"
      let ratioText = ratio.map { JSONOut.format($0, decimals: 2) } ?? "—"
      let targetText = target.map { "≤ " + JSONOut.format($0, decimals: 1) } ?? "—"
      let loss = R.text(R.field(f, "message_loss_pct"))
      let generator = R.text(R.field(f, "generator_cpu_us_per_sent_msg"))
      let relay = R.text(R.field(f, "relay_cpu_us_per_sent_msg"))
      let kernel = R.text(R.field(f, "relay_cpu_system_pct"))
      var row = "| \(shown) | \(what)\(offered) | \(goodputText) | \(loss) | \(costText) | \(kernel) | "
      row += "\(generator) | \(relay) | \(floorText) | **\(ratioText)** | \(targetText) |\n"
      out += row
    }
    for transport in ["tcp", "tls"] {
      guard let manyRun = run("prod-\(transport)-1w-many-rate"), let fewRun = run("prod-\(transport)-1w-b1j-rate"),
        let many = R.meanOrSingle(manyRun, "relay_cpu_sec_per_gb"), let few = R.meanOrSingle(fewRun, "relay_cpu_sec_per_gb"), few > 0
      else { continue }
      out += "\n\(transport == "tcp" ? "Plain TCP" : "Userspace TLS"): \(R.text(R.field(manyRun, "active_pairs"))) pairs cost "
        + "**\(JSONOut.format(many / few, decimals: 2))×** the relay CPU per GB of \(R.text(R.field(fewRun, "active_pairs"))) pairs"
        + " at the same aggregate rate (target ≤ 1.3)."
    }
    return out + "\n\n"
  }
}
