import ClaimlineCore
import ClaimlineWire
import Testing

/// PROTOCOL.md 8.1 as data: every scenario of `proto/failover/scenarios.json` replayed against
/// the Swift planner (``CallPlan`` and ``AddressBook``), the one the Swift client, the CLI and
/// the load harness use. The C and Python clients replay the same file against theirs.
@Suite("Failover scenarios (PROTOCOL.md 8.1)")
struct FailoverScenarioTests {
    static let file: FailoverScenarioFile? = try? FailoverScenarioFile.load()
    static var scenarios: [FailoverScenarioFile.Scenario] { Self.file?.scenarios ?? [] }

    static func ms(_ value: UInt64) -> UInt64 { value * 1_000_000 }

    @Test("The table is there and uses the client's defaults")
    func tableUsesTheDefaults() throws {
        let file = try FailoverScenarioFile.load()
        #expect(file.version == 1)
        #expect(!file.scenarios.isEmpty)
        let defaults = FailoverSettings()
        func ms(_ duration: Duration) -> Int { Int(duration.failoverNanoseconds / 1_000_000) }
        let expected = FailoverScenarioFile.Settings(
            attempt_timeout_ms: ms(defaults.attemptTimeout), connect_timeout_ms: ms(defaults.connectTimeout),
            keepalive_interval_ms: ms(defaults.keepaliveInterval), keepalive_timeout_ms: ms(defaults.keepaliveTimeout),
            idle_keepalive_ms: ms(defaults.idleKeepalive), suspect_base_ms: ms(defaults.suspectBase), suspect_max_ms: ms(defaults.suspectMax),
            backoff_initial_ms: ms(defaults.backoffInitial), backoff_max_ms: ms(defaults.backoffMax))
        #expect(file.settings == expected)
    }

    @Test("Every outcome and every call kind is exercised by the table")
    func everythingIsExercised() throws {
        let file = try FailoverScenarioFile.load()
        let outcomes = Set(file.scenarios.flatMap { $0.calls.flatMap { $0.attempts.map(\.outcome) } })
        #expect(outcomes == Set(FailoverOutcome.allCases.map(\.rawValue)))
        #expect(Set(file.scenarios.flatMap { $0.calls.map(\.kind) }) == Set(FailoverCallKind.allCases.map(\.rawValue)))
    }

    @Test("Scenario", arguments: Self.scenarios)
    func replay(_ scenario: FailoverScenarioFile.Scenario) throws {
        let file = try #require(Self.file)
        let jitter = file.jitter
        var book = AddressBook(count: scenario.addresses)
        for (number, call) in scenario.calls.enumerated() {
            let kind = try #require(FailoverCallKind(rawValue: call.kind), "unknown kind \(call.kind)")
            var plan = CallPlan(kind: kind, start: Self.ms(call.start_ms), budget: Self.ms(call.budget_ms), jitter: { jitter })
            var now = Self.ms(call.start_ms)
            for (index, expected) in call.attempts.enumerated() {
                let label = "\(scenario.name), call \(number + 1), attempt \(index + 1)"
                guard case .attempt(let attempt) = plan.next(now: now, book: &book) else {
                    Issue.record("\(label): the call ended early")
                    return
                }
                #expect(attempt.address == expected.address, "\(label): address")
                #expect(attempt.at == Self.ms(expected.at_ms), "\(label): at \(Double(attempt.at) / 1e6) ms")
                #expect(attempt.timeout == Self.ms(expected.timeout_ms), "\(label): timeout \(Double(attempt.timeout) / 1e6) ms")
                let outcome = try #require(FailoverOutcome(rawValue: expected.outcome), "unknown outcome \(expected.outcome)")
                let after = outcome == .attemptTimeout ? attempt.timeout : Self.ms(try #require(expected.after_ms, "\(label): after_ms"))
                now = attempt.at + after
                let status = expected.status.map { (code: StatusCode(rawValue: $0.code), reason: $0.reason) }
                plan.record(attempt, outcome: outcome, now: now, retryAfterMs: expected.retry_after_ms ?? 0, status: status, book: &book)
            }
            let end = plan.next(now: now, book: &book)
            if call.result.answer == true {
                #expect(end == .answered, "\(scenario.name), call \(number + 1): \(end)")
            } else {
                let code = StatusCode(rawValue: try #require(call.result.code))
                #expect(end == .failed(code: code, reason: try #require(call.result.reason)), "\(scenario.name), call \(number + 1)")
            }
        }
    }
}
