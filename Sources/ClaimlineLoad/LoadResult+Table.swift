import Foundation

extension LoadResult {
    /// The final report as text: one table per step (and a total when there are several),
    /// then errors, harness and server figures, and warnings.
    public func table() -> String {
        var out = "claimline-load: \(self.run.scenario), \(self.run.mode) loop, \(self.run.connections) connection(s)"
        if let inFlight = self.run.inFlight { out += " × \(inFlight) in flight" }
        out += ", \(self.run.target)" + (self.processes > 1 ? ", \(self.processes) processes merged" : "") + "\n"
        let steps = self.steps.count > 1 ? self.steps + [self.total] : self.steps
        for step in steps {
            out += "\n" + Self.stepHeader(step)
            out += Self.row(["method", "count", "rate/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "errors"])
            for method in step.methods { out += Self.methodRow(method, step: step) }
            for method in step.methods where !method.errors.isEmpty {
                let errors = method.errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                out += "  \(method.name) errors: \(errors)\n"
            }
        }
        if let targets = self.targets, targets.count > 1 || targets.contains(where: { $0.lost > 0 || $0.connectFailures > 0 }) {
            out += "\n" + Self.targetLines(targets)
        }
        if !self.connectionEvents.isEmpty {
            out +=
                "\nconnection events: " + self.connectionEvents.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
                + "\n"
        }
        out += String(
            format: "\nharness: %.2f CPU s, %.0f%% of one core (peak %.0f%%/s), %d thread(s), max in flight %d",
            self.harness.cpuSeconds, self.harness.cpuPercent, self.harness.maxCpuPercent, self.harness.threads, self.harness.maxInFlight)
        if self.run.mode == "open" { out += String(format: ", mean schedule lag %.1f µs", self.harness.meanScheduleLagUs) }
        out += "\n"
        if let server = self.server {
            out += String(
                format: "server (pid %d): %.1f CPU µs per call (%.2f CPU s, %.0f%% of one core, %llu calls), RSS %.1f → %.1f MB (max %.1f MB)\n",
                server.pid, server.cpuMicrosPerCall, server.cpuSeconds, server.cpuPercent, server.calls,
                Double(server.rssStartKB) / 1024, Double(server.rssEndKB) / 1024, Double(server.rssMaxKB) / 1024)
        }
        for warning in self.warnings { out += "WARNING: \(warning)\n" }
        return out
    }

    /// Per instance, one line: the calls it took (warm-up included) and how they ended, and how
    /// its connections fared: after a failover the survivor's line shows the calls it carried.
    static func targetLines(_ targets: [TargetStats]) -> String {
        var out = "targets (every call, warm-up included):\n"
        for target in targets {
            var line = "  \(target.address): \(target.calls) calls, \(target.ok) ok"
            let errors = target.errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
            if !errors.isEmpty { line += " (" + errors.joined(separator: ", ") + ")" }
            line += "; \(target.connections) connection(s)"
            if target.lost > 0 { line += ", \(target.lost) lost" }
            if target.connectFailures > 0 { line += ", \(target.connectFailures) failed connect(s)" }
            out += line + "\n"
        }
        return out
    }

    /// The contact scenario's timeline starts contacts, not calls: its target and its achieved
    /// rate are contacts per second, and the calls they made are said apart.
    static func stepHeader(_ step: StepResult) -> String {
        var header = "step \(step.label): " + String(format: "%.1f s", step.duration)
        if let contacts = step.methods.first(where: { $0.name == MetricKey.contact.name }), contacts.count > 0 {
            if let rate = step.targetRate { header += String(format: ", target %.0f contacts/s", rate) }
            header += String(format: ", achieved %.0f contacts/s", step.rate(contacts))
            if let all = step.allCalls { header += String(format: " (%.0f calls/s)", step.rate(all)) }
        } else {
            if let rate = step.targetRate { header += String(format: ", target %.0f calls/s", rate) }
            if let all = step.allCalls { header += String(format: ", achieved %.0f calls/s", step.rate(all)) }
        }
        return header + "\n"
    }

    static func methodRow(_ method: MethodStats, step: StepResult) -> String {
        guard method.count > 0 else { return row([method.name, "0", "0", "-", "-", "-", "-", "-", "0"]) }
        return row([
            method.name, String(method.count), String(format: "%.1f", step.rate(method)),
            String(format: "%.3f", method.ms(50)), String(format: "%.3f", method.ms(90)), String(format: "%.3f", method.ms(99)),
            String(format: "%.3f", method.ms(99.9)), String(format: "%.3f", method.maxMs), String(method.errorCount),
        ])
    }

    static func row(_ cells: [String]) -> String {
        let widths = [14, 10, 10, 9, 9, 9, 9, 9, 8]
        return zip(cells, widths).enumerated().map { index, pair in
            let (cell, width) = pair
            let pad = String(repeating: " ", count: max(0, width - cell.count))
            return index == 0 ? cell + pad : pad + cell
        }.joined(separator: " ") + "\n"
    }
}
