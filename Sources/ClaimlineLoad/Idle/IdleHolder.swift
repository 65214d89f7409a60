import ClaimlineCore
import ClaimlineWire
import Foundation
import NIOCore
import NIOPosix

/// Opens many authenticated connections, keeps them idle for a while, and measures what
/// they cost the server (its RSS, from /proc) — issue 14's "flat as it grows" for connections.
///
/// Handshakes go at a bounded concurrency, below the server's pending-handshake limits, so
/// none is evicted (`maxPendingHandshakes`, and per address `maxPendingHandshakesPerAddress`);
/// several loopback sources (127.0.0.x) spread them over addresses. Run a load beside it from
/// another process once `readyFile` appears, to see what the idle set does to active calls.
public struct IdleHolder: Sendable {
    public struct Settings: Sendable {
        public var host: String
        public var port: Int
        public var token: String
        public var clientName = "idle-holder"
        public var connections: Int
        /// Loopback addresses to connect from, round robin; empty: the kernel's choice.
        public var sources: [String] = []
        /// Handshakes under way at once, over all sources (each source gets its share).
        public var handshakesInFlight = 128
        public var hold: Duration
        public var serverPID: Int32?
        /// Written (with the established count) once every connection is open and measured.
        public var readyFile: String?

        public init(host: String, port: Int, token: String, connections: Int, hold: Duration) {
            self.host = host
            self.port = port
            self.token = token
            self.connections = connections
            self.hold = hold
        }
    }

    public let settings: Settings

    public init(_ settings: Settings) {
        self.settings = settings
    }

    public func run(progress: @Sendable (String) -> Void = { _ in }) async throws -> IdleResult {
        let settings = self.settings
        let address = try SocketAddress(ipAddress: settings.host, port: settings.port)
        let sources = try settings.sources.map { try SocketAddress(ipAddress: $0, port: 0) }
        let tally = IdleTally()
        let hello = Hello(clientName: settings.clientName, token: settings.token)
        let rss = { settings.serverPID.flatMap { ProcSampler.sample(pid: $0)?.rssKB } ?? 0 }
        var result = IdleResult()
        result.requested = settings.connections
        result.rssBeforeKB = rss()
        // Running out of descriptors is worse than an error here: libdispatch's thread-pool
        // monitor traps when it cannot open /proc. So open no more than the limit leaves room
        // for, and say why the rest were not tried.
        let (room, limit) = Self.descriptorRoom()
        let connections = min(settings.connections, room)
        if connections < settings.connections {
            result.fileDescriptorError =
                "not enough file descriptors for \(settings.connections) connections: this process may open \(limit.rlim_cur)"
                + " (hard limit \(limit.rlim_max)), room for \(room) after a reserve of \(Self.descriptorReserve); raise it with"
                + " `ulimit -n` (the server needs as many), or split the connections over several processes"
        }

        let opened = ContinuousClock.now
        var channels: [any Channel] = []
        channels.reserveCapacity(settings.connections)
        await withTaskGroup(of: Opened.self) { group in
            var next = 0
            var outOfDescriptors = false
            let inFlight = max(1, settings.handshakesInFlight)
            while next < min(inFlight, connections) {
                let source = sources.isEmpty ? nil : sources[next % sources.count]
                group.addTask { await Self.open(address, from: source, hello: hello, tally: tally) }
                next += 1
            }
            while let opened = await group.next() {
                switch opened {
                case .established(let channel): channels.append(channel)
                case .refused(let reason): result.refused[reason, default: 0] += 1
                case .failed(let reason, let descriptors):
                    result.connectFailures[reason, default: 0] += 1
                    outOfDescriptors = outOfDescriptors || descriptors
                }
                if (channels.count + result.refused.values.reduce(0, +)) % 1000 == 0, !channels.isEmpty {
                    progress("idle: \(channels.count) established")
                }
                if next < connections, !outOfDescriptors {
                    let source = sources.isEmpty ? nil : sources[next % sources.count]
                    group.addTask { await Self.open(address, from: source, hello: hello, tally: tally) }
                    next += 1
                }
            }
            if outOfDescriptors {
                result.fileDescriptorError =
                    "out of file descriptors (EMFILE) after \(channels.count) connections: this process may open \(limit.rlim_cur)"
                    + " (hard limit \(limit.rlim_max)); raise it with `ulimit -n` (the server needs as many), or split the"
                    + " connections over several processes"
            }
        }
        result.established = channels.count
        result.openSeconds = Self.seconds(ContinuousClock.now - opened)
        // Let the server finish what the last handshakes allocated before measuring.
        try? await Task.sleep(for: .seconds(1))
        result.rssAfterKB = rss()
        progress(
            "idle: \(channels.count)/\(settings.connections) established; holding them "
                + String(format: "%.0f", Self.seconds(settings.hold)) + " s")
        if let ready = settings.readyFile {
            try? "\(channels.count)\n".write(toFile: ready, atomically: true, encoding: .utf8)
        }

        let held = ContinuousClock.now
        while ContinuousClock.now - held < settings.hold {
            try? await Task.sleep(for: min(.seconds(1), settings.hold - (ContinuousClock.now - held)))
        }
        result.holdSeconds = Self.seconds(ContinuousClock.now - held)
        result.rssEndKB = rss()
        let counts = tally.snapshot
        result.closedDuringHold = counts.closedAfterEstablished
        result.goAwaysDuringHold = counts.goAwaysAfterEstablished
        result.pingsAnswered = counts.pingsAnswered
        result.stillOpen = channels.filter(\.isActive).count

        for chunk in stride(from: 0, to: channels.count, by: 512) {
            let closing = channels[chunk..<min(channels.count, chunk + 512)].map { $0.close() }
            for future in closing { try? await future.get() }
        }
        return result
    }

    /// Descriptors kept free for /proc, the event loops and the JSON file.
    static let descriptorReserve = 64

    /// How many more sockets fit under RLIMIT_NOFILE, and the limit.
    static func descriptorRoom() -> (room: Int, limit: rlimit) {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        let soft = limit.rlim_cur > UInt64(Int.max) ? Int.max : Int(limit.rlim_cur)
        return (max(0, soft - open - Self.descriptorReserve), limit)
    }

    private enum Opened: Sendable {
        case established(any Channel)
        case refused(String)
        case failed(String, outOfDescriptors: Bool)
    }

    private static func open(_ address: SocketAddress, from source: SocketAddress?, hello: Hello, tally: IdleTally) async -> Opened {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let outcome = loop.makePromise(of: IdleConnectionHandler.Outcome.self)
        var bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.seconds(10))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(FrameDecoder(role: .client, maxPayload: ProtocolLimits.absoluteMaxPayload)),
                        IdleConnectionHandler(hello: hello, outcome: outcome, tally: tally)
                    )
                }
            }
        if let source { bootstrap = bootstrap.bind(to: source) }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(to: address).get()
        } catch {
            outcome.succeed(.closed)
            let descriptors = (error as? IOError).map { $0.errnoCode == EMFILE || $0.errnoCode == ENFILE } ?? false
            return .failed(descriptors ? "EMFILE" : String(describing: error), outOfDescriptors: descriptors)
        }
        switch (try? await outcome.futureResult.get()) ?? .closed {
        case .established: return .established(channel)
        case .refused(let reason):
            channel.close(promise: nil)
            return .refused(reason)
        case .closed: return .refused("CLOSED")
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
