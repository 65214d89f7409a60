import ClaimlineCore
import NIOConcurrencyHelpers
import NIOCore

/// One place in the pool: holds a live connection, or makes one when there is none (one
/// attempt at a time, shared by every caller waiting), backing off after failures.
final class ConnectionSlot: Sendable {
    private enum State {
        case idle
        case connecting(Task<ClaimlineConnection, any Error>)
        case ready(ClaimlineConnection)
        case closed
    }

    private let configuration: ClaimlineClientConfiguration
    private let group: any EventLoopGroup
    private let state = NIOLockedValueBox<State>(.idle)
    private let failures = NIOLockedValueBox(0)

    init(configuration: ClaimlineClientConfiguration, group: any EventLoopGroup) {
        self.configuration = configuration
        self.group = group
    }

    /// A usable connection: the current one, or a new one.
    func connection() async throws -> ClaimlineConnection {
        let task: Task<ClaimlineConnection, any Error> = try self.state.withLockedValue { state in
            switch state {
            case .ready(let connection) where connection.isUsable:
                return Task { connection }
            case .connecting(let task):
                return task
            case .closed:
                throw RPCError(.unavailable, "the client is closed", reason: "CLIENT_CLOSED")
            case .idle, .ready:
                let task = Task { try await self.connect() }
                state = .connecting(task)
                return task
            }
        }
        return try await task.value
    }

    private func connect() async throws -> ClaimlineConnection {
        let failures = self.failures.withLockedValue { $0 }
        if failures > 0 {
            try? await Task.sleep(for: self.configuration.retry.backoff(beforeAttempt: failures + 1))
        }
        do {
            let seconds = self.configuration.connectTimeout.components.seconds
            let connection = try await ClaimlineConnection.connect(
                host: self.configuration.host,
                port: self.configuration.port,
                token: self.configuration.token,
                clientName: self.configuration.clientName,
                group: self.group,
                connectTimeout: .seconds(max(1, seconds))
            )
            self.failures.withLockedValue { $0 = 0 }
            let closed = self.state.withLockedValue { state -> Bool in
                if case .closed = state { return true }
                state = .ready(connection)
                return false
            }
            if closed {
                await connection.close()
                throw RPCError(.unavailable, "the client is closed", reason: "CLIENT_CLOSED")
            }
            return connection
        } catch {
            self.failures.withLockedValue { $0 += 1 }
            self.state.withLockedValue { state in
                if case .connecting = state { state = .idle }
            }
            throw error
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
        case .connecting(let task): if let connection = try? await task.value { await connection.close() }
        case .idle, .closed: break
        }
    }
}
