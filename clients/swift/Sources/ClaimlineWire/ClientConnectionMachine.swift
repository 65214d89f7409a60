import NIOCore

/// The client's side of one connection, without I/O: the HELLO exchange, stream ids, the calls
/// in flight with their deadlines, PING, GOAWAY and loss. The Swift client's handler and the
/// load harness's driver both feed it frames and clock readings and act on what it answers,
/// so the protocol's client rules (PROTOCOL.md sections 1, 3 and 8) live in one place.
///
/// `Call` is what the owner keeps per call (a promise, a load-test record); the machine hands
/// it back when the call ends. Times are monotonic nanoseconds, passed in.
public struct ClientConnectionMachine<Call> {
    public enum State {
        /// Preface and HELLO sent; waiting for HELLO_ACK.
        case awaitingHelloAck
        case open
        /// The server sent GOAWAY: no new calls; those at or below `lastStreamID` may still end.
        case goingAway(lastStreamID: UInt32)
        case closed
    }

    /// What a received frame means for the owner.
    public enum FrameAction {
        /// HELLO_ACK: calls may start.
        case opened
        /// The RESPONSE or ERROR of a call in flight, handed back with its frame.
        case answered(streamID: UInt32, call: Call, frame: Frame)
        /// An answer to a stream no longer in flight (cancelled, expired): discard it.
        case stale
        /// Write this PONG.
        case pong(Frame)
        /// GOAWAY: these calls were above its last stream id, never processed (safe to retry).
        case goingAway(unprocessed: [(streamID: UInt32, call: Call)])
        /// Nothing to do (PONG, frames a client ignores).
        case none
    }

    public private(set) var state: State = .awaitingHelloAck
    private var calls: [UInt32: (call: Call, deadline: UInt64)] = [:]
    private var nextStreamID: UInt32 = 1

    public init() {}

    public var inFlight: Int { self.calls.count }
    public var isOpen: Bool {
        if case .open = self.state { return true }
        return false
    }

    /// A frame from the server. GOAWAY's last stream id is read by the caller (it decodes
    /// the payload) and passed in.
    public mutating func receive(_ frame: Frame, goAwayLastStreamID: UInt32 = 0) -> FrameAction {
        switch frame.type {
        case .helloAck:
            guard case .awaitingHelloAck = self.state else { return .none }
            self.state = .open
            return .opened
        case .response, .error:
            guard let entry = self.calls.removeValue(forKey: frame.streamID) else { return .stale }
            return .answered(streamID: frame.streamID, call: entry.call, frame: frame)
        case .ping:
            return .pong(Frame.pong(answering: frame))
        case .goAway:
            self.state = .goingAway(lastStreamID: goAwayLastStreamID)
            let unprocessed = self.calls.keys.filter { $0 > goAwayLastStreamID }.sorted()
            return .goingAway(unprocessed: unprocessed.map { ($0, self.calls.removeValue(forKey: $0)!.call) })
        case .pong, .hello, .request, .cancel:
            return .none
        }
    }

    /// A new call: its stream id, or nil if the connection takes no new calls (never sent:
    /// safe to send elsewhere).
    public mutating func start(_ call: Call, deadline: UInt64) -> UInt32? {
        switch self.state {
        case .open, .awaitingHelloAck: break
        case .goingAway, .closed: return nil
        }
        let streamID = self.nextStreamID
        self.nextStreamID &+= 1
        self.calls[streamID] = (call, deadline)
        return streamID
    }

    /// The caller gives up on a call (CANCEL goes on the wire): its record, if still in flight.
    public mutating func cancel(streamID: UInt32) -> Call? {
        self.calls.removeValue(forKey: streamID)?.call
    }

    /// Calls whose deadline has passed, removed (the owner fails them and sends CANCEL).
    public mutating func expire(now: UInt64) -> [(streamID: UInt32, call: Call)] {
        let late = self.calls.filter { $0.value.deadline < now }.keys.sorted()
        return late.map { ($0, self.calls.removeValue(forKey: $0)!.call) }
    }

    /// The connection closed: every call still in flight, removed, in stream order.
    public mutating func closed() -> [(streamID: UInt32, call: Call)] {
        self.state = .closed
        let all = self.calls.keys.sorted().map { ($0, self.calls[$0]!.call) }
        self.calls.removeAll()
        return all
    }
}
