import ClaimlineCodec
import ClaimlineCore
import NIOCore
import NIOPosix
import Synchronization

/// The reference Claimline client: typed async calls over a pool of multiplexed connections,
/// with per-call deadlines, reconnection with backoff, and retries only where they are safe.
///
/// ```swift
/// let client = ClaimlineClient(configuration: .init(token: "dev-admin-token"))
/// let decision = try await client.escalate(request)
/// ```
///
/// `Sendable`; calls from any number of tasks spread over the pool's connections by an atomic
/// counter, so no lock serialises the callers.
public final class ClaimlineClient: Sendable {
    public let configuration: ClaimlineClientConfiguration
    private let group: any EventLoopGroup
    private let slots: [ConnectionSlot]
    private let next = Atomic<Int>(0)

    public init(configuration: ClaimlineClientConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.group = group
        self.slots = (0..<max(1, configuration.connections)).map { _ in ConnectionSlot(configuration: configuration, group: group) }
    }

    /// Closes every connection; calls after this fail UNAVAILABLE.
    public func close() async {
        for slot in self.slots { await slot.close() }
    }

    // MARK: - Calls

    // One function per method, generated from the `service` block:
    // Generated/ClaimlineClient+Methods.swift. Conveniences:

    public func getSecondLineMode(timeout: Duration? = nil) async throws -> SecondLineModeResponse {
        try await self.getSecondLineMode(GetSecondLineModeRequest(), timeout: timeout)
    }

    public func listIncidents(timeout: Duration? = nil) async throws -> ListIncidentsResponse {
        try await self.listIncidents(ListIncidentsRequest(), timeout: timeout)
    }

    public func getStats(timeout: Duration? = nil) async throws -> GetStatsResponse {
        try await self.getStats(GetStatsRequest(), timeout: timeout)
    }

    /// A write: its idempotency key, if the caller gave none, is made here once, so every
    /// attempt of this logical call carries the same one.
    func write<Request: ProtobufCMessage & IdempotentRequest, Response: ProtobufCMessage>(
        _ method: Method,
        _ request: Request,
        as: Response.Type,
        timeout: Duration?
    ) async throws -> Response {
        var request = request
        if request.idempotencyKey.isEmpty { request.idempotencyKey = Self.newIdempotencyKey() }
        return try await self.call(method, request, as: Response.self, timeout: timeout)
    }

    /// One logical call: attempts on the pool until it succeeds, fails for good, or `timeout`
    /// (the whole call's budget, retries included) runs out. The request is sent unchanged on
    /// every attempt, so a write's idempotency key is the same each time.
    public func call<Request: ProtobufCMessage, Response: ProtobufCMessage>(
        _ method: Method,
        _ request: Request,
        as: Response.Type,
        timeout: Duration? = nil
    ) async throws -> Response {
        let budget = timeout ?? self.configuration.defaultTimeout
        let deadline = ContinuousClock.now + budget
        let policy = self.configuration.retry
        var attempt = 1
        while true {
            let remaining = deadline - ContinuousClock.now
            do {
                guard remaining > .zero else {
                    throw RPCError(.deadlineExceeded, "\(method.name): no answer within \(budget)", reason: "CLIENT_DEADLINE")
                }
                let connection = try await self.pickSlot().connection()
                return try await connection.call(method, request, as: Response.self, timeout: remaining)
            } catch let error as RPCError {
                guard policy.isRetryable(error), attempt < policy.maxAttempts else { throw error }
                attempt += 1
                let wait = policy.backoff(beforeAttempt: attempt, hint: error.retryAfterMs)
                guard ContinuousClock.now + wait < deadline else { throw error }
                try await Task.sleep(for: wait)
            }
        }
    }

    /// A fresh idempotency key: a random UUID (version 4), generated once per logical call.
    public static func newIdempotencyKey() -> String {
        var random = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &random) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
        return [hex[0..<4], hex[4..<6], hex[6..<8], hex[8..<10], hex[10..<16]].map { $0.joined() }.joined(separator: "-")
    }

    private func pickSlot() -> ConnectionSlot {
        let index = self.next.wrappingAdd(1, ordering: .relaxed).oldValue
        return self.slots[(index & Int.max) % self.slots.count]
    }
}
