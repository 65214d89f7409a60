import ClaimlineCore
import ClaimlineWire
import Histogram
import NIOCore

/// A well-behaved client beside an attack: one call at a time, each timed, so the report can
/// say what the attack did to everyone else.
public struct HostileProbe: Sendable {
    public struct Result: Sendable {
        public var calls = 0
        public var failures = 0
        /// Milliseconds.
        public var p50 = 0.0
        public var p99 = 0.0
        public var max = 0.0
    }

    public let host: String
    public let port: Int
    public let token: String
    /// The claim number the probe reads (GetClaim); empty: GetSecondLineMode.
    public let claimNumber: String

    public init(host: String = "127.0.0.1", port: Int, token: String, claimNumber: String = "") {
        self.host = host
        self.port = port
        self.token = token
        self.claimNumber = claimNumber
    }

    /// Calls back to back, pausing `interval` between calls, for `duration`.
    public func measure(for duration: Duration, interval: Duration = .milliseconds(20)) async throws -> Result {
        let peer = try await HostilePeer.connect(host: self.host, port: self.port)
        guard try await peer.handshake(token: self.token, clientName: "probe") else { throw HostileError("probe: HELLO refused") }
        var histogram = Histogram<UInt64>(numberOfSignificantValueDigits: .three)
        var result = Result()
        let deadline = ContinuousClock.now + duration
        while ContinuousClock.now < deadline {
            let start = ContinuousClock.now
            let frame: Frame?
            if self.claimNumber.isEmpty {
                frame = await peer.call(.getSecondLineMode, GetSecondLineModeRequest(), timeoutMs: 10_000)
            } else {
                frame = await peer.call(.getClaim, GetClaimRequest(claimNumber: self.claimNumber), timeoutMs: 10_000)
            }
            let elapsed = ContinuousClock.now - start
            result.calls += 1
            if frame?.type != .response { result.failures += 1 }
            if frame == nil { break }
            histogram.record(UInt64(elapsed.components.seconds) * 1_000_000 + UInt64(elapsed.components.attoseconds / 1_000_000_000_000))
            try await Task.sleep(for: interval)
        }
        await peer.close()
        result.p50 = Double(histogram.valueAtPercentile(50)) / 1000
        result.p99 = Double(histogram.valueAtPercentile(99)) / 1000
        result.max = Double(histogram.max) / 1000
        return result
    }
}
