import NIOConcurrencyHelpers
import NIOCore

/// The server's connections, in two pools with budgets of their own, so that sockets which
/// never authenticate cannot take the places of clients that do:
///
/// - **pending**: connected, HELLO not yet accepted. Bounded in all and per IP address; when
///   a new socket finds the budget full, the *oldest* pending socket (of its address, or of
///   all) is evicted. A client that sends HELLO promptly therefore always gets through, and a
///   flood from one address evicts only its own sockets.
/// - **open**: authenticated. Bounded in all, per address and per client (token); a HELLO
///   past a limit is refused with GOAWAY.
///
/// Every refusal and eviction is counted by reason. Also closes every connection when the
/// shutdown's grace period is over (the drain itself is NIOExtras' quiescing helper's).
final class ConnectionRegistry: Sendable {
    struct Limits: Sendable {
        var maxConnections: Int
        var maxPendingHandshakes: Int
        var maxPendingHandshakesPerAddress: Int
        /// 0: no limit.
        var maxConnectionsPerAddress: Int
        /// 0: no limit.
        var maxConnectionsPerClient: Int
    }

    /// Why a connection was refused or closed before it could call; the GOAWAY reason.
    enum Refusal: String, Sendable, CaseIterable {
        case tooManyConnections = "TOO_MANY_CONNECTIONS"
        case tooManyFromAddress = "TOO_MANY_CONNECTIONS_FROM_ADDRESS"
        case tooManyForClient = "TOO_MANY_CONNECTIONS_FOR_CLIENT"
        case handshakeEvicted = "HANDSHAKE_EVICTED"
    }

    struct Entry: Sendable {
        var channel: any Channel
        /// The peer's IP address, without the port.
        var address: String
        /// Closes a pending connection to make room (GOAWAY HANDSHAKE_EVICTED), on its loop.
        var evict: @Sendable () -> Void
    }

    private struct Pending {
        var entry: Entry
        var sequence: UInt64
    }

    private struct Open {
        var entry: Entry
        var client: String
    }

    private struct State {
        var pending: [ObjectIdentifier: Pending] = [:]
        /// Pending sockets oldest first, overall and per address. Entries whose socket left
        /// the pending pool stay until popped or compacted (checked by sequence number).
        var order = CircularBuffer<(ObjectIdentifier, UInt64)>()
        var orderByAddress: [String: CircularBuffer<(ObjectIdentifier, UInt64)>] = [:]
        var pendingByAddress: [String: Int] = [:]
        var open: [ObjectIdentifier: Open] = [:]
        var openByAddress: [String: Int] = [:]
        var openByClient: [String: Int] = [:]
        var sequence: UInt64 = 0
        var refusals: [Refusal: Int] = [:]
    }

    private let state = NIOLockedValueBox(State())
    private let limits: Limits

    init(limits: Limits) { self.limits = limits }

    /// A new socket joins the pending pool. Returns the pending connections it displaced,
    /// for the caller to evict (outside the lock, on their own loops).
    func accept(_ entry: Entry) -> [Entry] {
        let id = ObjectIdentifier(entry.channel)
        return self.state.withLockedValue { state in
            var evicted: [Entry] = []
            if state.pendingByAddress[entry.address, default: 0] >= self.limits.maxPendingHandshakesPerAddress,
                let oldest = Self.popOldest(&state, address: entry.address)
            {
                evicted.append(oldest)
            }
            if state.pending.count >= self.limits.maxPendingHandshakes, let oldest = Self.popOldest(&state, address: nil) {
                evicted.append(oldest)
            }
            state.refusals[.handshakeEvicted, default: 0] += evicted.count
            state.sequence += 1
            state.pending[id] = Pending(entry: entry, sequence: state.sequence)
            state.pendingByAddress[entry.address, default: 0] += 1
            state.order.append((id, state.sequence))
            state.orderByAddress[entry.address, default: CircularBuffer()].append((id, state.sequence))
            Self.compact(&state, address: entry.address)
            return evicted
        }
    }

