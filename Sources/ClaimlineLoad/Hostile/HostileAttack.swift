import ClaimlineCore
import ClaimlineWire
import NIOConcurrencyHelpers
import NIOCore

/// The ways a buggy or hostile caller tried to take claimlined down (issue 9), each bounded
/// in time and count, for the hostile-peer tests and `claimline-load attack`.
public enum HostileAttack: String, CaseIterable, Sendable {
    /// Sends ListClaims(page_size 1000) as fast as its socket takes them and never reads.
    case neverRead = "never-read"
    /// Opens `count` sockets and never sends HELLO.
    case silentSockets = "silent-sockets"
    /// Keeps `count` ListClaims(page_size 1000) in flight on one connection, reading answers.
    case readFlood = "read-flood"
    /// `count` HELLOs with a bad token and a client name that tries to forge a log line.
    case badHellos = "bad-hellos"

    public struct Settings: Sendable {
        public var host: String
        public var port: Int
        public var token: String
        public var duration: Duration
        /// Sockets, calls in flight or HELLOs, by attack.
        public var count: Int
        /// Local addresses to connect from, in turn (loopback only: 127.0.0.0/8).
        public var sources: [String]

        public init(
            host: String = "127.0.0.1", port: Int, token: String, duration: Duration = .seconds(10), count: Int = 1024,
            sources: [String] = ["127.0.0.1"]
        ) {
            self.host = host
            self.port = port
            self.token = token
            self.duration = duration
            self.count = count
            self.sources = sources
        }
    }

    /// What the attacker achieved.
    public struct Outcome: Sendable {
        public var requestsSent = 0
        public var answersRead = 0
        public var socketsOpened = 0
        /// Sockets the server closed while the attack held them.
        public var socketsClosedByServer = 0
        public var goAwayReasons: [String: Int] = [:]
        public var largestPayload = 0
    }

    /// The client name of ``badHellos``: a newline, then what would look like a log line.
    public static let forgedClientName = "evil\n2026-11-30T00:00:00+0000 critical claimlined : FORGED log line"

    /// Runs the attack for `settings.duration` (bad HELLOs: until all are sent), then stops
    /// and closes every socket it opened.
    public func run(_ settings: Settings) async throws -> Outcome {
        switch self {
        case .neverRead: try await Self.neverRead(settings)
        case .silentSockets: try await Self.silentSockets(settings)
        case .readFlood: try await Self.readFlood(settings)
        case .badHellos: try await Self.badHellos(settings)
        }
    }

    static let bigList = ListClaimsRequest(pageSize: 1000)

    private static func neverRead(_ settings: Settings) async throws -> Outcome {
        let peer = try await HostilePeer.connect(host: settings.host, port: settings.port, from: settings.sources.first)
        guard try await peer.handshake(token: settings.token) else { throw HostileError("HELLO refused") }
        // From now on nothing is read: answers stay in the kernel, then in the server.
        try await peer.channel.setOption(.autoRead, value: false).get()
        var outcome = Outcome()
        let deadline = ContinuousClock.now + settings.duration
        while ContinuousClock.now < deadline {
            if peer.channel.isWritable {
                outcome.requestsSent += peer.request(.listClaims, Array(repeating: bigList, count: 64)).count
            } else {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        await peer.close()
        return outcome
    }

    private static func silentSockets(_ settings: Settings) async throws -> Outcome {
        var peers: [HostilePeer] = []
        var outcome = Outcome()
        let deadline = ContinuousClock.now + settings.duration
        for index in 0..<settings.count where ContinuousClock.now < deadline {
            let source = settings.sources[index % settings.sources.count]
            guard let peer = try? await HostilePeer.connect(host: settings.host, port: settings.port, from: source) else { continue }
            peers.append(peer)
        }
        outcome.socketsOpened = peers.count
        while ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        for peer in peers {
            let seen = peer.seen
            if seen.closed { outcome.socketsClosedByServer += 1 }
            for goAway in seen.goAways { outcome.goAwayReasons[goAway.reason, default: 0] += 1 }
            await peer.close()
        }
        return outcome
    }

    private static func readFlood(_ settings: Settings) async throws -> Outcome {
        let box = NIOLockedValueBox<(peer: HostilePeer?, stop: Bool, sent: Int)>((nil, false, 0))
        let peer = try await HostilePeer.connect(host: settings.host, port: settings.port, from: settings.sources.first) { _ in
            // One more for each answer: `count` stay in flight.
            let next = box.withLockedValue { state -> HostilePeer? in
                guard !state.stop, let peer = state.peer else { return nil }
                state.sent += 1
                return peer
            }
            next?.request(.listClaims, [bigList])
        }
        guard try await peer.handshake(token: settings.token) else { throw HostileError("HELLO refused") }
        box.withLockedValue { $0.peer = peer }
        peer.request(.listClaims, Array(repeating: bigList, count: settings.count))
        try await Task.sleep(for: settings.duration)
        let sent = box.withLockedValue { state in
            state.stop = true
            return state.sent
        }
        let seen = peer.seen
        await peer.close()
        var outcome = Outcome()
        outcome.requestsSent = settings.count + sent
        outcome.answersRead = (seen.frames[.response] ?? 0) + (seen.frames[.error] ?? 0)
        outcome.largestPayload = seen.largestPayload
        return outcome
    }

    private static func badHellos(_ settings: Settings) async throws -> Outcome {
        let workers = 8
        let perWorker = (settings.count + workers - 1) / workers
        let reasons = NIOLockedValueBox<[String: Int]>([:])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    for index in 0..<perWorker where worker * perWorker + index < settings.count {
                        let source = settings.sources[(worker + index) % settings.sources.count]
                        guard let peer = try? await HostilePeer.connect(host: settings.host, port: settings.port, from: source) else { continue }
                        _ = try await peer.handshake(token: "not-a-token-\(index)", clientName: forgedClientName)
                        _ = await peer.wait(timeout: .seconds(2)) { $0.closed }
                        for goAway in peer.seen.goAways { reasons.withLockedValue { $0[goAway.reason, default: 0] += 1 } }
                        await peer.close()
                    }
                }
            }
            try await group.waitForAll()
        }
        var outcome = Outcome()
        outcome.socketsOpened = settings.count
        outcome.goAwayReasons = reasons.withLockedValue { $0 }
        return outcome
    }
}

public struct HostileError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
