import Foundation

/// The usual Prometheus process metrics (`process_cpu_seconds_total`,
/// `process_resident_memory_bytes`, `process_virtual_memory_bytes`, `process_open_fds`,
/// `process_max_fds`, `process_start_time_seconds`), read from /proc at scrape time: what every
/// dashboard's process panel already queries. Linux only; elsewhere nothing is written.
enum ProcessMetrics {
    static func render() -> String {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return "" }
        // Fields after the command name (which may contain spaces): state is field 3.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        func field(_ number: Int) -> Double { fields.count > number - 3 ? Double(fields[number - 3]) ?? 0 : 0 }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        let cpuSeconds = (field(14) + field(15)) / ticks
        let virtualBytes = field(23)
        let residentBytes = field(24) * pageSize
        let startTime = Self.bootTime() + field(22) / ticks
        let openFDs = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ value: Double) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(Self.format(value))\n"
        }
        metric("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", cpuSeconds)
        metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", residentBytes)
        metric("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", virtualBytes)
        metric("process_open_fds", "gauge", "Number of open file descriptors.", Double(openFDs))
        metric("process_max_fds", "gauge", "Maximum number of open file descriptors.", Double(limit.rlim_cur))
        metric("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", startTime)
        return out
    }

    private static func bootTime() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        return 0
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
