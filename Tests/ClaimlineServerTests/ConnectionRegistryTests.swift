import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

@testable import ClaimlineServer

/// The pending-handshake pool and the authenticated quotas, without sockets.
@Suite("Connection registry")
struct ConnectionRegistryTests {
    static func limits(
        pending: Int = 4, perAddress: Int = 2, connections: Int = 3, connectionsPerAddress: Int = 0, perClient: Int = 0
    ) -> ConnectionRegistry.Limits {
        .init(
            maxConnections: connections, maxPendingHandshakes: pending, maxPendingHandshakesPerAddress: perAddress,
            maxConnectionsPerAddress: connectionsPerAddress, maxConnectionsPerClient: perClient
        )
    }

    /// An entry whose eviction is recorded by name.
    static func entry(_ name: String, _ address: String, evicted: NIOLockedValueBox<[String]>) -> ConnectionRegistry.Entry {
        .init(channel: EmbeddedChannel(), address: address, evict: { evicted.withLockedValue { $0.append(name) } })
    }

    @Test("A full address evicts its own oldest socket, never another address's")
    func perAddressEviction() {
        let registry = ConnectionRegistry(limits: Self.limits(pending: 10, perAddress: 2))
        let evicted = NIOLockedValueBox<[String]>([])
        for (name, address) in [("a1", "A"), ("b1", "B"), ("a2", "A"), ("a3", "A"), ("a4", "A")] {
            for entry in registry.accept(Self.entry(name, address, evicted: evicted)) { entry.evict() }
        }
        #expect(evicted.withLockedValue { $0 } == ["a1", "a2"])
        #expect(registry.pendingCount == 3)
        #expect(registry.refusals[.handshakeEvicted] == 2)
    }

    @Test("A full pool evicts the oldest socket overall")
    func globalEviction() {
        let registry = ConnectionRegistry(limits: Self.limits(pending: 3, perAddress: 3))
        let evicted = NIOLockedValueBox<[String]>([])
        for (name, address) in [("a1", "A"), ("b1", "B"), ("c1", "C"), ("d1", "D"), ("e1", "E")] {
            for entry in registry.accept(Self.entry(name, address, evicted: evicted)) { entry.evict() }
        }
        #expect(evicted.withLockedValue { $0 } == ["a1", "b1"])
        #expect(registry.pendingCount == 3)
    }

    @Test("Authenticating moves a socket out of the pending pool; an evicted one is refused")
    func authenticate() {
        let registry = ConnectionRegistry(limits: Self.limits(pending: 2, perAddress: 2))
        let evicted = NIOLockedValueBox<[String]>([])
        let first = Self.entry("first", "A", evicted: evicted)
        _ = registry.accept(first)
        #expect(registry.authenticate(first.channel, client: "ivr") == nil)
        #expect(registry.pendingCount == 0)
        let second = Self.entry("second", "A", evicted: evicted)
        _ = registry.accept(second)
        _ = registry.accept(Self.entry("third", "A", evicted: evicted))
        _ = registry.accept(Self.entry("fourth", "A", evicted: evicted))  // evicts "second"
        #expect(registry.authenticate(second.channel, client: "ivr") == .handshakeEvicted)
        #expect(registry.count == 3)
        registry.unregister(first.channel)
        #expect(registry.count == 2)
    }

    @Test("Authenticated quotas: in all, per address, per client")
    func quotas() {
        let evicted = NIOLockedValueBox<[String]>([])
        let total = ConnectionRegistry(limits: Self.limits(pending: 10, perAddress: 10, connections: 1))
        let one = Self.entry("1", "A", evicted: evicted)
        let two = Self.entry("2", "B", evicted: evicted)
        _ = total.accept(one)
        _ = total.accept(two)
        #expect(total.authenticate(one.channel, client: "x") == nil)
        #expect(total.authenticate(two.channel, client: "y") == .tooManyConnections)

        let perAddress = ConnectionRegistry(limits: Self.limits(pending: 10, perAddress: 10, connections: 10, connectionsPerAddress: 1))
        let a1 = Self.entry("a1", "A", evicted: evicted)
        let a2 = Self.entry("a2", "A", evicted: evicted)
        let b1 = Self.entry("b1", "B", evicted: evicted)
        for entry in [a1, a2, b1] { _ = perAddress.accept(entry) }
        #expect(perAddress.authenticate(a1.channel, client: "x") == nil)
        #expect(perAddress.authenticate(a2.channel, client: "x") == .tooManyFromAddress)
        #expect(perAddress.authenticate(b1.channel, client: "x") == nil)

        let perClient = ConnectionRegistry(limits: Self.limits(pending: 10, perAddress: 10, connections: 10, perClient: 1))
        let c1 = Self.entry("c1", "A", evicted: evicted)
        let c2 = Self.entry("c2", "B", evicted: evicted)
        for entry in [c1, c2] { _ = perClient.accept(entry) }
        #expect(perClient.authenticate(c1.channel, client: "ivr") == nil)
        #expect(perClient.authenticate(c2.channel, client: "ivr") == .tooManyForClient)
        perClient.unregister(c1.channel)
        let c3 = Self.entry("c3", "C", evicted: evicted)
        _ = perClient.accept(c3)
        #expect(perClient.authenticate(c3.channel, client: "ivr") == nil)
        #expect(perClient.refusals[.tooManyForClient] == 1)
    }

    @Test("Churn does not grow the queues: 10,000 sockets that authenticate leave nothing behind")
    func churn() {
        let registry = ConnectionRegistry(limits: Self.limits(pending: 4, perAddress: 4, connections: 100_000))
        let evicted = NIOLockedValueBox<[String]>([])
        for index in 0..<10_000 {
            let entry = Self.entry("\(index)", "10.0.\(index % 7).1", evicted: evicted)
            _ = registry.accept(entry)
            #expect(registry.authenticate(entry.channel, client: "c") == nil)
            registry.unregister(entry.channel)
        }
        #expect(evicted.withLockedValue { $0 }.isEmpty)
        #expect(registry.count == 0)
    }
}
