import ClaimlineStore
import Dispatch
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO

/// One PostgreSQL connection used from one blocking thread (the writer, a reader): each query
/// waits for its answer, at most ``PostgresStoreSettings/queryTimeoutMs``.
///
/// The store's protocol is synchronous because its callers are dedicated threads, never an
/// event loop; postgres-nio answers on its event loop, so this parks the calling thread on a
/// semaphore until the future completes. A query that outlives its timeout closes the
/// connection (PostgreSQL then rolls back whatever was open), so a hung server or a silent
/// network can never hold a writer forever. After any failure of the connection itself the
/// next query connects again: recovery needs no restart.
///
/// Not `Sendable`: one instance belongs to one thread.
final class PostgresLink {
    let settings: PostgresStoreSettings
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let role: String
    private var connection: PostgresConnection?
    /// A transaction is open on the connection (from its BEGIN until its COMMIT or ROLLBACK is
    /// sent). A connection lost meanwhile must not be replaced by a new one: the transaction's
    /// remaining statements would run on it outside any transaction, without the batch's locks
    /// (PostgreSQL rolled the transaction back when the old one went: a frozen instance's
    /// session ended by `idle_in_transaction_session_timeout`, say). They fail instead.
    var transactionOpen = false

    init(settings: PostgresStoreSettings, eventLoopGroup: any EventLoopGroup, logger: Logger, role: String) {
        self.settings = settings
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.role = role
    }

    /// The open connection, connecting first if there is none (or it closed).
    func connected() throws(StoreError) -> PostgresConnection {
        if let connection = self.connection, !connection.isClosed { return connection }
        self.connection = nil
        if self.transactionOpen {
            throw StoreError(
                "transaction", "the connection of the open transaction was lost (PostgreSQL rolled it back)",
                code: Self.connectionLostCode)
        }
        let future = PostgresConnector.connect(
            settings: self.settings, eventLoop: self.eventLoopGroup.any(), logger: self.logger, role: self.role, id: Self.nextID()
        )
        let connection = try Self.wait(future, timeoutMs: self.settings.connectTimeoutMs + 1_000, operation: "connect") {}
        self.connection = connection
        return connection
    }

