import ClaimlineCore
import ClaimlinePolicy
import ClaimlineStore
import ClaimlineWire
import CoreMetrics
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The Claimline service: listens, authenticates, routes calls to the group-commit writer and
/// the readers, and shuts down gracefully (stop accepting, GOAWAY to every connection, let
/// in-flight calls finish within the grace period, close the store cleanly).
///
/// A `Service`: the executable runs it in a `ServiceGroup`, which turns SIGTERM and SIGINT
/// into a graceful shutdown. Tests run it directly and call ``shutdown()``.
///
/// Shutdown, after hummingbird's server: NIOExtras' `ServerQuiescingHelper` closes the listening
/// socket and sends every connection a `ChannelShouldQuiesceEvent` (each answers with GOAWAY and
/// closes once its calls are answered); its promise completes when the last one has closed, or
/// the grace period closes the rest. No polling, no unstructured task.
public actor ClaimlineServer: Service {
    /// Where the server is in its life; `run()` moves it forward, once.
    private enum State {
        case idle
        case running(any Channel)
        case stopping
        case stopped
    }

    /// The same, readable from any thread for `/readyz` (the actor's state is not).
    private enum Phase {
        case starting, listening, draining, stopped
    }

    private let configuration: ServerConfiguration
    private let host: String
    private let port: Int
    private let group: any EventLoopGroup
    private let logger: Logger
    private let writer: GroupCommitWriter
    private let readers: ReaderPool
    private nonisolated let prober: StoreProber
    /// Sockets both listeners may hold: set when the server starts, once the store holds its
    /// descriptors.
    private var socketBudget = SocketBudget(limit: Int(Int32.max))
    private nonisolated let registry: ConnectionRegistry
    private let authenticator: Authenticator
    public nonisolated let policy: PolicyHolder
    private nonisolated let metrics: ServerMetrics
    private let admin: AdminEndpoint?
    private var adminChannel: (any Channel)?
    private nonisolated let phase = NIOLockedValueBox(Phase.starting)

    private var state = State.idle
    private var addressWaiters: [CheckedContinuation<SocketAddress, any Error>] = []
    private nonisolated let quiescing: ServerQuiescingHelper
    /// Completes when every connection has closed after the shutdown began.
    private nonisolated let quiesced: EventLoopPromise<Void>

    /// - Parameters:
    ///   - clock: Unix time in milliseconds; tests pass their own.
    ///   - admin: the admin listener (metrics, probes); nil for none.
    ///   - metricsFactory: where metrics go (the executable's Prometheus; tests pass their own).
    ///   - policyLoader: reads the policy file again, for ReloadPolicy and SIGHUP.
    public init(
        configuration: ServerConfiguration,
        backend: any ClaimStoreBackend,
        policy: Policy,
        host: String = "127.0.0.1",
        port: Int = 7400,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        readerThreads: Int = 2,
        logger: Logger,
        clock: @escaping @Sendable () -> Int64 = { WallClock.nowMs },
        admin: AdminEndpoint? = nil,
        metricsFactory: any MetricsFactory = MetricsSystem.factory,
        policyLoader: (@Sendable () throws -> Policy)? = nil,
        waitForStore: Bool = true
    ) {
        self.metrics = ServerMetrics(factory: metricsFactory)
        self.admin = admin
        self.configuration = configuration
        self.host = host
        self.port = port
        self.group = group
        self.logger = logger
        self.policy = PolicyHolder(policy, load: policyLoader)
        self.writer = GroupCommitWriter(
            backend: backend,
            policy: self.policy,
            settings: .init(maxBatch: configuration.maxBatch, retention: configuration.retention, waitForStore: waitForStore),
            clock: clock,
            logger: logger,
            metrics: self.metrics
        )
        self.readers = ReaderPool(backend: backend, threads: readerThreads, maxAnswerBytes: configuration.limits.maxFrameSize)
        self.prober = StoreProber(backend: backend, logger: logger)
        let limits = configuration.limits
        self.registry = ConnectionRegistry(
            limits: .init(
                maxConnections: limits.maxConnections,
                maxPendingHandshakes: limits.maxPendingHandshakes,
                maxPendingHandshakesPerAddress: limits.maxPendingHandshakesPerAddress,
                maxConnectionsPerAddress: limits.maxConnectionsPerAddress,
                maxConnectionsPerClient: limits.maxConnectionsPerClient
            )
        )
        self.authenticator = Authenticator(configuration.clients)
        self.quiescing = ServerQuiescingHelper(group: group)
        self.quiesced = group.next().makePromise()
    }

    /// A server that never ran, or whose start failed, still completes its promise: NIO traps
    /// on a promise left unfulfilled (in debug builds), which turned every failed start into a
    /// crash (SIGILL) that hid the reason (the suite's "trap before listening").
    deinit {
        self.quiesced.succeed(())
    }

    public func run() async throws {
        guard case .idle = self.state else { throw ServerError("run() may be called once") }
        try self.writer.start()
        self.readers.start()
        self.prober.start()
        self.socketBudget = SocketBudget.forProcess(reserve: self.configuration.limits.fileDescriptorReserve)
        self.logger.info("socket budget", metadata: ["sockets.max": "\(self.socketBudget.limit)"])
        let channel: any Channel
        do {
            channel = try await self.bind()
        } catch {
            self.failAddressWaiters(error)
            try await self.stopWorkers()
            throw error
        }
        self.state = .running(channel)
        if let admin = self.admin {
            do {
                self.adminChannel = try await self.bindAdmin(admin)
                self.logger.info("admin listening", metadata: ["admin.address": "\(self.adminChannel?.localAddress.map { "\($0)" } ?? "?")"])
            } catch {
                self.failAddressWaiters(error)
                try? await channel.close()
                try await self.stopWorkers()
                throw error
            }
        }
        self.phase.withLockedValue { $0 = .listening }
        let address = channel.localAddress!
        self.logger.info("listening", metadata: ["server.address": "\(address)", "tls": "\(self.configuration.tls != nil)"])
        for waiter in self.addressWaiters { waiter.resume(returning: address) }
        self.addressWaiters.removeAll()

        try await withGracefulShutdownHandler {
            try await channel.closeFuture.get()
        } onGracefulShutdown: {
            self.shutdown()
        }
        try await self.drainAndStop()
    }

    /// Where the admin listener listens (nil without one), once the server runs.
    public func adminAddress() async throws -> SocketAddress? {
        _ = try await self.listeningAddress()
        return self.adminChannel?.localAddress
    }

    /// `GET /readyz`: listening, and the store takes writes.
    public nonisolated func readiness() -> Readiness {
        switch self.phase.withLockedValue({ $0 }) {
        case .starting: return .notReady("starting")
        case .draining: return .notReady("draining: shutting down")
        case .stopped: return .notReady("stopped")
        case .listening: break
        }
        switch self.writer.currentHealth {
        case .up: break
        case .reconnecting: return .notReady("store unavailable: reconnecting")
        case .failed: return .notReady("store failed: writes refused until a restart")
        }
        // The writer's view is as old as its last batch: the prober asks the store even when no
        // call comes, and a batch stuck on the store shows before its query timeout ends it.
        if let why = self.prober.notAnswering() { return .notReady(why) }
        if let stalled = self.writer.stalledMs(), stalled > 750 {
            return .notReady("store not answering: the writer has waited \(stalled) ms for a batch")
        }
        return .ready
    }

    /// Raises the process's soft open-file limit to its hard limit; the limit in force after.
    /// (The executable calls it at start; the server then keeps ``ServerConfiguration/Limits/fileDescriptorReserve``
    /// of it free for the store.)
    public static func raiseOpenFileLimit() -> Int { SocketBudget.raiseOpenFileLimit() }

    /// Where the server listens, once it does (for tests binding port 0).
    public func listeningAddress() async throws -> SocketAddress {
        if case .running(let channel) = self.state, let address = channel.localAddress { return address }
        return try await withCheckedThrowingContinuation { self.addressWaiters.append($0) }
    }

    /// Connections refused or evicted since the start, by GOAWAY reason.
    public nonisolated var connectionRefusals: [String: Int] {
        Dictionary(uniqueKeysWithValues: self.registry.refusals.map { ($0.key.rawValue, $0.value) })
    }

    /// Sockets connected that have not completed the HELLO exchange.
    public nonisolated var pendingHandshakes: Int { self.registry.pendingCount }

    /// Starts a graceful shutdown: stop accepting, GOAWAY to every connection. ``run()``
    /// returns when it is complete. Safe to call more than once, from anywhere.
    public nonisolated func shutdown() {
        self.phase.withLockedValue { if $0 != .stopped { $0 = .draining } }
        self.logger.info("shutting down: no new connections")
        self.quiescing.initiateShutdown(promise: self.quiesced)
    }

    private func drainAndStop() async throws {
        self.state = .stopping
        self.phase.withLockedValue { $0 = .draining }
        // The listening socket may have closed for another reason: quiesce all the same.
        self.quiescing.initiateShutdown(promise: self.quiesced)
        let registry = self.registry
        let logger = self.logger
        let grace = self.group.next().scheduleTask(in: .milliseconds(self.configuration.limits.shutdownGracePeriodMs)) {
            logger.info("grace period over; closing connections", metadata: ["connections": "\(registry.count)"])
            registry.closeAll()
        }
        try? await self.quiesced.futureResult.get()
        grace.cancel()
        // The workers finish what they hold (a batch, a probe, a reconnection), each bounded
        // by the store's own timeouts; a store that outlives even those (a database gone in
        // the middle of a close) must not keep the process from exiting: what was not answered
        // was not acknowledged.
        let stopped = try await Self.within(.seconds(15)) { try await self.stopWorkers() }
        if !stopped { self.logger.error("the store's workers did not stop within 15 s; exiting without them") }
        // The admin listener last: /readyz says "draining" until the very end.
        try? await self.adminChannel?.close()
        self.phase.withLockedValue { $0 = .stopped }
        self.state = .stopped
        self.logger.info("stopped")
    }

    /// Runs `body`, waiting at most `limit`: false when it did not finish in time (it goes on
    /// unwaited for).
    private static func within(_ limit: Duration, _ body: @escaping @Sendable () async throws -> Void) async throws -> Bool {
        let answered = NIOLockedValueBox(false)
        return await withCheckedContinuation { continuation in
            let resume: @Sendable (Bool) -> Void = { finished in
                let first = answered.withLockedValue { done in
                    defer { done = true }
                    return !done
                }
                if first { continuation.resume(returning: finished) }
            }
            Task {
                try? await body()
                resume(true)
            }
            Task {
                try? await Task.sleep(for: limit)
                resume(false)
            }
        }
    }

    private func stopWorkers() async throws {
        try await self.writer.stop()
        try await self.readers.stop()
        try await self.prober.stop()
    }

    private func failAddressWaiters(_ error: any Error) {
        for waiter in self.addressWaiters { waiter.resume(throwing: error) }
        self.addressWaiters.removeAll()
    }

    private func bind() async throws -> any Channel {
        let limits = self.configuration.limits
        let settings = ConnectionHandler.Settings(
            serverName: self.configuration.serverName,
            maxFrameSize: limits.maxFrameSize,
            maxConcurrentStreams: limits.maxConcurrentStreams,
            handshakeTimeout: .milliseconds(limits.handshakeTimeoutMs),
            keepaliveInterval: .milliseconds(limits.keepaliveIntervalMs),
            idleTimeout: .milliseconds(limits.idleTimeoutMs),
            maxDeadline: .milliseconds(limits.maxDeadlineMs),
            bufferBytes: limits.connectionBufferBytes,
            maxReadsInProgress: limits.maxReadsInProgressPerConnection
        )
        let shared = ConnectionHandler.Shared(
            authenticator: self.authenticator,
            router: CallRouter(writer: self.writer, readers: self.readers),
            registry: self.registry,
            failureLog: LogRateLimiter(),
            logger: self.logger,
            metrics: self.metrics
        )
        let sessions = SessionIDs()
        let quiescing = self.quiescing
        let tls = try self.configuration.tls.map { settings throws(TLSSetupError) in try ServerTLS(settings) }
        let logger = self.logger
        let plainRefusals = LogRateLimiter(what: "TLS failures")
        let metrics = self.metrics
        // NIO's outbound buffer gets half the connection's budget (ConnectionHandler).
        let waterMark = ChannelOptions.Types.WriteBufferWaterMark(
            low: limits.connectionBufferBytes / 4, high: limits.connectionBufferBytes / 2
        )
        let budget = self.socketBudget
        return try await ServerBootstrap(group: self.group)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                    try channel.pipeline.syncOperations.addHandler(budget.makeServerChannelHandler(channel: channel))
                }
            }
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            // Each channel keeps its last receive buffer for the next read: start it small (an
            // idle connection holds 512 bytes, not 2 KiB); a busy one grows it as it reads more.
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536))
            .childChannelOption(.writeBufferWaterMark, value: waterMark)
            // A peer that shuts its write side still gets the answers to what it sent.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        let address = channel.remoteAddress?.ipAddress ?? "unknown"
                        try channel.pipeline.syncOperations.addHandler(
                            TLSDetector(
                                tls: tls,
                                onPlainClient: {
                                    metrics.handshakeFailed(Reason.tlsRequired)
                                    plainRefusals.log(
                                        logger, .notice, "plain-TCP client on the TLS port: GOAWAY TLS_REQUIRED",
                                        metadata: ["peer.address": "\(address)"]
                                    )
                                },
                                onHandshakeFailure: { why in
                                    metrics.handshakeFailed("TLS_HANDSHAKE")
                                    plainRefusals.log(
                                        logger, .notice, "TLS handshake failed",
                                        metadata: ["peer.address": "\(address)", "tls.error": "\(LogSafe.escape(why, maxScalars: 200))"]
                                    )
                                }
                            )
                        )
                    }
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(FrameDecoder(role: .server, maxPayload: settings.maxFrameSize)),
                        ConnectionHandler(settings: settings, shared: shared, sessionID: sessions.next())
                    )
                }
            }
            .bind(host: self.host, port: self.port)
            .get()
    }
}

