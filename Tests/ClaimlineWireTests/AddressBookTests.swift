import ClaimlineWire
import Testing

/// The address book's rules beyond the scenario table: suspicion that doubles without
/// overflowing, the pause's floor, and the harness's "next healthy after".
@Suite("Address book")
struct AddressBookTests {
    static let ms: UInt64 = 1_000_000

    @Test("Suspicion doubles from suspect_base up to suspect_max, however many failures")
    func suspicionIsCapped() {
        var book = AddressBook(count: 2)
        #expect(book.suspicion(failures: 1) == 500 * Self.ms)
        #expect(book.suspicion(failures: 2) == 1_000 * Self.ms)
        #expect(book.suspicion(failures: 5) == 5_000 * Self.ms)
        #expect(book.suspicion(failures: 10_000) == 5_000 * Self.ms)
        for _ in 0..<200 { book.record(.lost, at: 0, now: 0) }
        #expect(book.suspicionEnds(0, now: 0) == 5_000 * Self.ms)
        #expect(book.current == 1)
        #expect(book.failovers == 1)
        book.record(.answer, at: 0, now: 1)
        #expect(!book.isSuspect(0, now: 1))
        #expect(book.current == 1, "an answer clears an address but does not move the client back")
    }

    @Test("Exhausted and server_deadline say nothing bad of an instance")
    func notSuspect() {
        var book = AddressBook(count: 2)
        book.record(.exhausted, at: 0, now: 0)
        book.record(.serverDeadline, at: 0, now: 0)
        #expect(!book.isSuspect(0, now: 0))
        #expect(book.current == 0)
    }

    @Test("The pause doubles up to backoff_max and is at least retry_after_ms")
    func pause() {
        let book = AddressBook(count: 1)
        #expect([1, 2, 3, 4, 5, 6, 60].map { book.pause(wait: $0, retryAfterMs: 0) / Self.ms } == [50, 100, 200, 400, 800, 1000, 1000])
        #expect(book.pause(wait: 1, retryAfterMs: 250) == 250 * Self.ms)
        // The random factor shortens the backoff, never the server's hint.
        #expect(book.pause(wait: 3, retryAfterMs: 0, jitter: 0.5) == 100 * Self.ms)
        #expect(book.pause(wait: 1, retryAfterMs: 250, jitter: 0.5) == 250 * Self.ms)
    }

    @Test("Next healthy after an address skips the suspect ones, never itself")
    func nextHealthy() {
        var book = AddressBook(count: 3)
        #expect(book.nextHealthy(after: 0, now: 0) == 1)
        book.record(.connectFailed, at: 1, now: 0)
        #expect(book.nextHealthy(after: 0, now: 0) == 2)
        book.record(.connectFailed, at: 2, now: 0)
        #expect(book.nextHealthy(after: 0, now: 0) == nil)
        #expect(book.nextHealthy(after: 0, now: 500 * Self.ms) == 1)
        #expect(AddressBook(count: 1).nextHealthy(after: 0, now: 0) == nil)
    }
}
