import ClaimlineCore
import ClaimlineWire

/// One connection's protocol state, without NIO: the HELLO exchange, the calls in flight,
/// deadlines and the GOAWAY dance. ``ConnectionHandler`` feeds it events and carries out what
/// it answers, so every rule of PROTOCOL.md sections 3 and 7 is testable without a socket.
///
/// Time is passed in (nanoseconds of a monotonic clock) rather than read, for the same reason:
/// the handshake, keepalive and idle timeouts are decided by ``tick(nowNanos:)``, which the
/// handler calls from one timer, and tests call with a manual clock.
struct ConnectionStateMachine {
    struct Limits {
        var maxConcurrentStreams: Int
        var maxDeadlineNanos: Int64
        var handshakeTimeoutNanos: Int64 = 5_000_000_000
        var keepaliveIntervalNanos: Int64 = 30_000_000_000
        var idleTimeoutNanos: Int64 = 300_000_000_000
    }

    /// What a timer tick asks the handler to do.
    enum TickAction: Equatable {
        case none
        /// Send PING with these 8 bytes.
        case ping(UInt64)
        /// Send GOAWAY with this code and reason, then close.
        case goAway(StatusCode, reason: String, message: String)
    }

    /// What a client's GOAWAY means.
    enum PeerGoAwayAction: Equatable {
        /// The client is leaving: answer what is in flight, then close.
        case drain
        /// Before HELLO or malformed: GOAWAY PROTOCOL_ERROR and close.
        case protocolError
    }

    /// A call the server accepted and has not answered yet.
    struct InFlight {
        var method: Method
        var deadlineNanos: Int64
        /// Bytes of the connection's buffer budget held for this call's answer.
        var reservedBytes: Int
        /// When its REQUEST was read (monotonic nanoseconds): the call's latency starts here.
        var receivedNanos: Int64
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
    /// Monotonic time of the connection's start, its last frame in, its last REQUEST.
    private let startNanos: Int64
    private var lastFrameNanos: Int64
    private var lastRequestNanos: Int64
    private var pingOutstanding = false

    init(limits: Limits, nowNanos: Int64 = 0) {
        self.limits = limits
        self.startNanos = nowNanos
        self.lastFrameNanos = nowNanos
        self.lastRequestNanos = nowNanos
    }

    /// Any frame arrived: the peer is alive.
    mutating func frameReceived(nowNanos: Int64) {
        self.lastFrameNanos = nowNanos
    }

    mutating func pongReceived() {
        self.pingOutstanding = false
    }

    /// A client GOAWAY; `wellFormed` says whether its payload decoded.
    mutating func peerGoAway(wellFormed: Bool) -> PeerGoAwayAction {
        if case .awaitingHello = self.state { return .protocolError }
        return wellFormed ? .drain : .protocolError
    }

    /// The timeouts, judged at `nowNanos`: no HELLO within the handshake timeout; no REQUEST
    /// for the idle timeout with nothing in flight; a peer silent for the keepalive interval is
    /// pinged, and one still silent an interval later is gone.
    mutating func tick(nowNanos: Int64, parkedRequests: Bool = false) -> TickAction {
        switch self.state {
        case .closed:
            return .none
        case .awaitingHello:
            guard nowNanos - self.startNanos >= self.limits.handshakeTimeoutNanos else { return .none }
            return .goAway(.deadlineExceeded, reason: Reason.handshakeTimeout, message: "no HELLO in time")
        case .open, .draining:
            break
        }
        if self.inFlight.isEmpty, !parkedRequests, nowNanos - self.lastRequestNanos >= self.limits.idleTimeoutNanos {
            return .goAway(.ok, reason: Reason.idleTimeout, message: "no request for \(self.limits.idleTimeoutNanos / 1_000_000) ms")
        }
        guard nowNanos - self.lastFrameNanos >= self.limits.keepaliveIntervalNanos else { return .none }
        if self.pingOutstanding {
            return .goAway(.unavailable, reason: Reason.keepaliveTimeout, message: "no PONG")
        }
        self.pingOutstanding = true
        self.lastFrameNanos = nowNanos
        return .ping(UInt64(truncatingIfNeeded: nowNanos))
    }

    /// How often the handler should tick: often enough for each timeout to fire within a
    /// quarter of its length, never more than every 50 ms.
    /// A quarter of the shortest timeout that can still fire: the handshake's only before HELLO.
    var tickIntervalNanos: Int64 {
        var shortest = min(self.limits.keepaliveIntervalNanos, self.limits.idleTimeoutNanos)
        if case .awaitingHello = self.state { shortest = min(shortest, self.limits.handshakeTimeoutNanos) }
        return max(50_000_000, shortest / 4)
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
        self.lastRequestNanos = max(self.lastRequestNanos, nowNanos)
        let identity: Identity
        switch self.state {
        case .open(let who): identity = who
        case .draining:
            return .reject(RPCError(.unavailable, "the server is shutting down; retry on a new connection", reason: Reason.shutdown))
        case .awaitingHello, .closed:
            return .reject(RPCError(.unavailable, "the connection is not open"))
        }
        guard let method = Method(rawValue: rawMethod) else {
            return .reject(RPCError(.unimplemented, "unknown method \(rawMethod)", reason: Reason.unknownMethod))
        }
        guard identity.role.mayCall(method) else {
            return .reject(
                RPCError(
                    .permissionDenied,
                    "role \(identity.role.rawValue) may not call \(method.name)",
                    reason: Reason.role
                )
            )
        }
        guard self.inFlight.count < self.limits.maxConcurrentStreams else {
            return .reject(
                RPCError(
                    .resourceExhausted,
                    "more than \(self.limits.maxConcurrentStreams) requests in flight on this connection",
                    retryAfterMs: 10,
                    reason: Reason.maxConcurrentStreams
                )
            )
        }
        let requested = timeoutMs == 0 ? self.limits.maxDeadlineNanos : Int64(timeoutMs) * 1_000_000
        let deadline = nowNanos + min(requested, self.limits.maxDeadlineNanos)
        let reserved = reserve(method)
        self.inFlight[streamID] = InFlight(method: method, deadlineNanos: deadline, reservedBytes: reserved, receivedNanos: nowNanos)
        self.reservedBytes += reserved
        return .dispatch(method, identity, deadlineNanos: deadline)
    }

    /// The call's answer is ready: send it only if the stream is still waiting for one
    /// (not cancelled, not already answered with DEADLINE_EXCEEDED). Nil: drop the answer;
    /// otherwise when the call's REQUEST was read.
    mutating func complete(streamID: UInt32) -> Int64? {
        self.remove(streamID)?.receivedNanos
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
    mutating func expire(nowNanos: Int64, mayExpire: (UInt32) -> Bool = { _ in true }) -> [(UInt32, Method, receivedNanos: Int64)] {
        var expired: [(UInt32, Method, receivedNanos: Int64)] = []
        var kept: [UInt32] = []
        for (streamID, call) in self.inFlight where call.deadlineNanos <= nowNanos {
            if mayExpire(streamID) { expired.append((streamID, call.method, call.receivedNanos)) } else { kept.append(streamID) }
        }
        for (streamID, _, _) in expired { _ = self.remove(streamID) }
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
        return GoAway(lastStreamId: self.lastStreamID, code: 0, reason: Reason.shutdown, message: "the server is shutting down")
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
