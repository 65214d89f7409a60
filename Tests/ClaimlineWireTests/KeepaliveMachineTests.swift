import ClaimlineWire
import Testing

/// When the client PINGs a connection and when it gives it up (PROTOCOL.md 8.1's keepalive
/// settings), on a clock the test drives.
@Suite("Keepalive machine")
struct KeepaliveMachineTests {
    static let ms: UInt64 = 1_000_000

    @Test("A call out and nothing received for the interval: PING; no frame within the timeout after it: dead")
    func busyButSilent() {
        var machine = KeepaliveMachine(settings: FailoverSettings(), now: 0)
        machine.setBusy(true, now: 5_000 * Self.ms)
        // Silence counts from the call going out, not from the last frame long before it.
        #expect(machine.nextCheck == 6_000 * Self.ms)
        #expect(machine.check(now: 5_999 * Self.ms) == .none)
        #expect(machine.check(now: 6_000 * Self.ms) == .ping)
        #expect(machine.nextCheck == 7_000 * Self.ms)
        #expect(machine.check(now: 6_500 * Self.ms) == .none)
        #expect(machine.check(now: 7_000 * Self.ms) == .dead)
    }

    @Test("Any frame after the PING keeps the connection; silence is counted again from it")
    func anyFrameAnswers() {
        var machine = KeepaliveMachine(settings: FailoverSettings(), now: 0)
        machine.setBusy(true, now: 0)
        #expect(machine.check(now: 1_000 * Self.ms) == .ping)
        machine.received(now: 1_200 * Self.ms)
        #expect(machine.pingSentAt == nil)
        #expect(machine.check(now: 2_000 * Self.ms) == .none)
        #expect(machine.nextCheck == 2_200 * Self.ms)
        #expect(machine.check(now: 2_200 * Self.ms) == .ping)
    }

    @Test("An idle connection is pinged after idle_keepalive, and dead after the timeout too")
    func idle() {
        var settings = FailoverSettings()
        settings.idleKeepalive = .seconds(10)
        var machine = KeepaliveMachine(settings: settings, now: 0)
        #expect(machine.nextCheck == 10_000 * Self.ms)
        machine.setBusy(true, now: 3_000 * Self.ms)
        machine.received(now: 3_010 * Self.ms)
        machine.setBusy(false, now: 3_010 * Self.ms)
        #expect(machine.check(now: 12_000 * Self.ms) == .none)
        #expect(machine.check(now: 13_010 * Self.ms) == .ping)
        #expect(machine.check(now: 14_010 * Self.ms) == .dead)
    }
}
