import NIOConcurrencyHelpers

/// Session ids: a random per-process prefix and a counter, so ids are unique across restarts
/// without coordination and cheap to make.
final class SessionIDs: Sendable {
    private let prefix: String
    private let counter = NIOLockedValueBox<UInt64>(0)

    init() {
        var random = SystemRandomNumberGenerator()
        self.prefix = String(random.next() as UInt32, radix: 16)
    }

    func next() -> String {
        let value = self.counter.withLockedValue { counter -> UInt64 in
            counter += 1
            return counter
        }
        return "s-\(self.prefix)-\(value)"
    }
}
