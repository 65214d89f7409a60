import ClaimlineWire
import NIOCore
import Testing

/// The client's connection rules without a socket: the machine the Swift client and the load
/// harness share.
@Suite("Client connection machine")
struct ClientConnectionMachineTests {
    static func answer(_ type: FrameType, stream: UInt32) -> Frame {
        Frame(type: type, method: 1, streamID: stream)
    }

    @Test("Stream ids go up from 1; answers hand back the call once; a second answer is stale")
    func calls() {
        var machine = ClientConnectionMachine<String>()
        #expect(machine.start("a", deadline: 100) == 1)
        #expect(machine.start("b", deadline: 100) == 2)
        guard case .opened = machine.receive(Frame(type: .helloAck)) else {
            Issue.record("HELLO_ACK did not open")
            return
        }
        #expect(machine.isOpen)
        guard case .answered(let stream, let call, _) = machine.receive(Self.answer(.response, stream: 2)) else {
            Issue.record("no answer")
            return
        }
        #expect(stream == 2 && call == "b")
        guard case .stale = machine.receive(Self.answer(.error, stream: 2)) else {
            Issue.record("a second answer was not stale")
            return
        }
        #expect(machine.inFlight == 1)
    }

    @Test("PING is answered with PONG of the same bytes")
    func ping() {
        var machine = ClientConnectionMachine<Int>()
        let ping = Frame.ping(42)
        guard case .pong(let pong) = machine.receive(ping) else {
            Issue.record("no PONG")
            return
        }
        #expect(pong.type == .pong && pong.payload == ping.payload)
    }

    @Test("GOAWAY: calls above its last stream id come back unprocessed; no new call starts")
    func goAway() {
        var machine = ClientConnectionMachine<Int>()
        _ = machine.receive(Frame(type: .helloAck))
        for value in 1...5 { _ = machine.start(value, deadline: 100) }
        guard case .goingAway(let unprocessed) = machine.receive(Frame(type: .goAway), goAwayLastStreamID: 3) else {
            Issue.record("GOAWAY not handled")
            return
        }
        #expect(unprocessed.map(\.streamID) == [4, 5])
        #expect(unprocessed.map(\.call) == [4, 5])
        #expect(machine.start(6, deadline: 100) == nil)
        #expect(machine.inFlight == 3)
    }

    @Test("Deadlines expire in stream order; a cancelled call is gone; a closed connection returns the rest")
    func expireCancelClose() {
        var machine = ClientConnectionMachine<String>()
        _ = machine.start("late", deadline: 10)
        _ = machine.start("later", deadline: 20)
        _ = machine.start("kept", deadline: 1000)
        _ = machine.start("cancelled", deadline: 1000)
        #expect(machine.cancel(streamID: 4) == "cancelled")
        #expect(machine.cancel(streamID: 4) == nil)
        #expect(machine.expire(now: 25).map(\.call) == ["late", "later"])
        #expect(machine.closed().map(\.call) == ["kept"])
        #expect(machine.inFlight == 0)
        #expect(machine.start("after", deadline: 1) == nil)
    }
}
