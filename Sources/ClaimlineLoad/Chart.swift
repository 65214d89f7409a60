import Foundation

/// A line chart over the run's seconds as inline SVG: series with a legend, a shaded warm-up,
/// axes with round values. The right margin leaves room for the last axis label.
struct Chart {
    struct Series {
        var name: String
        var points: [(Double, Double)]
        var dashed = false
    }

    static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
    static let (width, left, right, bottom) = (860.0, 70.0, 40.0, 30.0)

    var id: String
    var unit: String
    var series: [Series]
    var warmup: Double = 0
    var height = 320.0

    func svg() -> String {
        let all = self.series.flatMap(\.points)
        guard !all.isEmpty else { return "<p>no data</p>" }
        let maxT = max(all.map(\.0).max() ?? 1, 1)
        let maxY = Self.niceCeiling(all.map(\.1).max() ?? 1)
        let (width, height, left, right, bottom) = (Self.width, self.height, Self.left, Self.right, Self.bottom)
        let x = { (t: Double) in left + t / maxT * (width - left - right) }
        let y = { (v: Double) in height - bottom - v / maxY * (height - bottom - 10) }
        var svg = "<svg id=\"\(self.id)\" width=\"\(Int(width))\" height=\"\(Int(height))\" xmlns=\"http://www.w3.org/2000/svg\">"
        if self.warmup > 0 {
            svg +=
                "<rect x=\"\(x(0))\" y=\"10\" width=\"\(x(min(self.warmup, maxT)) - x(0))\" height=\"\(height - bottom - 10)\" fill=\"#f3f3f3\"/><text x=\"\(x(0) + 4)\" y=\"22\">warm-up</text>"
        }
        svg += Self.yAxis(maxY, unit: self.unit, y, width: width, height: height)
        for tick in stride(from: 0.0, through: maxT, by: max(1, (maxT / 10).rounded(.up))) {
            svg += "<text x=\"\(x(tick))\" y=\"\(height - 12)\" text-anchor=\"middle\">\(Int(tick))s</text>"
        }
        for (index, series) in self.series.enumerated() {
            let color = Self.colors[index % Self.colors.count]
            let path = series.points.map { "\(x($0.0)),\(y($0.1))" }.joined(separator: " ")
            let dash = series.dashed ? " stroke-dasharray=\"5,3\"" : ""
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\"\(dash) points=\"\(path)\"/>"
            svg +=
                "<text x=\"\(width - right - 4)\" y=\"\(24 + 14 * index)\" text-anchor=\"end\" style=\"fill:\(color)\">\(LoadResult.escape(series.name))</text>"
        }
        return svg + "</svg>"
    }

    static func yAxis(_ maxY: Double, unit: String, _ y: (Double) -> Double, width: Double, height: Double) -> String {
        var svg = "<line class=\"axis\" x1=\"\(left)\" x2=\"\(left)\" y1=\"10\" y2=\"\(height - bottom)\"/>"
        svg += "<line class=\"axis\" x1=\"\(left)\" x2=\"\(width - right)\" y1=\"\(height - bottom)\" y2=\"\(height - bottom)\"/>"
        for k in 0...4 {
            let v = maxY * Double(k) / 4
            svg += "<line class=\"grid\" x1=\"\(left)\" x2=\"\(width - right)\" y1=\"\(y(v))\" y2=\"\(y(v))\"/>"
            svg += "<text x=\"\(left - 6)\" y=\"\(y(v) + 4)\" text-anchor=\"end\">\(String(format: "%g", v))\(unit)</text>"
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
}