    /// Runs `sql` with `binds` and returns every row.
    @discardableResult
    func query(_ sql: String, _ binds: PostgresBindings = PostgresBindings(), operation: String) throws(StoreError) -> [PostgresRow] {
        let connection = try self.connected()
        let future = connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: self.logger)
        do {
            return try Self.wait(future, timeoutMs: self.settings.queryTimeoutMs, operation: operation) {
                // Closing fails the query's future at once; PostgreSQL rolls the session back.
                Self.closeSoon(connection)
            }.rows
        } catch {
            if error.code == Self.connectionLostCode || connection.isClosed { self.drop() }
            throw error
        }
    }

    /// One statement of a ``run(_:)`` chain.
    struct Statement {
        var sql: String
        var binds = PostgresBindings()
        var operation: String
    }

    /// Runs `statements` one after the other on the connection's event loop, each started the
    /// moment the previous one answered, and waits once for all: a batch's steps cost round
    /// trips to PostgreSQL but not a thread hand-off each. Stops at the first failure; the
    /// error's ``StoreError/operation`` names that statement and `failedAt` its index.
    @discardableResult
    func run(_ statements: [Statement]) throws(ChainError) -> [[PostgresRow]] {
        let connection: PostgresConnection
        do {
            connection = try self.connected()
        } catch {
            throw ChainError(error: error, failedAt: 0)
        }
        let (future, failedAt) = self.chain(statements, on: connection)
        do {
            return try Self.wait(future, timeoutMs: self.settings.queryTimeoutMs, operation: "batch") {
                Self.closeSoon(connection)
            }
        } catch {
            let index = failedAt.withLockedValue { $0 }
            if error.code == Self.connectionLostCode || connection.isClosed { self.drop() }
            var named = error
            named.operation = statements.indices.contains(index) ? statements[index].operation : error.operation
            throw ChainError(error: named, failedAt: index)
        }
    }

    /// `statements` one after the other on `connection`, each sent when the previous one
    /// answered; the box holds the index of the statement under way (the one that failed).
    private func chain(
        _ statements: [Statement], on connection: PostgresConnection
    ) -> (EventLoopFuture<[[PostgresRow]]>, NIOLockedValueBox<Int>) {
        let logger = self.logger
        let failedAt = NIOLockedValueBox(0)
        var future = connection.eventLoop.makeSucceededFuture([[PostgresRow]]())
        for (index, statement) in statements.enumerated() {
            future = future.flatMap { results in
                failedAt.withLockedValue { $0 = index }
                return connection.query(PostgresQuery(unsafeSQL: statement.sql, binds: statement.binds), logger: logger)
                    .map { results + [$0.rows] }
            }
        }
        return (future, failedAt)
    }

    struct ChainError: Error {
        var error: StoreError
        var failedAt: Int
    }

    /// Starts `statements` as ``run(_:)`` does but does not wait: `completion` runs on the
    /// event loop with the results or the failure (a ``ChainError``). A timer closes the
    /// connection if the chain has not finished within the query timeout, so the completion
    /// always comes. Queries sent on this link meanwhile queue behind the chain.
    func start(_ statements: [Statement], completion: @escaping @Sendable (Result<[[PostgresRow]], ChainError>) -> Void) {
        let connection: PostgresConnection
        do {
            connection = try self.connected()
        } catch {
            completion(.failure(ChainError(error: error, failedAt: 0)))
            return
        }
        let loop = connection.eventLoop
        let (future, failedAt) = self.chain(statements, on: connection)
        let timeoutMs = self.settings.queryTimeoutMs
        let timedOut = NIOLockedValueBox(false)
        let timer = loop.scheduleTask(in: .milliseconds(Int64(timeoutMs))) {
            timedOut.withLockedValue { $0 = true }
            Self.closeSoon(connection)
        }
        future.whenComplete { result in
            timer.cancel()
            switch result {
            case .success(let rows):
                completion(.success(rows))
            case .failure(let error):
                let index = failedAt.withLockedValue { $0 }
                var named = Self.storeError(error, operation: "batch", timedOut: timedOut.withLockedValue { $0 }, timeoutMs: timeoutMs)
                named.operation = statements.indices.contains(index) ? statements[index].operation : named.operation
                completion(.failure(ChainError(error: named, failedAt: index)))
            }
        }
    }

    /// The first column of the first row as Int64 (0 when there is no row or it is NULL).
    func queryInt(_ sql: String, _ binds: PostgresBindings = PostgresBindings(), operation: String) throws(StoreError) -> Int64 {
        guard let row = try self.query(sql, binds, operation: operation).first else { return 0 }
        do {
            return try row.makeRandomAccess()[0].decode(Int64?.self) ?? 0
        } catch {
            throw StoreError(operation, "unexpected answer: \(error)")
        }
    }

    /// A promise on one of the link's event loops (for completions the store tracks).
    func eventLoopPromise() -> EventLoopPromise<Void>? {
        self.eventLoopGroup.any().makePromise(of: Void.self)
    }

    var isOpen: Bool { self.connection.map { !$0.isClosed } ?? false }

    /// Forgets the connection (closing it): the next query connects again.
    func drop() {
        if let connection = self.connection { Self.closeSoon(connection) }
        self.connection = nil
    }

    func close() {
        guard let connection = self.connection else { return }
        self.connection = nil
        guard !connection.isClosed else { return }
        _ = try? Self.wait(connection.close(), timeoutMs: 1_000, operation: "close") {}
        _ = try? Self.wait(connection.closeFuture, timeoutMs: 1_000, operation: "close") {}
    }

    /// Closes `connection` without waiting, keeping it alive until its channel is closed
    /// (postgres-nio asserts that a connection is closed before it is freed).
    static func closeSoon(_ connection: PostgresConnection) {
        connection.close().whenComplete { _ in
            connection.closeFuture.whenComplete { _ in withExtendedLifetime(connection) {} }
        }
    }

    deinit {
        self.drop()
    }

    // MARK: Waiting

    /// ``StoreError/code`` of a failure that is not PostgreSQL refusing a statement but the
    /// connection failing (closed, timed out, unreachable).
    static let connectionLostCode: Int32 = -1

    /// Parks the thread until `future` completes, at most `timeoutMs`; then runs `onTimeout`
    /// (which must make the future fail) and waits for that.
    static func wait<T: Sendable>(
        _ future: EventLoopFuture<T>, timeoutMs: Int, operation: String, onTimeout: () -> Void
    ) throws(StoreError) -> T {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox<T>()
        future.whenComplete { result in
            box.result = result
            done.signal()
        }
        var timedOut = false
        if done.wait(timeout: .now() + .milliseconds(max(1, timeoutMs))) == .timedOut {
            timedOut = true
            onTimeout()
            done.wait()
        }
        switch box.result {
        case .success(let value):
            return value
        case .failure(let error):
            throw Self.storeError(error, operation: operation, timedOut: timedOut, timeoutMs: timeoutMs)
        case nil:
            throw StoreError(operation, "no result", code: Self.connectionLostCode)
        }
    }

    /// PostgreSQL's own refusals keep their SQLSTATE in the message and are not connection
    /// losses; anything else (closed, refused, timed out) is.
    static func storeError(_ error: any Error, operation: String, timedOut: Bool, timeoutMs: Int) -> StoreError {
        if timedOut {
            return StoreError(operation, "no answer from PostgreSQL within \(timeoutMs) ms", code: Self.connectionLostCode)
        }
        if let error = error as? PSQLError {
            if error.code == .server, let info = error.serverInfo {
                let state = info[.sqlState] ?? "?????"
                return StoreError(operation, "PostgreSQL \(state): \(info[.message] ?? "error")", code: Self.sqlStateCode(state))
            }
            return StoreError(operation, "PostgreSQL connection: \(PostgresConnector.describe(error))", code: Self.connectionLostCode)
        }
        if let failure = error as? PostgresConnector.ConnectFailure {
            return StoreError(operation, failure.description, code: Self.connectionLostCode)
        }
        return StoreError(operation, "PostgreSQL connection: \(error)", code: Self.connectionLostCode)
    }

    /// SQLSTATE as a number for ``StoreError/code`` (its five characters base 36), so callers
    /// can tell a unique violation (`23505`) from the rest without parsing the message.
    static func sqlStateCode(_ state: String) -> Int32 {
        var value: Int32 = 0
        for scalar in state.unicodeScalars.prefix(5) {
            let digit: Int32
            switch scalar.value {
            case 48...57: digit = Int32(scalar.value - 48)
            case 65...90: digit = Int32(scalar.value - 55)
            default: digit = 0
            }
            value = value * 36 + digit
        }
        return value
    }

    private static let ids = ManagedAtomicCounter()
    private static func nextID() -> Int { self.ids.next() }
}

/// Where ``PostgresLink/wait(_:timeoutMs:operation:onTimeout:)`` keeps the result: written on
/// the event loop before the semaphore is signalled, read after the wait returns (the
/// semaphore orders the two).
private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}
