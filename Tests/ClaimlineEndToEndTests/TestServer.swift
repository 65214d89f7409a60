import ClaimlineClient
import ClaimlineCore
import ClaimlinePolicy
import ClaimlineServer
import ClaimlineStore
import ClaimlineStoreSQLite
import Foundation
import Logging
import Metrics
import NIOCore

/// A claimlined in this process on 127.0.0.1 and an ephemeral port, with one client of each
/// role, for end-to-end tests over real TCP.
final class TestServer: Sendable {
    static let tokens: [Role: String] = [
        .admin: "test-admin-token", .ivr: "test-ivr-token", .agent: "test-agent-token", .supervisor: "test-supervisor-token",
    ]

    let server: ClaimlineServer
    let port: Int
    private let task: Task<Void, any Error>

    static func configuration(_ adjust: (inout ServerConfiguration) -> Void = { _ in }) -> ServerConfiguration {
        var configuration = ServerConfiguration(
            clients: Role.allCases.map { ServerConfiguration.Client(name: "test-\($0.rawValue)", token: tokens[$0]!, role: $0) }
        )
        configuration.limits.shutdownGracePeriodMs = 2000
        adjust(&configuration)
        return configuration
    }

    static func start(
        backend: any ClaimStoreBackend = InMemoryStoreBackend(),
        policy: Policy = .default,
        configuration: ServerConfiguration = TestServer.configuration(),
        port: Int = 0,
        admin: AdminEndpoint? = nil,
        metricsFactory: (any MetricsFactory)? = nil,
        policyLoader: (@Sendable () throws -> Policy)? = nil
    ) async throws -> TestServer {
        var logger = Logger(label: "test-claimlined")
        logger.logLevel = .warning
        let server = ClaimlineServer(
            configuration: configuration, backend: backend, policy: policy, host: "127.0.0.1", port: port, logger: logger,
            admin: admin, metricsFactory: metricsFactory ?? NOOPMetricsHandler.instance, policyLoader: policyLoader
        )
        let task = Task { try await server.run() }
        let address = try await server.listeningAddress()
        return TestServer(server: server, port: address.port!, task: task)
    }

    private init(server: ClaimlineServer, port: Int, task: Task<Void, any Error>) {
        self.server = server
        self.port = port
        self.task = task
    }

    func connect(_ role: Role = .admin) async throws -> ClaimlineConnection {
        try await ClaimlineConnection.connect(host: "127.0.0.1", port: self.port, token: Self.tokens[role]!, clientName: "test-\(role.rawValue)")
    }

    /// Graceful shutdown, and waits until the server has stopped.
    func stop() async throws {
        await self.server.shutdown()
        try await self.task.value
    }
}

/// A fresh folder under the system's temporary directory, removed by `remove()`.
struct TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        self.path = NSTemporaryDirectory() + "claimline-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: self.path, withIntermediateDirectories: true)
    }

    var database: String { self.path + "/claimline.db" }

    func remove() { try? FileManager.default.removeItem(atPath: self.path) }
}

/// Builders for requests, with a fresh idempotency key and call id each time unless given.
enum Requests {
    static func key() -> String { UUID().uuidString }
    static func callID() -> String { "UCID-" + UUID().uuidString }

    static func subscriber(tier: ValueTier = .tier2, region: String = "77", msisdn: String = "+79161234567") -> Subscriber {
        Subscriber(msisdn: msisdn, accountId: "ACC-1", valueTier: tier, region: region)
    }

    static func escalate(
        callID: String = callID(), group: ClaimGroup = .billing, category: Category = .balanceDesync,
        tier: ValueTier = .tier2, region: String = "77", place: String = ""
    ) -> EscalateRequest {
        EscalateRequest(
            idempotencyKey: key(), callId: callID, subscriber: subscriber(tier: tier, region: region),
            category: CategoryRef(group: group, category: category), agentId: "ivr-1", placeId: place
        )
    }

    static func retain(callID: String, _ outcome: RetentionOutcome, reason: RetentionFailureReason = .unspecified) -> RetainRequest {
        RetainRequest(idempotencyKey: key(), callId: callID, outcome: outcome, failureReason: reason, agentId: "agent-7")
    }

    static func file(
        callID: String = callID(), group: ClaimGroup = .contactCentre, category: Category = .improperService,
        place: String = "MRKC-1", description: String = "Оператор прервал разговор.", reason: RetentionFailureReason = .unspecified
    ) -> FileComplaintRequest {
        FileComplaintRequest(
            idempotencyKey: key(), callId: callID, category: CategoryRef(group: group, category: category),
            subscriber: subscriber(), placeId: place, description: description, failureReason: reason, agentId: "agent-7"
        )
    }
}

extension ClaimlineConnection {
    func escalate(_ request: EscalateRequest) async throws -> EscalateResponse {
        try await self.call(.escalate, request, as: EscalateResponse.self)
    }

    func retain(_ request: RetainRequest) async throws -> RetainResponse {
        try await self.call(.retain, request, as: RetainResponse.self)
    }

    func file(_ request: FileComplaintRequest) async throws -> FileComplaintResponse {
        try await self.call(.fileComplaint, request, as: FileComplaintResponse.self)
    }

    func getClaim(_ number: String) async throws -> Claim? {
        try await self.call(.getClaim, GetClaimRequest(claimNumber: number), as: GetClaimResponse.self).claim
    }
}

/// The RPCError a call throws, or nil if it succeeded.
func rpcError(_ body: () async throws -> Void) async -> RPCError? {
    do {
        try await body()
        return nil
    } catch let error as RPCError {
        return error
    } catch {
        return RPCError(.unknown, "not an RPCError: \(error)")
    }
}
