import ClaimlineCore
import Testing

@testable import ClaimlineServer

/// The session rules without a socket.
@Suite("Connection state machine")
struct ConnectionStateMachineTests {
    let agent = Identity(clientName: "a", role: .agent)

    func open(maxStreams: Int = 2) -> ConnectionStateMachine {
        var machine = ConnectionStateMachine(limits: .init(maxConcurrentStreams: maxStreams, maxDeadlineNanos: 1_000_000_000))
        let opened = machine.hello(self.agent)
        #expect(opened)
        return machine
    }

    @Test("No HELLO, or a bad token: nothing is dispatched")
    func handshake() {
        var machine = ConnectionStateMachine(limits: .init(maxConcurrentStreams: 2, maxDeadlineNanos: 1))
        guard case .reject(let error) = machine.request(streamID: 1, method: 3, timeoutMs: 0, nowNanos: 0) else {
            Issue.record("dispatched before HELLO")
            return
        }
        #expect(error.code == .unavailable)
        let accepted = machine.hello(nil)
        #expect(!accepted)
        #expect(machine.mayClose)
    }

    @Test("Deadlines: the timeout, capped by the server's maximum; 0 means the maximum")
    func deadlines() {
        var machine = self.open(maxStreams: 10)
        guard case .dispatch(_, _, let d1) = machine.request(streamID: 1, method: 3, timeoutMs: 100, nowNanos: 1000) else { return }
        #expect(d1 == 1000 + 100_000_000)
        guard case .dispatch(_, _, let d2) = machine.request(streamID: 2, method: 3, timeoutMs: 0, nowNanos: 1000) else { return }
        #expect(d2 == 1000 + 1_000_000_000)
        guard case .dispatch(_, _, let d3) = machine.request(streamID: 3, method: 3, timeoutMs: 99_999, nowNanos: 1000) else { return }
        #expect(d3 == 1000 + 1_000_000_000)
        #expect(machine.nextDeadlineNanos == d1)
        let expired = machine.expire(nowNanos: d1)
        #expect(expired.map(\.0) == [1])
        let answeredAfterExpiry = machine.complete(streamID: 1)
        #expect(answeredAfterExpiry == nil, "an expired stream must not be answered again")
        let answered = machine.complete(streamID: 2)
        #expect(answered == 1000, "the answer carries when its REQUEST was read (for the latency metric)")
    }

    @Test("Limits, roles and unknown methods are stream-level rejections")
    func rejections() {
        var machine = self.open()
        if case .reject(let e) = machine.request(streamID: 1, method: 1, timeoutMs: 0, nowNanos: 0) {
            #expect(e.code == .permissionDenied)
        } else {
            Issue.record("agent escalated")
        }
        if case .reject(let e) = machine.request(streamID: 3, method: 77, timeoutMs: 0, nowNanos: 0) {
            #expect(e.code == .unimplemented)
        } else {
            Issue.record("unknown method")
        }
        _ = machine.request(streamID: 5, method: 3, timeoutMs: 0, nowNanos: 0)
        _ = machine.request(streamID: 7, method: 3, timeoutMs: 0, nowNanos: 0)
        if case .reject(let e) = machine.request(streamID: 9, method: 3, timeoutMs: 0, nowNanos: 0) {
            #expect(e.code == .resourceExhausted)
        } else {
            Issue.record("over the limit")
        }
        let cancelled = machine.cancel(streamID: 5)
        #expect(cancelled)
        let answeredAfterCancel = machine.complete(streamID: 5)
        #expect(answeredAfterCancel == nil, "a cancelled stream must not be answered")
        guard case .dispatch = machine.request(streamID: 11, method: 3, timeoutMs: 0, nowNanos: 0) else {
            Issue.record("a slot freed by CANCEL was not reusable")
            return
        }
    }

    @Test("Draining: GOAWAY once with the last stream, new requests UNAVAILABLE, close when empty")
    func draining() {
        var machine = self.open()
        _ = machine.request(streamID: 4, method: 3, timeoutMs: 0, nowNanos: 0)
        let goAway = machine.drain()
        #expect(goAway?.lastStreamId == 4)
        #expect(machine.drain() == nil)
        if case .reject(let e) = machine.request(streamID: 6, method: 3, timeoutMs: 0, nowNanos: 0) {
            #expect(e.code == .unavailable)
        } else {
            Issue.record("accepted while draining")
        }
        #expect(!machine.mayClose)
        let finished = machine.complete(streamID: 4)
        #expect(finished != nil)
        #expect(machine.mayClose)
    }
}