extension ClaimlineServer {
    /// The admin listener (HTTP/1.1): metrics and probes, bounded like the service port: at
    /// most `maxAdminConnections` (one more is answered 503 and closed), a small write buffer
    /// (``AdminHTTPHandler`` answers only while the socket takes it), closed after
    /// `adminIdleTimeoutMs` without a request, and its sockets count toward the process's
    /// ``SocketBudget``.
    private func bindAdmin(_ admin: AdminEndpoint) async throws -> any Channel {
        let routes = AdminHTTPHandler.Routes(metrics: admin.metrics, readiness: { [weak self] in self?.readiness() ?? .notReady("stopped") })
        let limits = self.configuration.limits
        let cap = AdminConnectionCap(limit: limits.maxAdminConnections)
        let idle = TimeAmount.milliseconds(limits.adminIdleTimeoutMs)
        let budget = self.socketBudget
        return try await ServerBootstrap(group: self.group)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(budget.makeServerChannelHandler(channel: channel))
                }
            }
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 16 << 10, high: 64 << 10))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard cap.admit(channel) else {
                        try channel.pipeline.syncOperations.addHandler(AdminConnectionCap.Refusal(limit: cap.limit))
                        return
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandlers(
                        IdleStateHandler(readTimeout: idle), AdminIdleCloser(), AdminHTTPHandler(routes: routes)
                    )
                }
            }
            .bind(host: admin.host, port: admin.port)
            .get()
    }
}

/// Closes an admin connection its peer left idle.
private final class AdminIdleCloser: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

/// A misuse of the server's lifecycle.
public struct ServerError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
