import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO
import Synchronization

/// Listens for other instances' changes to incidents and the second line's mode (`LISTEN` on
/// ``channel``; every writer that changes them sends `NOTIFY` with its COMMIT), so an incident
/// declared on one instance governs escalations on all of them within milliseconds.
///
/// A notification can be lost (the listening connection drops; PostgreSQL restarts), so it is
/// only the fast path: the writer also re-reads every
/// ``PostgresStoreSettings/sharedStateRefreshMs`` whatever happens, and a reconnection counts
/// as a notification (something may have changed while nobody listened).
final class PostgresSharedStateWatcher: Sendable {
    static let channel = "claimline_shared_state"

    private let settings: PostgresStoreSettings
    private let eventLoop: any EventLoop
    private let logger: Logger
    private let notified = Atomic<Bool>(true)
    private let state = NIOLockedValueBox(State())

    private struct State {
        var connection: PostgresConnection?
        var stopped = false
    }

    init(settings: PostgresStoreSettings, eventLoop: any EventLoop, logger: Logger) {
        self.settings = settings
        self.eventLoop = eventLoop
        self.logger = logger
    }

    /// True once after each notification (or reconnection).
    func takeNotification() -> Bool {
        self.notified.exchange(false, ordering: .acquiringAndReleasing)
    }

    func start() {
        self.connect()
    }

    func stop() {
        let connection = self.state.withLockedValue { state -> PostgresConnection? in
            state.stopped = true
            defer { state.connection = nil }
            return state.connection
        }
        if let connection { PostgresLink.closeSoon(connection) }
    }

    private func connect() {
        guard !self.state.withLockedValue({ $0.stopped }) else { return }
        PostgresConnector.connect(settings: self.settings, eventLoop: self.eventLoop, logger: self.logger, role: "listener", id: 0)
            .whenComplete { [self] result in
                guard case .success(let connection) = result else {
                    self.retry()
                    return
                }
                // Held until its channel is closed, whatever happens to LISTEN (postgres-nio
                // asserts a connection is closed before it is freed).
                let keep = self.state.withLockedValue { state -> Bool in
                    guard !state.stopped else { return false }
                    state.connection = connection
                    return true
                }
                guard keep else {
                    PostgresLink.closeSoon(connection)
                    return
                }
                connection.closeFuture.whenComplete { [self] _ in
                    withExtendedLifetime(connection) {}
                    self.retry()
                }
                connection.addListener(channel: Self.channel) { [self] _, _ in
                    self.notified.store(true, ordering: .releasing)
                }
                connection.query(PostgresQuery(unsafeSQL: "LISTEN \(Self.channel)"), logger: self.logger).whenComplete { [self] result in
                    switch result {
                    case .success:
                        // Whatever changed while nobody listened is read again now.
                        self.notified.store(true, ordering: .releasing)
                    case .failure:
                        PostgresLink.closeSoon(connection)
                    }
                }
            }
    }

    private func retry() {
        let stopped = self.state.withLockedValue { state -> Bool in
            state.connection = nil
            return state.stopped
        }
        guard !stopped else { return }
        self.eventLoop.scheduleTask(in: .milliseconds(500)) { [self] in self.connect() }
    }
}
