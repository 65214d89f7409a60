import ClaimlineCore
import Foundation
import Histogram

extension LoadResult {
    /// One self-contained HTML page: inline SVG charts (no script, no fonts, no network) and
    /// the charts' data as inline JSON, so it can be mailed, archived and opened anywhere.
    ///
    /// What a tester looks for where the knee is: achieved against target rate each second;
    /// latency over time per method; errors over time by status code; the server's CPU and
    /// memory over time (with `--server-pid`); the percentile spectrum per method; the table.
    public func html() -> String {
        let data = self.chartData()
        let json = (try? String(decoding: JSONEncoder().encode(data), as: UTF8.self)) ?? "{}"
        let unit = self.run.scenario == "contact" ? "contacts/s" : "calls/s"
        var body = ""
        body += "<h2>Throughput: achieved and target, each second (\(unit))</h2>\n" + self.throughputChart()
        body += "<h2>Latency over time: p99 per method, p50 of all (corrected, ms)</h2>\n" + self.latencyChart()
        body += "<h2>Errors each second, by status code</h2>\n" + self.errorsChart()
        if self.timeline.contains(where: { $0.serverCpuPercent != nil }) {
            body += "<h2>Server: CPU (% of one core) and resident memory (MB), each second</h2>\n" + self.serverCharts()
        }
        body += "<h2>Percentile spectrum (corrected latency, ms)</h2>\n" + Self.spectrumChart(data.percentileSpectrum)
        return Self.page(
            title: "claimline-load: \(self.run.scenario) \(self.run.mode) loop",
            heading: "claimline-load",
            intro: "Target\(self.targetNames.count > 1 ? "s" : ""): \(Self.escape(self.targetNames.joined(separator: ", ")))",
            body: body + "<h2>Report</h2><pre>\(Self.escape(self.table()))</pre>", json: json
        )
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
            spectrum[method.name] = Self.spectrum(method.histogram)
        }
        return ChartData(latencyOverTime: seconds, percentileSpectrum: spectrum)
    }

    static func spectrum(_ histogram: Histogram<UInt64>) -> [ChartData.Point] {
        var points: [ChartData.Point] = []
        for value in histogram.percentiles(ticksPerHalfDistance: 5) {
            let p = min(value.percentileLevelIteratedTo, 99.999)
            points.append(ChartData.Point(percentile: p, ms: Double(value.value) / 1000))
            if p >= 99.999 { break }
        }
        return points
    }

    // MARK: - The charts of one run

    func throughputChart() -> String {
        let contacts = self.run.scenario == "contact"
        var series: [Chart.Series] = [
            .init(
                name: contacts ? "achieved contacts/s" : "achieved calls/s",
                points: self.timeline.map {
                    (Double($0.second), Double(contacts ? ($0.contacts ?? 0) : $0.completed))
                })
        ]
        if contacts {
            series.append(.init(name: "calls/s", points: self.timeline.map { (Double($0.second), Double($0.completed)) }))
        }
        // Answered is not served: past capacity the achieved line holds while errors take over.
        series.append(
            .init(name: "answered OK calls/s", points: self.timeline.map { (Double($0.second), Double($0.completed - min($0.errors, $0.completed))) })
        )
        let target = self.timeline.compactMap { point in point.targetRate.map { (Double(point.second), $0) } }
        if !target.isEmpty { series.append(.init(name: "target", points: target, dashed: true)) }
        return Chart(id: "throughput", unit: "/s", series: series, warmup: self.run.warmupSeconds).svg()
    }

    func latencyChart() -> String {
        var byMethod: [String: [(Double, Double)]] = [:]
        for point in self.timeline {
            for method in point.methods ?? [] where method.completed > 0 {
                byMethod[method.name, default: []].append((Double(point.second), Double(method.p99Us) / 1000))
            }
        }
        var series = byMethod.keys.sorted { StepResult.order($0) < StepResult.order($1) }.map {
            Chart.Series(name: "\($0) p99", points: byMethod[$0]!)
        }
        if series.isEmpty {  // an older result: the aggregate only
            series.append(.init(name: "p99", points: self.timeline.map { (Double($0.second), Double($0.p99Us) / 1000) }))
        }
        series.append(.init(name: "all p50", points: self.timeline.map { (Double($0.second), Double($0.p50Us) / 1000) }, dashed: true))
        return Chart(id: "latency-over-time", unit: " ms", series: series, warmup: self.run.warmupSeconds).svg()
    }

    func errorsChart() -> String {
        let codes = Set(self.timeline.flatMap { ($0.errorsByCode ?? [:]).keys }).sorted()
        let series: [Chart.Series]
        if codes.isEmpty {
            series = [.init(name: "errors", points: self.timeline.map { (Double($0.second), Double($0.errors)) })]
        } else {
            series = codes.map { code in
                .init(name: code, points: self.timeline.map { (Double($0.second), Double($0.errorsByCode?[code] ?? 0)) })
            }
        }
        return Chart(id: "errors-over-time", unit: "/s", series: series, warmup: self.run.warmupSeconds).svg()
    }

    func serverCharts() -> String {
        let cpu = self.timeline.compactMap { point in point.serverCpuPercent.map { (Double(point.second), $0) } }
        let rss = self.timeline.compactMap { point in point.serverRssKB.map { (Double(point.second), Double($0) / 1024) } }
        return Chart(id: "server-cpu", unit: " %", series: [.init(name: "server CPU", points: cpu)], warmup: self.run.warmupSeconds, height: 220)
            .svg()
            + Chart(id: "server-rss", unit: " MB", series: [.init(name: "server RSS", points: rss)], warmup: self.run.warmupSeconds, height: 220)
            .svg()
    }

    // MARK: - Shared drawing

    static func page(title: String, heading: String, intro: String, body: String, json: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(Self.escape(title))</title>
        <style>body{font-family:sans-serif;margin:24px;color:#222}pre{background:#f6f6f6;padding:12px;overflow:auto}
        svg{background:#fff;border:1px solid #ddd;display:block;margin-bottom:8px}.axis{stroke:#888}.grid{stroke:#eee}text{font-size:11px;fill:#444}</style></head>
        <body><h1>\(Self.escape(heading))</h1>
        <p>\(intro)</p>
        \(body)
        <script type="application/json" id="chart-data">\(json.replacingOccurrences(of: "</", with: "<\\/"))</script>
        </body></html>

        """
    }

    /// Percentile on a log axis (0 % to 99.999 %), latency in ms; one line per series.
    static func spectrumChart(_ spectra: [String: [ChartData.Point]], order: [String]? = nil) -> String {
        guard !spectra.isEmpty else { return "<p>no data</p>" }
        let maxDecades = 5.0  // 99.999 %
        let (width, height, left, right, bottom) = (Chart.width, 320.0, Chart.left, Chart.right, Chart.bottom)
        let maxY = Chart.niceCeiling(spectra.values.flatMap { $0.map(\.ms) }.max() ?? 1)
        let x = { (p: Double) in left + min(-log10(max(1 - p / 100, 1e-5)), maxDecades) / maxDecades * (width - left - right) }
        let y = { (v: Double) in height - bottom - v / maxY * (height - bottom - 10) }
        var svg = "<svg id=\"percentile-spectrum\" width=\"\(Int(width))\" height=\"\(Int(height))\" xmlns=\"http://www.w3.org/2000/svg\">"
        svg += Chart.yAxis(maxY, unit: " ms", y, width: width, height: height)
        for (p, label) in [(0.0, "0%"), (90, "90%"), (99, "99%"), (99.9, "99.9%"), (99.99, "99.99%"), (99.999, "99.999%")] {
            svg += "<line class=\"grid\" x1=\"\(x(p))\" x2=\"\(x(p))\" y1=\"10\" y2=\"\(height - bottom)\"/>"
            svg += "<text x=\"\(x(p))\" y=\"\(height - 12)\" text-anchor=\"middle\">\(label)</text>"
        }
        let names = order ?? spectra.keys.sorted { StepResult.order($0) < StepResult.order($1) }
        for (index, name) in names.enumerated() {
            guard let points = spectra[name] else { continue }
            let color = Chart.colors[index % Chart.colors.count]
            let path = points.map { "\(x($0.percentile)),\(y($0.ms))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\"\(path)\"/>"
            svg += "<text x=\"\(left + 10)\" y=\"\(24 + 14 * index)\" style=\"fill:\(color)\">\(Self.escape(name))</text>"
        }
        return svg + "</svg>"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
