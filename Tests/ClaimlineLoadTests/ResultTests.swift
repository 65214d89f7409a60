import ClaimlineLoad
import Foundation
import Histogram
import Testing

/// Merging and the exporters, on results built by hand (no network).
@Suite struct ResultTests {
    static func result(values: [UInt64], errors: Int = 0, pid: Int32 = 1, serverCpu: Double = 1) -> LoadResult {
        var stats = MethodStats(name: "Escalate")
        for value in values { stats.record(corrected: value, uncorrected: max(1, value / 2), code: 0) }
        for _ in 0..<errors { stats.record(corrected: 2_000_000, uncorrected: 2_000_000, code: 4) }
        let plan = RatePlan.steps([1000], stepDuration: 10, warmup: 2)
        let run = RunDescription(
            scenario: "escalate", mode: "open", target: "127.0.0.1:7400", connections: 2, inFlight: nil, threads: 1,
            seed: 1, timeoutMs: 2000, warmupSeconds: 2, startedAtUnixMs: 0, plan: plan)
        let timeline = (1...12).map { second in
            TimelinePoint(
                second: second, phase: second <= 2 ? "warmup" : "1000/s", sent: 1000, completed: 1000, errors: 0,
                p50Us: 400 + UInt64(second), p99Us: 1900 + UInt64(second) * 10, maxUs: 5000, inFlight: 3,
                scheduleLagUs: 12, harnessCpuPercent: 20, serverCpuPercent: 50, serverRssKB: 100_000)
        }
        let harness = HarnessStats(
            threads: 1, cpuSeconds: 2, cpuPercent: 20, maxCpuPercent: 25, meanScheduleLagUs: 12, maxInFlight: 7, saturated: false)
        let server = ServerStats(
            pid: pid, cpuSeconds: serverCpu, calls: UInt64(values.count + errors), cpuMicrosPerCall: 0, cpuPercent: 10,
            rssStartKB: 1000, rssEndKB: 2000, rssMaxKB: 2500)
        let step = StepResult(label: "1000/s", targetRate: 1000, duration: 10, methods: [stats])
        return LoadResult(run: run, steps: [step], timeline: timeline, harness: harness, server: server, connectionEvents: [:], warnings: [])
    }

    @Test func mergeEqualsOneHistogramOfBothSets() throws {
        let a: [UInt64] = (1...5000).map { UInt64($0) * 7 }
        let b: [UInt64] = (1...3000).map { 40_000 + UInt64($0) * 131 }
        let merged = try LoadResult.merge([Self.result(values: a, errors: 2), Self.result(values: b, errors: 3)])
        var both = LatencyHistogram.make()
        for value in a + b { both.record(value) }
        for _ in 0..<5 { both.record(2_000_000) }
        let escalate = try #require(merged.total.methods.first)
        #expect(escalate.histogram == both)
        #expect(escalate.histogram.valueAtPercentile(99) == both.valueAtPercentile(99))
        #expect(escalate.count == 8005)
        #expect(escalate.ok == 8000)
        #expect(escalate.errors == ["DEADLINE_EXCEEDED": 5])
        #expect(merged.processes == 2)
        #expect(merged.run.connections == 4)
        #expect(merged.timeline.count == 12 && merged.timeline[0].completed == 2000)
        // Same server pid: one server's CPU, spread over both processes' calls.
        let server = try #require(merged.server)
        #expect(server.calls == 8005)
        #expect(abs(server.cpuMicrosPerCall - 1e6 / 8005) < 1e-6)
        // Steps ran side by side: the rate adds up.
        #expect(merged.total.rate(escalate) == 800.5)
    }

    @Test func jsonRoundTrips() throws {
        let result = Self.result(values: (1...1000).map { UInt64($0) * 13 }, errors: 1)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("claimline-load-\(UUID()).json")
        try result.jsonData().write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let back = try LoadResult.load(path: url.path)
        #expect(back.total.methods == result.total.methods)
        #expect(back.steps[0].methods[0].histogram == result.steps[0].methods[0].histogram)
        #expect(back.timeline == result.timeline)
        #expect(back.run == result.run)
        #expect(back.server?.rssMaxKB == 2500)
        // And what was read back still merges.
        let merged = try LoadResult.merge([back, back])
        #expect(merged.total.methods[0].count == 2002)
    }

    @Test func hgrmHasTheStandardFormat() throws {
        let result = Self.result(values: (1...10_000).map { UInt64($0) })
        let text = result.hgrm()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(
            lines[0].contains("Value") && lines[0].contains("Percentile") && lines[0].contains("TotalCount") && lines[0].contains("1/(1-Percentile)"))
        #expect(lines[1].isEmpty)
        // Percentile lines: value (ms), percentile, total count, 1/(1-p).
        let first = lines[2].split(separator: " ")
        #expect(first.count == 4)
        #expect(Double(first[1]) == 0)
        #expect(text.contains("#[Mean    ="))
        #expect(text.contains("Total count    =        10000]"))
        #expect(text.contains("#[Buckets ="))
        let last = lines.filter { !$0.hasPrefix("#") && !$0.isEmpty }.last!.split(separator: " ")
        #expect(Double(last[1]) == 1.0)
        #expect(abs(Double(last[0])! - 10.0) < 0.02)  // max 10,000 µs = 10 ms
    }

