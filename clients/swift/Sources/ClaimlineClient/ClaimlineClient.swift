import ClaimlineCodec
import ClaimlineCore
import ClaimlineWire
import NIOCore
import NIOPosix
import Synchronization

/// The reference Claimline client: typed async calls over a pool of multiplexed connections,
/// with per-call deadlines, failover between the instances of a deployment and retries only
/// where they are safe, all by PROTOCOL.md 8.1's algorithm (``CallPlan`` and ``AddressBook``
/// in ClaimlineWire, the same the CLI and the load harness use).
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
    let book: SharedAddressBook
    /// Per address, its `connections` slots.
    private let slots: [[ConnectionSlot]]
    private let next = Atomic<Int>(0)

    public init(configuration: ClaimlineClientConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.group = group
        let addresses = configuration.addresses.isEmpty ? [ClaimlineAddress(host: "127.0.0.1", port: 7400)] : configuration.addresses
        self.book = SharedAddressBook(addresses: addresses, settings: configuration.failover)
        self.slots = addresses.map { address in
            (0..<max(1, configuration.connections)).map { _ in ConnectionSlot(address: address, configuration: configuration, group: group) }
        }
    }

    /// Where the client talks now, which instance answered last, how often it moved.
    public var diagnostics: ClaimlineClientDiagnostics { self.book.diagnostics }

    /// The instance that answered the last successful call; nil before the first.
    public var lastServedAddress: ClaimlineAddress? { self.diagnostics.lastServedAddress }

    /// How many times the client moved to another address because the current one failed.
    public var failovers: Int { self.diagnostics.failovers }

    /// Closes every connection; calls after this fail UNAVAILABLE.
    public func close() async {
        for slot in self.slots.joined() { await slot.close() }
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

    /// One logical call (PROTOCOL.md 8.1): attempts on the pool, planned by a ``CallPlan``,
    /// until one answers, the call may not be sent again, or `timeout` (the whole call's
    /// budget, retries included) cannot hold another attempt. The request is sent unchanged on
    /// every attempt, on whichever instance, so a write's idempotency key is the same each time.
    ///
    /// The error tells the truth: a write any of whose attempts may have been applied ends
    /// UNAVAILABLE OUTCOME_UNKNOWN (retry with the same key), whatever later attempts said; a
    /// call that reached no instance ends UNAVAILABLE CONNECT_FAILED naming them all.
    public func call<Request: ProtobufCMessage, Response: ProtobufCMessage>(
        _ method: Method,
        _ request: Request,
        as: Response.Type,
        timeout: Duration? = nil
    ) async throws -> Response {
        let budget = timeout ?? self.configuration.defaultTimeout
        var plan = CallPlan(kind: Self.kind(method, request), start: Self.now(), budget: budget.failoverNanoseconds)
        var lastError: RPCError?
        while true {
            let now = Self.now()
            let step = self.book.withLock { plan.next(now: now, book: &$0) }
            guard case .attempt(let attempt) = step else {
                throw self.finalError(step, plan: plan, last: lastError, method: method, budget: budget)
            }
            if attempt.at > now { try await Task.sleep(nanoseconds: attempt.at - now) }
            let result = try await self.attempt(attempt, method, request, as: Response.self)
            let ended = Self.now()
            switch result {
            case .success(let response):
                self.book.withLock { plan.record(attempt, outcome: .answer, now: ended, book: &$0) }
                self.book.served(attempt.address)
                return response
            case .failure(let failure):
                if failure.error.reason == ClientReason.clientClosed { throw failure.error }
                let server = failure.outcome.isServerStatus ? (code: failure.error.code, reason: failure.error.reason) : nil
                self.book.withLock {
                    plan.record(attempt, outcome: failure.outcome, now: ended, retryAfterMs: failure.error.retryAfterMs, status: server, book: &$0)
                }
                if failure.outcome == .answer { throw failure.error }
                lastError = failure.error
            }
        }
    }

    /// What a call may send again: a write without an idempotency key (only possible through
    /// ``call(_:_:as:timeout:)``: the typed methods make one) only when it was certainly not
    /// applied.
    static func kind<Request>(_ method: Method, _ request: Request) -> FailoverCallKind {
        guard method.isWrite else { return .read }
        guard let keyed = request as? any IdempotentRequest, !keyed.idempotencyKey.isEmpty else { return .keylessWrite }
        return .write
    }

    /// The planner's clock: monotonic nanoseconds, the event loops' own.
    static func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

    /// A fresh idempotency key: a random UUID (version 4), generated once per logical call.
    public static func newIdempotencyKey() -> String {
        var random = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &random) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
        return [hex[0..<4], hex[4..<6], hex[6..<8], hex[8..<10], hex[10..<16]].map { $0.joined() }.joined(separator: "-")
    }

    /// One of `address`'s slots, spread by an atomic counter.
    func slot(for address: Int) -> ConnectionSlot {
        let index = self.next.wrappingAdd(1, ordering: .relaxed).oldValue
        let slots = self.slots[address]
        return slots[(index & Int.max) % slots.count]
    }
}
