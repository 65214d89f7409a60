import Foundation

/// The line printed on stderr each second: enough to see a run go wrong while it runs.
public enum LiveLine {
    public static func format(_ point: TimelinePoint, openLoop: Bool) -> String {
        let phase = point.phase.count >= 14 ? point.phase : point.phase + String(repeating: " ", count: 14 - point.phase.count)
        var line = String(
            format: "[%4ds] \(phase) rate %8llu/s  p50 %8.3f ms  p99 %8.3f ms  errors %6llu  in-flight %5d  cpu %3.0f%%",
            point.second, point.completed, Double(point.p50Us) / 1000, Double(point.p99Us) / 1000,
            point.errors, point.inFlight, point.harnessCpuPercent)
        if openLoop { line += String(format: "  lag %.0f µs", point.scheduleLagUs) }
        if let cpu = point.serverCpuPercent { line += String(format: "  server %3.0f%%", cpu) }
        if let rss = point.serverRssKB { line += String(format: " %.0f MB", Double(rss) / 1024) }
        return line
    }
}
