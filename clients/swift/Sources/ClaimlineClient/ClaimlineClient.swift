import ClaimlineCodec
import ClaimlineCore
import NIOCore
import NIOPosix
import Synchronization

/// The reference Claimline client: typed async calls over a pool of multiplexed connections,
/// with per-call deadlines, reconnection with backoff, failover between the instances of a
/// deployment, and retries only where they are safe.
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
    private let book: AddressBook
    private let slots: [ConnectionSlot]
    private let next = Atomic<Int>(0)

    public init(configuration: ClaimlineClientConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.group = group
        let addresses = configuration.addresses.isEmpty ? [ClaimlineAddress(host: "127.0.0.1", port: 7400)] : configuration.addresses
        let book = AddressBook(addresses: addresses, backoff: configuration.failedAddressBackoff)
        self.book = book
        self.slots = (0..<max(1, configuration.connections)).map { _ in
            ConnectionSlot(configuration: configuration, group: group, book: book)
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
    /// every attempt, on whichever instance, so a write's idempotency key is the same each time.
    ///
    /// A failure that says the instance is down or going (refused or lost connection, GOAWAY,
    /// UNAVAILABLE) moves the client to the next address, and the retry goes there at once; a
    /// write sent without a key is not retried when it may have been applied (the error says so).
    public func call<Request: ProtobufCMessage, Response: ProtobufCMessage>(
        _ method: Method,
        _ request: Request,
        as: Response.Type,
        timeout: Duration? = nil
    ) async throws -> Response {
        let budget = timeout ?? self.configuration.defaultTimeout
        let deadline = ContinuousClock.now + budget
        let policy = self.configuration.retry
        let keyless = Self.isKeylessWrite(method, request)
        // Every address gets its chance, and one more, however low the policy's count.
        let maxAttempts = self.book.count > 1 ? max(policy.maxAttempts, self.book.count + 1) : policy.maxAttempts
        var attempt = 1
        while true {
            let remaining = deadline - ContinuousClock.now
            var failedIndex: Int?
            let error: RPCError
            do {
                guard remaining > .zero else {
                    throw RPCError(.deadlineExceeded, "\(method.name): no answer within \(budget)", reason: ClientReason.clientDeadline)
                }
                let slot = self.pickSlot()
                let lease: ConnectionSlot.Lease
                do {
                    lease = try await slot.lease(until: deadline, method: method)
                } catch let failure as ConnectionSlot.ConnectFailure {
                    failedIndex = failure.index  // the slot has already marked the address
                    throw failure.error
                }
                // Waiting for a connection may have used the budget; a timeout of 0 would mean
                // "the server's ceiling" on the wire, so never send one.
                let left = deadline - ContinuousClock.now
                guard left >= .milliseconds(1) else {
                    throw RPCError(.deadlineExceeded, "\(method.name): no answer within \(budget)", reason: ClientReason.clientDeadline)
                }
                do {
                    let response = try await lease.connection.call(method, request, as: Response.self, timeout: left)
                    self.book.served(lease.index)
                    return response
                } catch let failure as RPCError where self.book.count > 1 && Self.failsOver(failure) {
                    failedIndex = lease.index
                    self.book.failed(lease.index)
                    slot.abandon(lease)
                    throw failure
                }
            } catch let caught as RPCError {
                error = caught
            }
            guard policy.isRetryable(error), attempt < maxAttempts else { throw self.finalError(error) }
            if keyless && RetryPolicy.outcomeIsUnknown(error) {
                var unknown = error
                unknown.message += "; not retried: a write without an idempotency key may have been applied"
                throw unknown
            }
            attempt += 1
            let wait = self.wait(after: error, failedIndex: failedIndex, beforeAttempt: attempt)
            guard ContinuousClock.now + wait < deadline else { throw self.finalError(error) }
            if wait > .zero { try await Task.sleep(for: wait) }
        }
    }

    /// At once when the client just moved to a healthy other address (a different server need
    /// not wait for this one to recover) or when the pool itself retired the connection; else
    /// the policy's backoff, at least the server's hint.
    private func wait(after error: RPCError, failedIndex: Int?, beforeAttempt attempt: Int) -> Duration {
        if error.reason == ClientReason.connectionRetired { return .zero }
        if let failedIndex, self.book.count > 1, self.book.current != failedIndex, self.book.currentIsHealthy() { return .zero }
        return self.configuration.retry.backoff(beforeAttempt: attempt, hint: error.retryAfterMs)
    }

    /// The error a call ends with. When no instance could be reached it names them all, not
    /// just the last one tried.
    private func finalError(_ error: RPCError) -> RPCError {
        guard error.reason == ClientReason.connectFailed, self.book.count > 1 else { return error }
        var all = error
        let list = self.book.addresses.map(\.description).joined(separator: ", ")
        all.message = "no instance reachable (\(list)); last: \(error.message)"
        return all
    }

    /// A failure that says the instance is down or going, not that the call was wrong: the
    /// connection was lost or refused, the server said GOAWAY, or it answered UNAVAILABLE.
    static func failsOver(_ error: RPCError) -> Bool {
        error.code == .unavailable && error.reason != ClientReason.clientClosed && error.reason != ClientReason.connectionRetired
    }

    /// A write whose caller sent no idempotency key (only possible through ``call(_:_:as:timeout:)``:
    /// the typed methods make one): it may be retried only when it was certainly not applied.
    static func isKeylessWrite<Request>(_ method: Method, _ request: Request) -> Bool {
        guard method.isWrite else { return false }
        guard let keyed = request as? any IdempotentRequest else { return true }
        return keyed.idempotencyKey.isEmpty
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
