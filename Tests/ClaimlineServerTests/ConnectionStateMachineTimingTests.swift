import ClaimlineCore
import Testing

@testable import ClaimlineServer

/// The connection's timeouts with a manual clock: what ``ConnectionStateMachine/tick(nowNanos:parkedRequests:)``
/// decides at each instant, without sockets and without sleeping.
@Suite("Connection state machine: timeouts")
struct ConnectionStateMachineTimingTests {
    static let second: Int64 = 1_000_000_000
    let agent = Identity(clientName: "a", role: .agent)

    static func machine(at start: Int64 = 0) -> ConnectionStateMachine {
        ConnectionStateMachine(
            limits: .init(
                maxConcurrentStreams: 4, maxDeadlineNanos: 30 * second, handshakeTimeoutNanos: 5 * second,
                keepaliveIntervalNanos: 30 * second, idleTimeoutNanos: 300 * second
            ),
            nowNanos: start
        )
    }

    @Test("No HELLO within the handshake timeout: GOAWAY HANDSHAKE_TIMEOUT, not a moment before")
    func handshakeTimeout() {
        var machine = Self.machine(at: 100 * Self.second)
        #expect(machine.tick(nowNanos: 104 * Self.second) == .none)
        #expect(machine.tick(nowNanos: 105 * Self.second - 1) == .none)
        #expect(machine.tick(nowNanos: 105 * Self.second) == .goAway(.deadlineExceeded, reason: "HANDSHAKE_TIMEOUT", message: "no HELLO in time"))
        // HELLO in time: the handshake timeout no longer applies.
        var greeted = Self.machine()
        let greetedOpened = greeted.hello(self.agent)
        #expect(greetedOpened)
        #expect(greeted.tick(nowNanos: 6 * Self.second) == .none)
    }

    @Test("Keepalive: a silent peer is pinged after the interval; no PONG an interval later closes it")
    func keepalive() {
        var machine = Self.machine()
        let machineOpened = machine.hello(self.agent)
        #expect(machineOpened)
        machine.frameReceived(nowNanos: 1 * Self.second)
        #expect(machine.tick(nowNanos: 30 * Self.second) == .none)
        #expect(machine.tick(nowNanos: 31 * Self.second) == .ping(UInt64(31 * Self.second)))
        #expect(machine.tick(nowNanos: 60 * Self.second) == .none)
        #expect(machine.tick(nowNanos: 61 * Self.second) == .goAway(.unavailable, reason: "KEEPALIVE_TIMEOUT", message: "no PONG"))

        // A PONG in time keeps it: the next silence gets a new PING, not a close.
        var answering = Self.machine()
        let answeringOpened = answering.hello(self.agent)
        #expect(answeringOpened)
        #expect(answering.tick(nowNanos: 30 * Self.second) == .ping(UInt64(30 * Self.second)))
        answering.frameReceived(nowNanos: 31 * Self.second)
        answering.pongReceived()
        #expect(answering.tick(nowNanos: 61 * Self.second) == .ping(UInt64(61 * Self.second)))
    }

    @Test("Idle: no REQUEST for the idle timeout closes with code 0, but never with a call in flight")
    func idle() {
        var machine = Self.machine()
        let machineOpened = machine.hello(self.agent)
        #expect(machineOpened)
        guard case .dispatch = machine.request(streamID: 1, method: 4, timeoutMs: 0, nowNanos: 10 * Self.second) else {
            Issue.record("not dispatched")
            return
        }
        // PINGs answered all along: only the idle rule can close it.
        for t in stride(from: 20, through: 400, by: 20) {
            machine.frameReceived(nowNanos: Int64(t) * Self.second)
            #expect(machine.tick(nowNanos: Int64(t) * Self.second) == .none, "closed at \(t) s with a call in flight")
        }
        let completed = machine.complete(streamID: 1)
        #expect(completed != nil)
        machine.frameReceived(nowNanos: 400 * Self.second)
        #expect(machine.tick(nowNanos: 400 * Self.second) == .goAway(.ok, reason: "IDLE_TIMEOUT", message: "no request for 300000 ms"))
        // Requests parked by backpressure count as activity too.
        var parked = Self.machine()
        let parkedOpened = parked.hello(self.agent)
        #expect(parkedOpened)
        parked.frameReceived(nowNanos: 301 * Self.second)
        #expect(parked.tick(nowNanos: 301 * Self.second, parkedRequests: true) == .none)
    }

    @Test("A client GOAWAY drains after HELLO; before HELLO or malformed it is a protocol error")
    func peerGoAway() {
        var early = Self.machine()
        #expect(early.peerGoAway(wellFormed: true) == .protocolError)
        var open = Self.machine()
        let openOpened = open.hello(self.agent)
        #expect(openOpened)
        #expect(open.peerGoAway(wellFormed: false) == .protocolError)
        #expect(open.peerGoAway(wellFormed: true) == .drain)
    }

    @Test("The tick comes often enough for each timeout, and never more than every 50 ms")
    func tickInterval() {
        #expect(Self.machine().tickIntervalNanos == 5 * Self.second / 4)
        let fast = ConnectionStateMachine(
            limits: .init(maxConcurrentStreams: 1, maxDeadlineNanos: 1, handshakeTimeoutNanos: 1, keepaliveIntervalNanos: 1, idleTimeoutNanos: 1)
        )
        #expect(fast.tickIntervalNanos == 50_000_000)
    }
}
