import Foundation

/// Reads a process's CPU time and resident memory from /proc (Linux), for the harness's own
/// cost and for `--server-pid`. Absent files (another OS, a dead pid) read as nil.
public enum ProcSampler {
    public struct Sample: Sendable, Equatable {
        /// utime + stime, seconds.
        public var cpuSeconds: Double
        /// VmRSS, kB (0 when unknown).
        public var rssKB: UInt64
        /// Uptime seconds when sampled (monotonic).
        public var at: Double
    }

    /// `self` or a pid.
    public static func sample(pid: Int32? = nil) -> Sample? {
        let base = pid.map { "/proc/\($0)" } ?? "/proc/self"
        guard let stat = try? String(contentsOfFile: base + "/stat", encoding: .utf8),
            let cpu = Self.cpuSeconds(statLine: stat)
        else { return nil }
        let status = (try? String(contentsOfFile: base + "/status", encoding: .utf8)) ?? ""
        return Sample(cpuSeconds: cpu, rssKB: Self.rssKB(status: status) ?? 0, at: Double(DispatchTime.now().uptimeNanoseconds) / 1e9)
    }

    /// utime (field 14) + stime (field 15) of a /proc/PID/stat line, in seconds. Fields are
    /// counted after the command name's closing parenthesis (the name may hold spaces).
    public static func cpuSeconds(statLine: String) -> Double? {
        guard let close = statLine.lastIndex(of: ")") else { return nil }
        let fields = statLine[statLine.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3), so field n is fields[n - 3].
        guard fields.count > 12, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
        return (utime + stime) / Self.ticksPerSecond
    }

    public static func rssKB(status: String) -> UInt64? {
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return line.split(separator: " ").dropFirst().first.flatMap { UInt64($0) }
        }
        return nil
    }

    static let ticksPerSecond: Double = {
        let ticks = sysconf(Int32(_SC_CLK_TCK))
        return ticks > 0 ? Double(ticks) : 100
    }()
}
