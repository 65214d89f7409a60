import ClaimlineClient
import ClaimlineCore
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// The Swift client given several claimlined instances: two real `claimlined` processes
/// (``Daemon``), each with its own data directory. They share no state, which does not
/// matter here: what is tested is where the calls go when one of them dies.
@Suite("Swift client failover", .serialized, .timeLimit(.minutes(2)))
struct ClientFailoverTests {
    static func client(_ ports: [Int], connections: Int = 2, timeout: Duration = .seconds(5)) -> ClaimlineClient {
        var configuration = ClaimlineClientConfiguration(
            addresses: ports.map { ClaimlineAddress(host: "127.0.0.1", port: $0) }, token: TestServer.tokens[.admin]!,
            clientName: "failover-e2e")
        configuration.connections = connections
        configuration.defaultTimeout = timeout
        return ClaimlineClient(configuration: configuration)
    }

    /// A port nothing listens on: bound, then closed.
    static func closedPort() throws -> Int {
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).wait()
        let port = channel.localAddress!.port!
        try channel.close().wait()
        return port
    }

    /// Two fresh instances, started; removed by the caller with `stop`.
    static func twoInstances() async throws -> (Daemon, Daemon, [TemporaryDirectory]) {
        let directories = [try TemporaryDirectory(), try TemporaryDirectory()]
        let a = try Daemon(directory: directories[0])
        let b = try Daemon(directory: directories[1])
        try await a.start()
        try await b.start()
        return (a, b, directories)
    }

    /// SIGTERM to the instances still running (a killed or terminated one is already reaped).
    static func stop(_ daemons: [Daemon], _ directories: [TemporaryDirectory]) async {
        for daemon in daemons {
            guard let pid = daemon.pid, Foundation.kill(pid, 0) == 0 else { continue }
            _ = try? await daemon.terminate()
        }
        for directory in directories { directory.remove() }
    }

    @Test("A call on A; SIGKILL A; the next calls, reads and writes, succeed on B")
    func sigkillMovesToTheSurvivor() async throws {
        let (a, b, directories) = try await Self.twoInstances()
        let client = Self.client([a.port, b.port])
        _ = try await client.getStats()
        _ = try await client.fileComplaint(Requests.file())
        #expect(client.lastServedAddress?.port == a.port)
        #expect(client.failovers == 0)

        a.kill()
        var numbers: [String] = []
        for _ in 0..<10 {
            numbers.append(try await client.fileComplaint(Requests.file()).claimNumber)
            _ = try await client.getStats()
        }
        #expect(client.lastServedAddress?.port == b.port)
        #expect(client.diagnostics.currentAddress.port == b.port)
        #expect(client.failovers >= 1)
        // B has exactly the claims filed after the kill: none twice, none lost.
        let admin = try await b.connect()
        let stored = try await admin.call(.listClaims, ListClaimsRequest(pageSize: 100), as: ListClaimsResponse.self).claims
        #expect(Set(stored.map(\.claimNumber)) == Set(numbers))
        await admin.close()
        await client.close()
        await Self.stop([a, b], directories)
    }

    @Test("Calls in flight when A dies are retried on B: every call of a running load succeeds")
    func sigkillUnderLoad() async throws {
        let (a, b, directories) = try await Self.twoInstances()
        let client = Self.client([a.port, b.port], connections: 2, timeout: .seconds(10))
        let answered = NIOLockedValueBox(0)
        let load = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        for _ in 0..<40 {
                            _ = try await client.fileComplaint(Requests.file())  // the client's key, the same on every attempt
                            answered.withLockedValue { $0 += 1 }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        while answered.withLockedValue({ $0 }) < 40 { try await Task.sleep(for: .milliseconds(5)) }
        a.kill()
        try await load.value
        #expect(answered.withLockedValue { $0 } == 240, "every call eventually succeeded")
        #expect(client.lastServedAddress?.port == b.port)
        await client.close()
        await Self.stop([a, b], directories)
    }

    @Test("A shuts down gracefully (SIGTERM, GOAWAY): the calls carry on on B")
    func gracefulShutdownMovesToTheSurvivor() async throws {
        let (a, b, directories) = try await Self.twoInstances()
        let client = Self.client([a.port, b.port], timeout: .seconds(10))
        _ = try await client.getStats()
        #expect(client.lastServedAddress?.port == a.port)
        let load = Task {
            for _ in 0..<200 { _ = try await client.getStats() }
        }
        try await Task.sleep(for: .milliseconds(50))
        #expect(try await a.terminate() == 0)
        try await load.value
        _ = try await client.fileComplaint(Requests.file())
        #expect(client.lastServedAddress?.port == b.port)
        await client.close()
        await Self.stop([a, b], directories)
    }

    @Test("The first address is a closed port: the call goes to B at once")
    func closedFirstAddress() async throws {
        let directory = try TemporaryDirectory()
        let b = try Daemon(directory: directory)
        try await b.start()
        let client = Self.client([try Self.closedPort(), b.port])
        let started = ContinuousClock.now
        _ = try await client.getStats()
        _ = try await client.escalate(Requests.escalate())
        #expect(ContinuousClock.now - started < .seconds(1))
        #expect(client.lastServedAddress?.port == b.port)
        #expect(client.failovers == 1)
        await client.close()
        await Self.stop([b], [directory])
    }

    @Test("Every address down: a clear UNAVAILABLE naming them, within the deadline, no hang")
    func everyAddressDown() async throws {
        let ports = [try Self.closedPort(), try Self.closedPort()]
        let client = Self.client(ports)
        for timeout in [Duration.seconds(2), .milliseconds(300)] {
            let started = ContinuousClock.now
            let error = await rpcError { _ = try await client.fileComplaint(Requests.file(), timeout: timeout) }
            let took = ContinuousClock.now - started
            #expect(took < timeout + .milliseconds(500), "took \(took) for a budget of \(timeout)")
            #expect(error?.code == .unavailable || error?.code == .deadlineExceeded)
            if error?.code == .unavailable {
                #expect(error?.reason == ClientReason.connectFailed)
                #expect(error?.message.contains("127.0.0.1:\(ports[0])") == true)
                #expect(error?.message.contains("127.0.0.1:\(ports[1])") == true)
            }
        }
        await client.close()
    }
}
