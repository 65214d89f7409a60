import Logging
import NIOConcurrencyHelpers
import NIOCore
import Testing

@testable import ClaimlineServer

/// Captures what a logger writes, one string per line.
struct CapturingLogHandler: LogHandler {
    let lines: NIOLockedValueBox<[String]>
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        self.lines.withLockedValue { $0.append("\(event.level) \(event.message)") }
    }
}

@Suite("Log rate limiter")
struct LogRateLimiterTests {
    @Test("At most N lines a window; the next window says how many were suppressed")
    func limits() async throws {
        let lines = NIOLockedValueBox<[String]>([])
        let logger = Logger(label: "test") { _ in CapturingLogHandler(lines: lines) }
        let limiter = LogRateLimiter(linesPerWindow: 5, window: .milliseconds(200))
        for index in 0..<1000 {
            limiter.log(logger, .notice, "failure \(index)", metadata: [:])
        }
        #expect(lines.withLockedValue { $0.count } == 5)
        try await Task.sleep(for: .milliseconds(250))
        limiter.log(logger, .notice, "after", metadata: [:])
        let all = lines.withLockedValue { $0 }
        #expect(all.count == 7)
        #expect(all[5] == "notice 995 more connection failures suppressed (rate limit)")
        #expect(all[6] == "notice after")
    }
}
