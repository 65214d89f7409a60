import Foundation
import Histogram

extension LoadResult {
    /// One self-contained HTML page: inline SVG charts (no script, no fonts, no network) and
    /// the charts' data as inline JSON, so it can be mailed, archived and opened anywhere.
    public func html() -> String {
        let data = self.chartData()
        let json = (try? String(decoding: JSONEncoder().encode(data), as: UTF8.self)) ?? "{}"
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>claimline-load: \(Self.escape(self.run.scenario)) \(self.run.mode) loop</title>
            <style>body{font-family:sans-serif;margin:24px;color:#222}pre{background:#f6f6f6;padding:12px;overflow:auto}
            svg{background:#fff;border:1px solid #ddd}.axis{stroke:#888}.grid{stroke:#eee}text{font-size:11px;fill:#444}</style></head>
            <body><h1>claimline-load</h1>
            <p>Target\(self.targetNames.count > 1 ? "s" : ""): \(Self.escape(self.targetNames.joined(separator: ", ")))</p>
            <h2>Latency over time (p50 and p99 of the calls answered each second, ms)</h2>
            \(self.timeChart(data))
            <h2>Percentile spectrum (corrected latency, ms)</h2>
            \(self.spectrumChart(data))
            <h2>Report</h2><pre>\(Self.escape(self.table()))</pre>
            <script type="application/json" id="chart-data">\(json.replacingOccurrences(of: "</", with: "<\\/"))</script>
            </body></html>

            """
    }

    /// The instances the run drove, one per entry (older results: the single `target`).
    var targetNames: [String] { self.run.targets ?? [self.run.target] }

    struct ChartData: Codable {
        struct Second: Codable { var t: Int; var phase: String; var p50Ms: Double; var p99Ms: Double }
        struct Point: Codable { var percentile: Double; var ms: Double }
        var latencyOverTime: [Second]
        var percentileSpectrum: [String: [Point]]
    }

    func chartData() -> ChartData {
        let seconds = self.timeline.map {
            ChartData.Second(t: $0.second, phase: $0.phase, p50Ms: Double($0.p50Us) / 1000, p99Ms: Double($0.p99Us) / 1000)
        }
        var spectrum: [String: [ChartData.Point]] = [:]
        for method in self.total.methods where method.count > 0 {
            var points: [ChartData.Point] = []
            for value in method.histogram.percentiles(ticksPerHalfDistance: 5) {
                let p = min(value.percentileLevelIteratedTo, 99.999)
                points.append(ChartData.Point(percentile: p, ms: Double(value.value) / 1000))
                if p >= 99.999 { break }
            }
            spectrum[method.name] = points
        }
        return ChartData(latencyOverTime: seconds, percentileSpectrum: spectrum)
    }

    static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
    static let (width, height, left, bottom) = (820.0, 320.0, 60.0, 30.0)

    func timeChart(_ data: ChartData) -> String {
        let points = data.latencyOverTime
        guard !points.isEmpty else { return "<p>no data</p>" }
        let maxT = Double(points.map(\.t).max() ?? 1)
        let maxY = Self.niceCeiling(points.map(\.p99Ms).max() ?? 1)
        let x = { (t: Double) in Self.left + t / max(maxT, 1) * (Self.width - Self.left - 10) }
        let y = { (v: Double) in Self.height - Self.bottom - v / maxY * (Self.height - Self.bottom - 10) }
        var svg = "<svg id=\"latency-over-time\" width=\"\(Int(Self.width))\" height=\"\(Int(Self.height))\" xmlns=\"http://www.w3.org/2000/svg\">"
        let warmup = self.run.warmupSeconds
        if warmup > 0 {
            svg +=
                "<rect x=\"\(x(0))\" y=\"10\" width=\"\(x(warmup) - x(0))\" height=\"\(Self.height - Self.bottom - 10)\" fill=\"#f3f3f3\"/><text x=\"\(x(0) + 4)\" y=\"22\">warm-up</text>"
        }
        svg += Self.yAxis(maxY, y)
        for tick in stride(from: 0.0, through: maxT, by: max(1, (maxT / 10).rounded(.up))) {
            svg += "<text x=\"\(x(tick))\" y=\"\(Self.height - 12)\" text-anchor=\"middle\">\(Int(tick))s</text>"
        }
        for (index, series) in [("p50", \ChartData.Second.p50Ms), ("p99", \ChartData.Second.p99Ms)].enumerated() {
            let path = points.map { "\(x(Double($0.t))),\(y($0[keyPath: series.1]))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(Self.colors[index])\" stroke-width=\"1.5\" points=\"\(path)\"/>"
            svg += "<text x=\"\(Self.width - 60)\" y=\"\(24 + 14 * index)\" style=\"fill:\(Self.colors[index])\">\(series.0)</text>"
        }
        return svg + "</svg>"
    }

    func spectrumChart(_ data: ChartData) -> String {
        guard !data.percentileSpectrum.isEmpty else { return "<p>no data</p>" }
        let maxDecades = 5.0  // 99.999 %
        let maxY = Self.niceCeiling(data.percentileSpectrum.values.flatMap { $0.map(\.ms) }.max() ?? 1)
        let x = { (p: Double) in Self.left + min(-log10(max(1 - p / 100, 1e-5)), maxDecades) / maxDecades * (Self.width - Self.left - 10) }
        let y = { (v: Double) in Self.height - Self.bottom - v / maxY * (Self.height - Self.bottom - 10) }
        var svg = "<svg id=\"percentile-spectrum\" width=\"\(Int(Self.width))\" height=\"\(Int(Self.height))\" xmlns=\"http://www.w3.org/2000/svg\">"
        svg += Self.yAxis(maxY, y)
        for (p, label) in [(0.0, "0%"), (90, "90%"), (99, "99%"), (99.9, "99.9%"), (99.99, "99.99%"), (99.999, "99.999%")] {
            svg += "<line class=\"grid\" x1=\"\(x(p))\" x2=\"\(x(p))\" y1=\"10\" y2=\"\(Self.height - Self.bottom)\"/>"
            svg += "<text x=\"\(x(p))\" y=\"\(Self.height - 12)\" text-anchor=\"middle\">\(label)</text>"
        }
        let names = data.percentileSpectrum.keys.sorted { StepResult.order($0) < StepResult.order($1) }
        for (index, name) in names.enumerated() {
            let color = Self.colors[index % Self.colors.count]
            let path = data.percentileSpectrum[name]!.map { "\(x($0.percentile)),\(y($0.ms))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\"\(path)\"/>"
            svg += "<text x=\"\(Self.left + 10)\" y=\"\(24 + 14 * index)\" style=\"fill:\(color)\">\(Self.escape(name))</text>"
        }
        return svg + "</svg>"
    }

    static func yAxis(_ maxY: Double, _ y: (Double) -> Double) -> String {
        var svg = "<line class=\"axis\" x1=\"\(left)\" x2=\"\(left)\" y1=\"10\" y2=\"\(height - bottom)\"/>"
        svg += "<line class=\"axis\" x1=\"\(left)\" x2=\"\(width - 10)\" y1=\"\(height - bottom)\" y2=\"\(height - bottom)\"/>"
        for k in 0...4 {
            let v = maxY * Double(k) / 4
            svg += "<line class=\"grid\" x1=\"\(left)\" x2=\"\(width - 10)\" y1=\"\(y(v))\" y2=\"\(y(v))\"/>"
            svg += "<text x=\"\(left - 6)\" y=\"\(y(v) + 4)\" text-anchor=\"end\">\(String(format: "%g", v)) ms</text>"
        }
        return svg
    }

    /// 1, 2 or 5 times a power of ten, at least `value`.
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        let power = pow(10, floor(log10(value)))
        for step in [1.0, 2, 5, 10] where step * power >= value { return step * power }
        return 10 * power
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
