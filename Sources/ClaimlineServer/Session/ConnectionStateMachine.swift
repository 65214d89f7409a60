import ClaimlineCore
import ClaimlineWire

/// One connection's protocol state, without NIO: the HELLO exchange, the calls in flight,
/// deadlines and the GOAWAY dance. ``ConnectionHandler`` feeds it events and carries out what
/// it answers, so every rule of PROTOCOL.md sections 3 and 7 is testable without a socket.
///
/// Time is passed in (nanoseconds of a monotonic clock) rather than read, for the same reason.
struct ConnectionStateMachine {
    struct Limits {
        var maxConcurrentStreams: Int
        var maxDeadlineNanos: Int64
    }

    /// A call the server accepted and has not answered yet.
    struct InFlight {
        var method: Method
        var deadlineNanos: Int64
        /// Bytes of the connection's buffer budget held for this call's answer.
        var reservedBytes: Int
    }

    enum State {
        /// Preface read (the decoder checks it); waiting for HELLO.
        case awaitingHello
        case open(Identity)
        /// GOAWAY sent: answering what is in flight, accepting nothing new.
        case draining(Identity?)
        case closed
    }

    enum RequestDecision {
        case dispatch(Method, Identity, deadlineNanos: Int64)
        /// Answer this stream with an ERROR and go on.
        case reject(RPCError)
    }

    private(set) var state: State = .awaitingHello
    private(set) var inFlight: [UInt32: InFlight] = [:]
    /// The highest stream id accepted: GOAWAY's `last_stream_id`.
    private(set) var lastStreamID: UInt32 = 0
    /// The sum of the calls in flight's ``InFlight/reservedBytes``.
    private(set) var reservedBytes = 0
    let limits: Limits

    init(limits: Limits) {
        self.limits = limits
    }

    var identity: Identity? {
        switch self.state {
        case .open(let identity): identity
        case .draining(let identity): identity
        case .awaitingHello, .closed: nil
        }
    }

    var isDraining: Bool {
        if case .draining = self.state { return true }
        return false
    }

    /// HELLO arrived and the token was checked: open, or refuse (the caller sends GOAWAY).
    mutating func hello(_ identity: Identity?) -> Bool {
        guard case .awaitingHello = self.state, let identity else {
            self.state = .closed
            return false
        }
        self.state = .open(identity)
        return true
    }

    /// A REQUEST frame: whether to run it, judged on what the header says.
    /// `reserve` tells how many bytes of the buffer budget the method's answer may take.
    mutating func request(
        streamID: UInt32, method rawMethod: UInt16, timeoutMs: UInt32, nowNanos: Int64, reserve: (Method) -> Int = { _ in 0 }
    ) -> RequestDecision {
        // The decoder guarantees increasing ids; record it first so GOAWAY covers rejects too.
        self.lastStreamID = max(self.lastStreamID, streamID)
        let identity: Identity
        switch self.state {
        case .open(let who): identity = who
        case .draining:
            return .reject(RPCError(.unavailable, "the server is shutting down; retry on a new connection", reason: "SHUTDOWN"))
        case .awaitingHello, .closed:
            return .reject(RPCError(.unavailable, "the connection is not open"))
        }
        guard let method = Method(rawValue: rawMethod) else {
            return .reject(RPCError(.unimplemented, "unknown method \(rawMethod)", reason: "UNKNOWN_METHOD"))
        }
        guard identity.role.mayCall(method) else {
            return .reject(
                RPCError(
                    .permissionDenied,
                    "role \(identity.role.rawValue) may not call \(method.name)",
                    reason: "ROLE"
                )
            )
        }
        guard self.inFlight.count < self.limits.maxConcurrentStreams else {
            return .reject(
                RPCError(
                    .resourceExhausted,
                    "more than \(self.limits.maxConcurrentStreams) requests in flight on this connection",
                    retryAfterMs: 10,
                    reason: "MAX_CONCURRENT_STREAMS"
                )
            )
        }
        let requested = timeoutMs == 0 ? self.limits.maxDeadlineNanos : Int64(timeoutMs) * 1_000_000
        let deadline = nowNanos + min(requested, self.limits.maxDeadlineNanos)
        let reserved = reserve(method)
        self.inFlight[streamID] = InFlight(method: method, deadlineNanos: deadline, reservedBytes: reserved)
        self.reservedBytes += reserved
        return .dispatch(method, identity, deadlineNanos: deadline)
    }

    /// The call's answer is ready: send it only if the stream is still waiting for one
    /// (not cancelled, not already answered with DEADLINE_EXCEEDED).
    mutating func complete(streamID: UInt32) -> Bool {
        self.remove(streamID) != nil
    }

    /// CANCEL: forget the stream; nothing more is sent on it.
    mutating func cancel(streamID: UInt32) -> Bool {
        self.remove(streamID) != nil
    }

    func isInFlight(_ streamID: UInt32) -> Bool {
        self.inFlight[streamID] != nil
    }

    private mutating func remove(_ streamID: UInt32) -> InFlight? {
        guard let call = self.inFlight.removeValue(forKey: streamID) else { return nil }
        self.reservedBytes -= call.reservedBytes
        return call
    }

    /// Streams whose deadline has passed, removed: the caller answers each DEADLINE_EXCEEDED.
    /// A stream `mayExpire` refuses (a write already being applied) stays, with no deadline:
    /// its real answer is on the way.
    mutating func expire(nowNanos: Int64, mayExpire: (UInt32) -> Bool = { _ in true }) -> [(UInt32, Method)] {
        var expired: [(UInt32, Method)] = []
        var kept: [UInt32] = []
        for (streamID, call) in self.inFlight where call.deadlineNanos <= nowNanos {
            if mayExpire(streamID) { expired.append((streamID, call.method)) } else { kept.append(streamID) }
        }
        for (streamID, _) in expired { _ = self.remove(streamID) }
        for streamID in kept { self.inFlight[streamID]?.deadlineNanos = .max }
        return expired.sorted { $0.0 < $1.0 }
    }

    /// The earliest deadline in flight, to arm the one timer a connection needs.
    var nextDeadlineNanos: Int64? {
        self.inFlight.values.lazy.map(\.deadlineNanos).min()
    }

    /// Start a graceful close: the GOAWAY to send (nil if one was sent already).
    mutating func drain() -> GoAway? {
        switch self.state {
        case .open(let identity):
            self.state = .draining(identity)
        case .awaitingHello:
            self.state = .draining(nil)
        case .draining, .closed:
            return nil
        }
        return GoAway(lastStreamId: self.lastStreamID, code: 0, reason: "SHUTDOWN", message: "the server is shutting down")
    }

    /// Draining and nothing left to answer: close now.
    var mayClose: Bool {
        switch self.state {
        case .draining: self.inFlight.isEmpty
        case .closed: true
        case .awaitingHello, .open: false
        }
    }

    mutating func closed() {
        self.state = .closed
        self.inFlight.removeAll()
        self.reservedBytes = 0
    }
}
