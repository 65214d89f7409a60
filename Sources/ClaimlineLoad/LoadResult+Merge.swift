extension LoadResult {
    /// Adds up the results of harness processes that ran side by side against one server.
    ///
    /// Histograms and counts add exactly. Steps pair up by position. Per-second points add
    /// their counts; their p50/p99 are the worst of the processes (a per-second histogram is not
    /// kept, so this is an upper bound, and says so in the warnings). Server CPU: processes that
    /// watched the same pid saw the same CPU, so the largest window's CPU is divided by all calls.
    public static func merge(_ results: [LoadResult]) throws(LoadConfigurationError) -> LoadResult {
        guard var merged = results.first else { throw LoadConfigurationError("nothing to merge") }
        for other in results.dropFirst() {
            guard other.steps.count == merged.steps.count else {
                throw LoadConfigurationError("cannot merge runs with \(merged.steps.count) and \(other.steps.count) steps")
            }
            merged.processes += other.processes
            for index in merged.steps.indices { merged.steps[index].add(other.steps[index]) }
            merged.timeline = Self.mergeTimelines(merged.timeline, other.timeline)
            merged.harness.threads += other.harness.threads
            merged.harness.cpuSeconds += other.harness.cpuSeconds
            merged.harness.cpuPercent += other.harness.cpuPercent
            merged.harness.maxCpuPercent += other.harness.maxCpuPercent
            merged.harness.meanScheduleLagUs = max(merged.harness.meanScheduleLagUs, other.harness.meanScheduleLagUs)
            merged.harness.maxInFlight += other.harness.maxInFlight
            merged.harness.saturated = merged.harness.saturated || other.harness.saturated
            merged.server = Self.mergeServers(merged.server, other.server)
            merged.run.connections += other.run.connections
            for (event, count) in other.connectionEvents { merged.connectionEvents[event, default: 0] += count }
            if merged.targets != nil || other.targets != nil {
                merged.targets = TargetStats.merge([merged.targets ?? [], other.targets ?? []])
            }
            for warning in other.warnings where !merged.warnings.contains(warning) { merged.warnings.append(warning) }
        }
        merged.total = StepResult.total(of: merged.steps)
        let note = "merged \(merged.processes) processes: per-second p50/p99 are the worst process's"
        if merged.processes > 1 && !merged.warnings.contains(note) { merged.warnings.append(note) }
        return merged
    }

    static func mergeTimelines(_ a: [TimelinePoint], _ b: [TimelinePoint]) -> [TimelinePoint] {
        var out = a
        for point in b {
            if let index = out.firstIndex(where: { $0.second == point.second }) {
                out[index].sent += point.sent
                out[index].completed += point.completed
                out[index].errors += point.errors
                out[index].p50Us = max(out[index].p50Us, point.p50Us)
                out[index].p99Us = max(out[index].p99Us, point.p99Us)
                out[index].maxUs = max(out[index].maxUs, point.maxUs)
                out[index].inFlight += point.inFlight
                out[index].scheduleLagUs = max(out[index].scheduleLagUs, point.scheduleLagUs)
                out[index].harnessCpuPercent += point.harnessCpuPercent
                if let rate = point.targetRate { out[index].targetRate = (out[index].targetRate ?? 0) + rate }
                if let contacts = point.contacts { out[index].contacts = (out[index].contacts ?? 0) + contacts }
                if let errors = point.errorsByCode { out[index].errorsByCode = (out[index].errorsByCode ?? [:]).merging(errors, uniquingKeysWith: +) }
                out[index].methods = Self.mergeMethodSeconds(out[index].methods, point.methods)
            } else {
                out.append(point)
            }
        }
        return out.sorted { $0.second < $1.second }
    }

    /// Per method: counts add; p50 and p99 are the worst process's (not exact, as above).
    static func mergeMethodSeconds(_ a: [TimelinePoint.MethodSecond]?, _ b: [TimelinePoint.MethodSecond]?) -> [TimelinePoint.MethodSecond]? {
        guard var out = a else { return b }
        for method in b ?? [] {
            if let index = out.firstIndex(where: { $0.name == method.name }) {
                out[index].completed += method.completed
                out[index].p50Us = max(out[index].p50Us, method.p50Us)
                out[index].p99Us = max(out[index].p99Us, method.p99Us)
            } else {
                out.append(method)
            }
        }
        return out
    }

    static func mergeServers(_ a: ServerStats?, _ b: ServerStats?) -> ServerStats? {
        guard var a else { return b }
        guard let b else { return a }
        let calls = a.calls + b.calls
        if a.pid == b.pid {
            a.cpuSeconds = max(a.cpuSeconds, b.cpuSeconds)
            a.cpuPercent = max(a.cpuPercent, b.cpuPercent)
        } else {
            a.cpuSeconds += b.cpuSeconds
            a.cpuPercent += b.cpuPercent
        }
        a.calls = calls
        a.cpuMicrosPerCall = calls > 0 ? a.cpuSeconds * 1e6 / Double(calls) : 0
        a.rssStartKB = min(a.rssStartKB, b.rssStartKB)
        a.rssEndKB = max(a.rssEndKB, b.rssEndKB)
        a.rssMaxKB = max(a.rssMaxKB, b.rssMaxKB)
        return a
    }
}
