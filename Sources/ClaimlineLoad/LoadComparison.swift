import Foundation

/// Several runs on one page (`claimline-load compare`): before and after a change, SQLite
/// against PostgreSQL, one instance against two. The spectra of every run's methods overlaid,
/// a table of the headline figures side by side, and each run's own report.
public struct LoadComparison {
    public var runs: [(label: String, result: LoadResult)]

    public init(runs: [(label: String, result: LoadResult)]) {
        self.runs = runs
    }

    /// One row per run and method: calls/s, p50, p99, p99.9, max, errors, and server CPU per call.
    public func table() -> String {
        var out = "run             method             calls/s    p50 ms    p99 ms  p99.9 ms    max ms   errors  server µs/call\n"
        for (label, result) in self.runs {
            let cpu = result.server.map { String(format: "%.2f", $0.cpuMicrosPerCall) } ?? "-"
            for method in result.total.methods where method.count > 0 {
                out += Self.pad(label, 16) + Self.pad(method.name, 14)
                out += String(
                    format: "%12.1f %9.3f %9.3f %9.3f %9.3f %8llu", result.total.rate(method), method.ms(50), method.ms(99),
                    method.ms(99.9), method.maxMs, method.errorCount
                )
                out += "  " + cpu + "\n"
            }
        }
        return out
    }

    public func html() -> String {
        var spectra: [String: [LoadResult.ChartData.Point]] = [:]
        var order: [String] = []
        for (label, result) in self.runs {
            for method in result.total.methods where method.count > 0 {
                let name = "\(label): \(method.name)"
                spectra[name] = LoadResult.spectrum(method.histogram)
                order.append(name)
            }
        }
        var body = "<h2>Percentile spectra, overlaid (corrected latency, ms)</h2>\n"
        body += LoadResult.spectrumChart(spectra, order: order)
        body += "<h2>Side by side</h2><pre>\(LoadResult.escape(self.table()))</pre>"
        for (label, result) in self.runs {
            body += "<h2>\(LoadResult.escape(label))</h2><pre>\(LoadResult.escape(result.table()))</pre>"
        }
        let data = (try? JSONEncoder().encode(spectra)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return LoadResult.page(
            title: "claimline-load compare: " + self.runs.map(\.label).joined(separator: " vs "),
            heading: "claimline-load compare",
            intro: LoadResult.escape(self.runs.map { "\($0.label): \($0.result.run.scenario) \($0.result.run.mode) loop" }.joined(separator: "; ")),
            body: body, json: data
        )
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? String(text.prefix(width - 1)) + " " : text + String(repeating: " ", count: width - text.count)
    }
}
