import ClaimlineCore
import ClaimlineWire
import NIOConcurrencyHelpers
import NIOCore

/// One place in the pool of one address: holds a live connection to it, or makes one when
/// there is none (one attempt at a time, shared by every caller waiting).
///
/// Where calls go is not decided here: the call's ``CallPlan`` picks the address, and the pool
/// keeps `connections` slots per address. A connection that went (lost, reset, GOAWAY) is
/// replaced by the next caller; an address the client left keeps its connections until they
/// idle out or fail, so that moving back costs no handshake.
final class ConnectionSlot: Sendable {
    /// No connection could be made in the attempt's time; `error` says why.
    struct ConnectFailure: Error {
        let error: RPCError
    }

    private enum State {
        case idle
        case connecting(Task<ClaimlineConnection, any Error>)
        case ready(ClaimlineConnection)
        case closed
    }

    private enum Next {
        case ready(ClaimlineConnection)
        case wait(Task<ClaimlineConnection, any Error>)
    }

    let address: ClaimlineAddress
    private let configuration: ClaimlineClientConfiguration
    private let group: any EventLoopGroup
    private let state = NIOLockedValueBox<State>(.idle)

    init(address: ClaimlineAddress, configuration: ClaimlineClientConfiguration, group: any EventLoopGroup) {
        self.address = address
        self.configuration = configuration
        self.group = group
    }

    /// A usable connection: the one held, or a new one. Waits at most until `end` (uptime
    /// nanoseconds: the attempt's end), then throws ``ConnectFailure``; the connection attempt
    /// itself carries on for the next caller. Throws CLIENT_CLOSED once the client is closed.
    func lease(until end: UInt64) async throws -> ClaimlineConnection {
        let next: Next = try self.state.withLockedValue { state in
            switch state {
            case .ready(let connection) where connection.isUsable:
                return .ready(connection)
            case .connecting(let task):
                return .wait(task)
            case .closed:
                throw RPCError(.unavailable, "the client is closed", reason: ClientReason.clientClosed)
            case .ready, .idle:
                let task = Task { try await self.connect() }
                state = .connecting(task)
                return .wait(task)
            }
        }
        switch next {
        case .ready(let connection): return connection
        case .wait(let task): return try await Self.value(of: task, until: end, address: self.address)
        }
    }

    private func connect() async throws -> ClaimlineConnection {
        let settings = self.configuration.failover
        do {
            let connection = try await ClaimlineConnection.connect(
                host: self.address.host,
                port: self.address.port,
                token: self.configuration.token,
                clientName: self.configuration.clientName,
                group: self.group,
                connectTimeout: .nanoseconds(Int64(clamping: max(settings.connectTimeout.failoverNanoseconds, 1_000_000))),
                tls: self.configuration.tls,
                settings: settings
            )
            let closed = self.state.withLockedValue { state -> Bool in
                if case .closed = state { return true }
                state = .ready(connection)
                return false
            }
            if closed {
                await connection.close()
                throw RPCError(.unavailable, "the client is closed", reason: ClientReason.clientClosed)
            }
            return connection
        } catch let error as RPCError where error.reason == ClientReason.clientClosed {
            throw error
        } catch {
            self.state.withLockedValue { state in
                if case .connecting = state { state = .idle }
            }
            let failure =
                (error as? RPCError)
                ?? RPCError(.unavailable, "cannot connect to \(self.address): \(error)", reason: ClientReason.connectFailed)
            throw ConnectFailure(error: failure)
        }
    }

    func close() async {
        let previous = self.state.withLockedValue { state -> State in
            let previous = state
            state = .closed
            return previous
        }
        switch previous {
        case .ready(let connection): await connection.close()
        case .connecting, .idle, .closed:
            // An attempt under way closes its connection itself when it finds the slot closed:
            // closing the client does not wait for a slow or silent instance.
            break
        }
    }
}
