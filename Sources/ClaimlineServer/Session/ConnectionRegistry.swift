import NIOConcurrencyHelpers
import NIOCore

/// The server's open connections: for the connection limit, and to tell each to drain
/// (GOAWAY) on shutdown and to close when the grace period is over.
final class ConnectionRegistry: Sendable {
    struct Entry: Sendable {
        var channel: any Channel
        /// Runs the connection's drain on its event loop.
        var drain: @Sendable () -> Void
    }

    private let entries = NIOLockedValueBox<[ObjectIdentifier: Entry]>([:])
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    /// False when the limit is reached: the caller refuses the connection.
    func register(_ entry: Entry) -> Bool {
        self.entries.withLockedValue { entries in
            guard entries.count < self.limit else { return false }
            entries[ObjectIdentifier(entry.channel)] = entry
            return true
        }
    }

    func unregister(_ channel: any Channel) {
        _ = self.entries.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    var count: Int { self.entries.withLockedValue { $0.count } }

    func drainAll() {
        for entry in self.entries.withLockedValue({ Array($0.values) }) { entry.drain() }
    }

    func closeAll() {
        for entry in self.entries.withLockedValue({ Array($0.values) }) { entry.channel.close(promise: nil) }
    }
}
