import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Lets at most `linesPerWindow` lines through per window and counts the rest, so that a
/// peer failing on purpose (4,000 bad HELLOs a second) cannot flood the log. The first line
/// let through after a window that suppressed some is preceded by one "N more suppressed".
final class LogRateLimiter: Sendable {
    private struct State {
        var windowStart: Int64 = 0
        var inWindow = 0
        var suppressed = 0
    }

    private let state = NIOLockedValueBox(State())
    private let linesPerWindow: Int
    private let windowNanos: Int64
    /// What the lines are about, for the "N more suppressed" line.
    private let what: String

    init(linesPerWindow: Int = 10, window: TimeAmount = .seconds(1), what: String = "connection failures") {
        self.linesPerWindow = linesPerWindow
        self.windowNanos = window.nanoseconds
        self.what = what
    }

    /// Logs `message` at `level` unless this window's lines are spent.
    func log(_ logger: Logger, _ level: Logger.Level, _ message: @autoclosure () -> Logger.Message, metadata: @autoclosure () -> Logger.Metadata) {
        let now = Int64(NIODeadline.now().uptimeNanoseconds)
        let suppressedBefore: Int? = self.state.withLockedValue { state in
            if now - state.windowStart >= self.windowNanos {
                state.windowStart = now
                state.inWindow = 0
            }
            guard state.inWindow < self.linesPerWindow else {
                state.suppressed += 1
                return nil
            }
            state.inWindow += 1
            defer { state.suppressed = 0 }
            return state.suppressed
        }
        guard let suppressedBefore else { return }
        if suppressedBefore > 0 {
            logger.log(level: level, "\(suppressedBefore) more \(self.what) suppressed (rate limit)")
        }
        logger.log(level: level, message(), metadata: metadata())
    }
}
