import ClaimlineLoad
import Testing

/// The open-loop timeline: intended send times are pure arithmetic, so they are pinned exactly.
@Suite struct ScheduleTests {
    @Test func singleRateGivesExactlyIOverR() {
        let plan = RatePlan.steps([1000], stepDuration: 10, warmup: 0)
        var hint = 0
        for i in [0, 1, 2, 3, 999, 1000, 4321, 9999] {
            #expect(plan.intendedOffset(ofCall: i, hint: &hint) == Double(i) / 1000)
        }
        #expect(plan.intendedOffset(ofCall: 10_000, hint: &hint) == nil)
        #expect(plan.totalCalls == 10_000)
    }

    @Test func connectionsShareTheTimelineRoundRobin() {
        let plan = RatePlan.steps([300], stepDuration: 1, warmup: 0)
        var due: [UInt64] = []
        for c in 0..<3 {
            var schedule = OpenLoopSchedule(plan: plan, offset: c, stride: 3)
            while let (index, at) = schedule.advance() {
                #expect(index % 3 == c)
                #expect(at == OpenLoopSchedule.nanos(Double(index) / 300))
                due.append(at)
            }
        }
        #expect(due.count == 300)
        #expect(Set(due).count == 300)
        // t0 + i/R in whole nanoseconds, e.g. i = 1 at 3,333,333 ns.
        #expect(due.sorted()[1] == 3_333_333)
    }

    @Test func warmupAndStepsContinueTheTimeline() {
        let plan = RatePlan.steps([100, 200, 400], stepDuration: 2, warmup: 1)
        #expect(plan.segments.map(\.measured) == [false, true, true, true])
        #expect(plan.warmup == 1)
        #expect(plan.totalDuration == 7)
        #expect(plan.totalCalls == 100 + 200 + 400 + 800)
        var hint = 0
        // Warm-up at the first rate: calls 0..<100 in [0, 1).
        #expect(plan.intendedOffset(ofCall: 50, hint: &hint) == 0.5)
        // Step 1 (100/s) starts at 1 s with call 100.
        #expect(plan.intendedOffset(ofCall: 100, hint: &hint) == 1.0)
        #expect(plan.intendedOffset(ofCall: 299, hint: &hint) == 1.0 + 199.0 / 100)
        // Step 2 (200/s) starts at 3 s with call 300.
        #expect(plan.intendedOffset(ofCall: 300, hint: &hint) == 3.0)
        #expect(plan.intendedOffset(ofCall: 301, hint: &hint) == 3.0 + 1.0 / 200)
        // Step 3 (400/s) starts at 5 s with call 700.
        #expect(plan.intendedOffset(ofCall: 700, hint: &hint) == 5.0)
        #expect(plan.intendedOffset(ofCall: 1499, hint: &hint) == 5.0 + 799.0 / 400)
        #expect(plan.segmentIndex(atOffset: 0.99) == 0)
        #expect(plan.segmentIndex(atOffset: 3.5) == 2)
        #expect(plan.segmentIndex(atOffset: 7.0) == nil)
    }

    @Test func rampClimbsLinearly() {
        let plan = RatePlan.ramp(from: 100, to: 500, duration: 4, pieceDuration: 1, warmup: 0)
        #expect(plan.segments.count == 4)
        #expect(plan.segments.map(\.fromRate) == [100, 200, 300, 400])
        #expect(plan.segments.map(\.toRate) == [200, 300, 400, 500])
        // Calls: the area under the rate, (100 + 500) / 2 · 4 s.
        #expect(plan.totalCalls == 1200)
        var hint = 0
        var previous = -1.0
        var times: [Double] = []
        for i in 0..<plan.totalCalls {
            let t = plan.intendedOffset(ofCall: i, hint: &hint)!
            #expect(t > previous)
            previous = t
            times.append(t)
            // The ramp's counting function N(t) = 100 t + 50 t² gives back i.
            #expect(abs(100 * t + 50 * t * t - Double(i)) < 1e-6)
        }
        // Spacing 1/rate at both ends.
        #expect(abs((times[1] - times[0]) - 1.0 / 100) < 1e-4)
        #expect(abs((times[1199] - times[1198]) - 1.0 / 500) < 1e-4)
    }

    @Test func correctedLatencyIsFromIntendedTime() {
        // Intended at 1.000 s, sent late at 1.300 s, answered at 1.301 s.
        #expect(Latency.corrected(intended: 1_000_000_000, completed: 1_301_000_000) == 301_000)
        #expect(Latency.uncorrected(sent: 1_300_000_000, completed: 1_301_000_000) == 1_000)
        #expect(Latency.corrected(intended: 5, completed: 5) == 1)
    }

    @Test func durationsParse() throws {
        #expect(try DurationText.seconds("30s") == 30)
        #expect(try DurationText.seconds("500ms") == 0.5)
        #expect(try DurationText.seconds("2m") == 120)
        #expect(try DurationText.seconds("7") == 7)
        #expect(throws: LoadConfigurationError.self) { try DurationText.seconds("fast") }
    }
}