    /// HELLO was accepted: the connection moves to the open pool, or is refused.
    func authenticate(_ channel: any Channel, client: String) -> Refusal? {
        let id = ObjectIdentifier(channel)
        return self.state.withLockedValue { state in
            // Not pending any more: evicted while its HELLO was on the way (counted then).
            guard let pending = Self.removePending(&state, id) else { return .handshakeEvicted }
            let address = pending.entry.address
            var refusal: Refusal?
            if state.open.count >= self.limits.maxConnections {
                refusal = .tooManyConnections
            } else if self.limits.maxConnectionsPerAddress > 0, state.openByAddress[address, default: 0] >= self.limits.maxConnectionsPerAddress {
                refusal = .tooManyFromAddress
            } else if self.limits.maxConnectionsPerClient > 0, state.openByClient[client, default: 0] >= self.limits.maxConnectionsPerClient {
                refusal = .tooManyForClient
            }
            if let refusal {
                state.refusals[refusal, default: 0] += 1
                return refusal
            }
            state.open[id] = Open(entry: pending.entry, client: client)
            state.openByAddress[address, default: 0] += 1
            state.openByClient[client, default: 0] += 1
            return nil
        }
    }

    func unregister(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        self.state.withLockedValue { state in
            if Self.removePending(&state, id) != nil { return }
            guard let open = state.open.removeValue(forKey: id) else { return }
            Self.decrement(&state.openByAddress, open.entry.address)
            Self.decrement(&state.openByClient, open.client)
        }
    }

    /// Pending and open connections.
    var count: Int { self.state.withLockedValue { $0.pending.count + $0.open.count } }

    var pendingCount: Int { self.state.withLockedValue { $0.pending.count } }

    /// Refusals and evictions since the start, by reason.
    var refusals: [Refusal: Int] { self.state.withLockedValue { $0.refusals } }

    func closeAll() {
        for entry in self.allEntries() { entry.channel.close(promise: nil) }
    }

    private func allEntries() -> [Entry] {
        self.state.withLockedValue { state in state.pending.values.map(\.entry) + state.open.values.map(\.entry) }
    }

    // MARK: - Pending pool bookkeeping (under the lock)

    private static func removePending(_ state: inout State, _ id: ObjectIdentifier) -> Pending? {
        guard let pending = state.pending.removeValue(forKey: id) else { return nil }
        decrement(&state.pendingByAddress, pending.entry.address)
        if state.pendingByAddress[pending.entry.address] == nil {
            state.orderByAddress[pending.entry.address] = nil
        }
        return pending
    }

    /// The oldest socket still pending (of `address`, or of all), removed from the pool.
    private static func popOldest(_ state: inout State, address: String?) -> Entry? {
        while true {
            let next: (ObjectIdentifier, UInt64)?
            if let address {
                next = state.orderByAddress[address]?.popFirst()
            } else {
                next = state.order.popFirst()
            }
            guard let (id, sequence) = next else { return nil }
            if let pending = state.pending[id], pending.sequence == sequence {
                _ = removePending(&state, id)
                return pending.entry
            }
        }
    }

    /// Drops queue entries of sockets that left the pending pool once they outnumber the
    /// live ones, so the queues stay proportional to the pool, not to the connection rate.
    private static func compact(_ state: inout State, address: String) {
        if state.order.count > 2 * state.pending.count + 64 {
            let live = state.pending
            state.order = CircularBuffer(state.order.filter { live[$0.0]?.sequence == $0.1 })
        }
        if let queue = state.orderByAddress[address], queue.count > 2 * state.pendingByAddress[address, default: 0] + 16 {
            let live = state.pending
            let kept = queue.filter { live[$0.0]?.sequence == $0.1 }
            state.orderByAddress[address] = kept.isEmpty ? nil : CircularBuffer(kept)
        }
    }

    private static func decrement(_ counts: inout [String: Int], _ key: String) {
        guard let value = counts[key] else { return }
        counts[key] = value > 1 ? value - 1 : nil
    }
}