    @Test func htmlIsSelfContainedWithBothCharts() throws {
        let html = Self.result(values: (1...2000).map { UInt64($0) * 3 }).html()
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        let external = try Regex(#"(src|href)\s*=\s*["']?\s*(https?:)?//"#)
        #expect(html.firstMatch(of: external) == nil)
        #expect(!html.contains("<link"))
        #expect(html.contains("id=\"latency-over-time\""))
        #expect(html.contains("id=\"percentile-spectrum\""))
        #expect(html.contains("99.999%"))
        // The charts' data inline: the per-second p99 of second 5 (1950 µs) and the spectrum.
        #expect(html.contains("\"latencyOverTime\""))
        #expect(html.contains("\"p99Ms\":1.95"))
        #expect(html.contains("\"percentileSpectrum\""))
        #expect(html.contains("<polyline"))
    }

    @Test("the report draws achieved against target, latency per method, errors by code and the server over time")
    func htmlHasEveryChart() throws {
        var result = Self.result(values: (1...2000).map { UInt64($0) * 3 })
        for index in result.timeline.indices {
            result.timeline[index].targetRate = 1000
            result.timeline[index].methods = [.init(name: "Escalate", completed: 1000, p50Us: 400, p99Us: 2500 + UInt64(index))]
            result.timeline[index].errorsByCode = index == 5 ? ["DEADLINE_EXCEEDED": 7] : [:]
        }
        let html = result.html()
        for id in ["throughput", "latency-over-time", "errors-over-time", "server-cpu", "server-rss", "percentile-spectrum"] {
            #expect(html.contains("id=\"\(id)\""), "\(id)")
        }
        #expect(html.contains(">target<"))
        #expect(html.contains(">achieved calls/s<"))
        #expect(html.contains(">answered OK calls/s<"))
        #expect(html.contains(">Escalate p99<"))
        #expect(html.contains(">DEADLINE_EXCEEDED<"))
        #expect(html.contains("stroke-dasharray"))
        // Round trip: the new timeline fields survive --json and merge.
        let decoded = try JSONDecoder().decode(LoadResult.self, from: try result.jsonData())
        #expect(decoded.timeline[5].errorsByCode == ["DEADLINE_EXCEEDED": 7])
        #expect(decoded.timeline[3].methods?.first?.p99Us == 2503)
    }

    @Test("compare: the runs' spectra overlaid, their figures side by side, each run's report")
    func compareTwoRuns() {
        let before = Self.result(values: (1...2000).map { UInt64($0) * 3 }, serverCpu: 2)
        let after = Self.result(values: (1...2000).map { UInt64($0) * 2 }, serverCpu: 1)
        let comparison = LoadComparison(runs: [("before", before), ("after", after)])
        let table = comparison.table()
        #expect(table.contains("before"))
        #expect(table.contains("after"))
        #expect(table.split(separator: "\n").count == 3)
        let html = comparison.html()
        #expect(html.contains(">before: Escalate<"))
        #expect(html.contains(">after: Escalate<"))
        #expect(html.contains("id=\"percentile-spectrum\""))
        #expect(html.contains("99.999%"))
    }

    @Test("the contact scenario's header says contacts/s for its target and achieved rate, calls/s apart")
    func contactHeader() {
        var result = Self.result(values: (1...1000).map { UInt64($0) })
        var contacts = MethodStats(name: "Contact")
        for value in 1...500 { contacts.record(corrected: UInt64(value), uncorrected: UInt64(value), code: 0) }
        result.steps[0].methods.append(contacts)
        result.steps[0].targetRate = 50
        #expect(result.table().contains("target 50 contacts/s, achieved 50 contacts/s (100 calls/s)"))
    }

    @Test func tableShowsEveryColumn() {
        let table = Self.result(values: (1...100).map { UInt64($0) * 1000 }, errors: 1).table()
        #expect(table.contains("p99.9 ms"))
        #expect(table.contains("Escalate"))
        #expect(table.contains("DEADLINE_EXCEEDED 1"))
    }
}

/// What each second records for the report's charts.
@Suite struct IntervalTests {
    @Test("a second keeps each method's latencies and the errors by code, and seconds of several loops add up")
    func perMethodAndErrors() {
        let plan = RatePlan.steps([1000], stepDuration: 10, warmup: 0)
        let a = LoopRecorder(plan: plan)
        let b = LoopRecorder(plan: plan)
        for (recorder, base) in [(a, UInt64(1_000)), (b, UInt64(5_000))] {
            for index in 0..<10 {
                recorder.sent(lag: 0)
                recorder.completed(.escalate, intended: 0, sent: 0, now: base + UInt64(index), code: 0)
            }
            recorder.sent(lag: 0)
            recorder.completed(.fileComplaint, intended: 0, sent: 0, now: 9_000, code: 4)
        }
        a.contactEnded(intended: 0, sent: 0, now: 2_000, code: 0)
        var second = a.takeInterval()
        second.add(b.takeInterval())
        #expect(second.completed == 22)
        #expect(second.errors == 2)
        #expect(second.errorsByCode == [4: 2])
        #expect(second.contacts == 1)
        #expect(second.methods[MetricKey.escalate.rawValue]?.totalCount == 20)
        #expect(second.methods[MetricKey.fileComplaint.rawValue]?.totalCount == 2)
        #expect(second.methods[MetricKey.retain.rawValue] == nil)
        // A new second starts empty.
        #expect(a.takeInterval().methods.allSatisfy { $0 == nil })
    }
}
