import ClaimlineCore
import NIOConcurrencyHelpers
import NIOCore

/// One place in the pool: holds a live connection to the current address, or makes one when
/// there is none (one attempt at a time, shared by every caller waiting), backing off when
/// every address failed recently.
///
/// A connection to an address the pool has moved away from is retired (its calls finish,
/// then it closes) and replaced by one to the current address, so the pool follows the
/// ``AddressBook`` without failing work in flight.
final class ConnectionSlot: Sendable {
    /// A connection handed to one call attempt, with the address index it goes to.
    struct Lease: Sendable {
        let connection: ClaimlineConnection
        let index: Int
    }

    /// A connection could not be made to address `index`; `error` says why.
    struct ConnectFailure: Error {
        let index: Int
        let error: RPCError
    }

    private enum State {
        case idle
        case connecting(Task<Lease, any Error>)
        case ready(Lease)
        case closed
    }

    private enum Next {
        case ready(Lease)
        case wait(Task<Lease, any Error>)
    }

    private let configuration: ClaimlineClientConfiguration
    private let group: any EventLoopGroup
    private let book: AddressBook
    private let state = NIOLockedValueBox<State>(.idle)
    private let failures = NIOLockedValueBox(0)

    init(configuration: ClaimlineClientConfiguration, group: any EventLoopGroup, book: AddressBook) {
        self.configuration = configuration
        self.group = group
        self.book = book
    }

    /// A usable connection to the current address: the one held, or a new one. Waits at most
    /// until `deadline` (CLIENT_DEADLINE after it); the connection attempt itself carries on
    /// for the next caller. Throws ``ConnectFailure`` when the attempt fails.
    func lease(until deadline: ContinuousClock.Instant, method: Method) async throws -> Lease {
        let next: Next = try self.state.withLockedValue { state in
            switch state {
            case .ready(let lease) where lease.connection.isUsable && lease.index == self.book.current:
                return .ready(lease)
            case .connecting(let task):
                return .wait(task)
            case .closed:
                throw RPCError(.unavailable, "the client is closed", reason: ClientReason.clientClosed)
            case .ready(let lease):
                if lease.connection.isUsable {
                    lease.connection.retire()  // the pool moved on; its calls still finish there
                } else if lease.connection.health.endedByServerFault {
                    self.book.failed(lease.index)
                }
                let task = Task { try await self.connect() }
                state = .connecting(task)
                return .wait(task)
            case .idle:
                let task = Task { try await self.connect() }
                state = .connecting(task)
                return .wait(task)
            }
        }
        switch next {
        case .ready(let lease): return lease
        case .wait(let task): return try await Self.value(of: task, until: deadline, method: method)
        }
    }

    /// A call on `lease` failed in a way that says its server is down or going (connection
    /// lost, GOAWAY, UNAVAILABLE): stop using that connection. It is retired, not closed, so
    /// that other calls still out on it keep their chance of an answer.
    func abandon(_ lease: Lease) {
        self.state.withLockedValue { state in
            if case .ready(let held) = state, held.connection === lease.connection { state = .idle }
        }
        lease.connection.retire()
    }

    private func connect() async throws -> Lease {
        let (index, inBackoff) = self.book.choose()
        let address = self.book.addresses[index]
        let failures = self.failures.withLockedValue { $0 }
        if failures > 0 && inBackoff {
            // Every address failed recently: pace the attempts. With another address healthy
            // the slot goes there at once instead.
            try? await Task.sleep(for: self.configuration.retry.backoff(beforeAttempt: failures + 1))
        }
        do {
            let seconds = self.configuration.connectTimeout.components.seconds
            let connection = try await ClaimlineConnection.connect(
                host: address.host,
                port: address.port,
                token: self.configuration.token,
                clientName: self.configuration.clientName,
                group: self.group,
                connectTimeout: .seconds(max(1, seconds)),
                tls: self.configuration.tls
            )
            self.failures.withLockedValue { $0 = 0 }
            self.book.connected(index)
            let lease = Lease(connection: connection, index: index)
            let closed = self.state.withLockedValue { state -> Bool in
                if case .closed = state { return true }
                state = .ready(lease)
                return false
            }
            if closed {
                await connection.close()
                throw RPCError(.unavailable, "the client is closed", reason: ClientReason.clientClosed)
            }
            return lease
        } catch let error as RPCError where error.reason == ClientReason.clientClosed {
            throw error
        } catch {
            self.failures.withLockedValue { $0 += 1 }
            self.book.failed(index)
            self.state.withLockedValue { state in
                if case .connecting = state { state = .idle }
            }
            let failure = (error as? RPCError) ?? RPCError(.unavailable, "cannot connect to \(address): \(error)", reason: ClientReason.connectFailed)
            throw ConnectFailure(index: index, error: failure)
        }
    }

    func close() async {
        let previous = self.state.withLockedValue { state -> State in
            let previous = state
            state = .closed
            return previous
        }
        switch previous {
        case .ready(let lease): await lease.connection.close()
        case .connecting, .idle, .closed:
            // An attempt under way closes its connection itself when it finds the slot closed:
            // closing the client does not wait for a slow or silent instance.
            break
        }
    }
}
