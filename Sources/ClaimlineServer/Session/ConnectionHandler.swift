import ClaimlineCodec
import ClaimlineCore
import ClaimlineWire
import Logging
import NIOCore
import NIOPosix

/// One client connection: a thin NIO shell around ``ConnectionStateMachine``. It decodes
/// control frames, hands calls to the ``CallRouter``, writes answers and keeps the timers
/// (handshake, keepalive, idle, deadlines). Everything runs on the channel's event loop.
///
/// It also keeps the connection within its budget, whatever the peer does:
/// - **Backpressure.** Bytes reserved for answers in flight plus answers not yet flushed may
///   reach half of ``Settings/bufferBytes``; NIO's outbound buffer has the other half (its
///   high watermark). Past either, the handler stops asking the socket for more (`read`
///   is held) and parks requests already read; it resumes below a quarter. A peer that
///   never reads its answers ends up stalled on its own socket, not growing the server.
/// - **Fair reads.** At most ``Settings/maxReadsInProgress`` of its reads are in the reader
///   pool at once; the rest wait here, so one connection cannot fill the pool's queue.
/// - **Frame size.** No answer larger than the advertised max_frame_size leaves: it becomes
///   RESOURCE_EXHAUSTED RESPONSE_TOO_LARGE.
/// - **Half-close.** When the peer shuts its write side, the calls read so far are answered,
///   then the connection closes.
final class ConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = Frame
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct Settings: Sendable {
        var serverName: String
        var maxFrameSize: Int
        var maxConcurrentStreams: Int
        var handshakeTimeout: TimeAmount
        var keepaliveInterval: TimeAmount
        var idleTimeout: TimeAmount
        var maxDeadline: TimeAmount
        var bufferBytes: Int
        var maxReadsInProgress: Int
    }

    /// What every connection of a server shares.
    struct Shared: Sendable {
        var authenticator: Authenticator
        var router: CallRouter
        var registry: ConnectionRegistry
        /// Failures before authentication and refusals: a peer can cause them at will.
        var failureLog: LogRateLimiter
        /// Refused and failed calls: one line each, rate-limited under load.
        var callLog: LogRateLimiter = LogRateLimiter(linesPerWindow: 20, what: "refused or failed calls")
        var logger: Logger
        var metrics: ServerMetrics = ServerMetrics()
    }

    /// A read waiting for its turn in the reader pool.
    private struct QueuedRead {
        var streamID: UInt32
        var method: Method
        var deadlineNanos: Int64
        var run: @Sendable (ReadContext) throws -> CallResult
    }

    private let settings: Settings
    private let shared: Shared
    /// Bytes reserved for the answer of each method, by method number (the handlers' declared
    /// answer sizes): looked up per call, computed once per connection.
    private let reservations: [(bytes: Int, echoesRequest: Bool)]
    private let sessionID: String
    private var logger: Logger

    private var machine: ConnectionStateMachine
    /// The event loop's arena (``ConnectionHandler/loopArena``): requests are decoded and
    /// answers encoded through it synchronously on the loop, and it is reset after each use, so
    /// the connections of one loop share it instead of each keeping 16 KiB while idle.
    private let arena: ProtoArena
    private var queuedWrites: [UInt32: WriteCommand] = [:]
    /// Writes read in the current read cycle, handed to the writer after it (``submitWrites()``).
    private var unsubmitted: [WriteCommand] = []
    private var inReadCycle = false
    private var context: ChannelHandlerContext?
    private var peerAddress = "unknown"
    /// The verified TLS client certificate's subject (mTLS), before HELLO.
    private var peerCertificate: CertificateSubject?
    /// For the closing log line: since when, how many calls answered, why it closed.
    private var openedNanos: Int64 = 0
    private var callsAnswered = 0
    private var closeReason = "peer closed"
    /// The streams in flight last reported to the gauge.
    private var reportedInFlight = 0
    /// Frames written since the last flush.
    /// Storage only while a burst is being written: an idle connection keeps none.
    private var pending = ByteBuffer()
    private var flushScheduled = false
    /// Bytes handed to the socket and not yet taken by it, each write counted with
    /// ``writeOverhead`` more for what holding it costs: small answers count too.
    private var outstanding = 0

    // Backpressure.
    private var readingPaused = false
    private var readRequested = false
    /// REQUEST frames read while paused, with the time they arrived, in order.
    private var parked = CircularBuffer<(frame: Frame, receivedNanos: Int64)>()
    private var inputClosed = false

    // Fair reads.
    private var readsInPool = 0
    private var readQueue = CircularBuffer<QueuedRead>()

    private var deadlineTimer: (task: Scheduled<Void>, at: Int64)?
    /// The one timer of the connection's timeouts: the machine decides at each tick.
    private var tickTask: RepeatedTask?
    private var tickPeriod: TimeAmount?

    init(settings: Settings, shared: Shared, sessionID: String) {
        self.settings = settings
        self.shared = shared
        self.arena = Self.loopArena
        self.reservations = CallRouter.reservations(maxFrameSize: settings.maxFrameSize)
        self.sessionID = sessionID
        self.logger = shared.logger
        self.logger[metadataKey: "session.id"] = "\(sessionID)"
        self.machine = ConnectionStateMachine(
            limits: .init(
                maxConcurrentStreams: settings.maxConcurrentStreams, maxDeadlineNanos: settings.maxDeadline.nanoseconds,
                handshakeTimeoutNanos: settings.handshakeTimeout.nanoseconds,
                keepaliveIntervalNanos: settings.keepaliveInterval.nanoseconds,
                idleTimeoutNanos: settings.idleTimeout.nanoseconds
            ),
            nowNanos: Self.nowNanos()
        )
    }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        self.peerAddress = context.channel.remoteAddress?.ipAddress ?? "unknown"
        self.openedNanos = Self.nowNanos()
        self.shared.metrics.connectionsAccepted.increment()
        self.shared.metrics.connectionsOpen.increment()
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let evicted = self.shared.registry.accept(
            .init(
                channel: context.channel, address: self.peerAddress,
                evict: { eventLoop.execute { loopBound.value.refuse(.handshakeEvicted) } }
            )
        )
        for entry in evicted { entry.evict() }
        self.scheduleTicks()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        let authenticated = self.machine.identity != nil
        self.machine.closed()
        self.reportInFlight()
        self.shared.metrics.connectionsOpen.decrement()
        if authenticated {
            self.logger.info(
                "connection closed",
                metadata: [
                    "peer.address": "\(self.peerAddress)", "connection.duration_ms": "\((Self.nowNanos() - self.openedNanos) / 1_000_000)",
                    "connection.calls": "\(self.callsAnswered)", "connection.close_reason": "\(self.closeReason)",
                ]
            )
        }
        for write in self.queuedWrites.values { write.withdraw() }
        self.queuedWrites.removeAll()
        self.unsubmitted.removeAll()
        self.parked.removeAll()
        self.readQueue.removeAll()
        self.deadlineTimer?.task.cancel()
        self.tickTask?.cancel()
        self.shared.registry.unregister(context.channel)
        self.context = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
        self.inReadCycle = true
        let now = Self.nowNanos()
        self.machine.frameReceived(nowNanos: now)
        switch frame.type {
        case .hello: self.hello(frame)
        case .request:
            if self.readingPaused || !self.parked.isEmpty {
                self.parked.append((frame, now))
            } else {
                self.request(frame, receivedNanos: now)
                self.updateBackpressure()
            }
        case .cancel:
            if self.machine.cancel(streamID: frame.streamID) {
                self.reportInFlight()
                self.queuedWrites.removeValue(forKey: frame.streamID)?.withdraw()
                self.updateBackpressure()
                self.closeIfDrained()
            } else if let index = self.parked.firstIndex(where: { $0.frame.streamID == frame.streamID }) {
                self.parked.remove(at: index)
            }
        case .ping: self.write(Frame.pong(answering: frame))
        case .pong: self.machine.pongReceived()
        case .goAway: self.peerGoAway(frame)
        case .helloAck, .response, .error:
            break  // the server-role decoder never lets these through
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.inReadCycle = false
        self.submitWrites()
        self.flushIfNeeded()
        context.fireChannelReadComplete()
    }

    /// Hands the writes read in this cycle to the writer, in one go, unless the peer has reset
    /// the connection: when this process was frozen (a paused VM, SIGSTOP) with requests in its
    /// socket and the client gave up on them and reset it (PROTOCOL.md 8.1), the kernel still
    /// hands over the bytes that came before the reset. Their caller was told they may not have
    /// been applied and may retry elsewhere: they are withdrawn, never applied (PROTOCOL.md 9.5).
    private func submitWrites() {
        guard !self.unsubmitted.isEmpty, let channel = self.context?.channel else { return }
        // Taken by swapping: no copy of the array per read cycle.
        var commands: [WriteCommand] = []
        swap(&commands, &self.unsubmitted)
        guard channel.isActive, !Self.peerReset(channel) else {
            for command in commands { command.withdraw() }
            return
        }
        self.shared.router.submit(commands)
    }

    /// Whether the kernel has the connection closed by a reset (`TCP_CLOSE`); one `getsockopt`
    /// per read cycle that carried writes, answered at once on the channel's own loop.
    private static func peerReset(_ channel: any Channel) -> Bool {
        guard let provider = channel as? any SocketOptionProvider else { return false }
        let reset = NIOLoopBoundBox(false, eventLoop: channel.eventLoop)
        provider.getTCPInfo().whenSuccess { reset.value = $0.tcpi_state == Self.tcpClose }
        return reset.value
    }

    /// Linux's `TCP_CLOSE` state.
    private static let tcpClose: UInt8 = 7

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.updateBackpressure()
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            // The server is shutting down (NIOExtras' ServerQuiescingHelper): GOAWAY, finish, close.
            self.drain()
            return
        }
        if let event = event as? PeerCertificate {
            self.peerCertificate = event.subject
            return
        }
        if let event = event as? ChannelEvent, event == .inputClosed {
            // The peer shut its write side: answer what it sent, then close.
            self.inputClosed = true
            self.finishInputIfClosed()
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// The socket is asked for more only while the connection is within its budget.
    func read(context: ChannelHandlerContext) {
        if self.readingPaused {
            self.readRequested = true
        } else {
            context.read()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let framing = error as? FramingError {
            if self.machine.identity == nil { self.shared.metrics.handshakeFailed(framing.goAwayReason) }
            self.logFailure("protocol error: \(framing)")
            self.goAway(code: framing.goAwayCode, reason: framing.goAwayReason, message: framing.description, close: true)
        } else {
            self.logger.debug("connection error; closing", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }

    // MARK: - Frames

    private func hello(_ frame: Frame) {
        let hello: Hello
        do {
            hello = try Hello.decode(from: frame.payload, arena: self.arena)
        } catch {
            self.logFailure("malformed HELLO")
            self.goAway(code: .internal, reason: Reason.protocolError, message: "HELLO: \(error)", close: true)
            return
        }
        // The token (or certificate) first: a stranger learns nothing but UNAUTHENTICATED.
        let presented = self.shared.authenticator.authenticate(token: hello.token, certificate: self.peerCertificate)
        guard self.machine.hello(presented), let identity = self.machine.identity else {
            let what = self.peerCertificate.map { "certificate \(LogSafe.escape($0.description)) with an unknown or another client's token" }
            self.logFailure("authentication failed: \(what ?? "unknown token")", clientName: hello.clientName)
            self.shared.metrics.handshakeFailed(Reason.unauthenticated)
            self.goAway(code: .unauthenticated, reason: Reason.unauthenticated, message: "unknown token", close: true)
            return
        }
        if hello.clientName.utf8.count > Validation.maxIdentifier || !Validation.isPrintableIdentifier(hello.clientName) {
            self.logFailure("HELLO with an invalid client name", clientName: hello.clientName)
            self.shared.metrics.handshakeFailed(Reason.invalidClientName)
            self.machine.closed()
            self.goAway(
                code: .invalidArgument, reason: Reason.invalidClientName,
                message: "client_name: at most \(Validation.maxIdentifier) bytes of printable characters", close: true
            )
            return
        }
        if let context = self.context, let refusal = self.shared.registry.authenticate(context.channel, client: identity.clientName) {
            self.refuse(refusal)
            return
        }
        self.logger[metadataKey: "client.name"] = "\(identity.clientName)"
        self.logger.info(
            "connection opened",
            metadata: [
                "peer.address": "\(self.peerAddress)", "client.role": "\(identity.role.rawValue)",
                "connection.tls": "\(self.peerCertificate != nil ? "mtls" : "no client certificate")",
            ]
        )
        let ack = HelloAck(
            sessionId: self.sessionID,
            serverName: self.settings.serverName,
            maxFrameSize: UInt32(self.settings.maxFrameSize),
            maxConcurrentStreams: UInt32(self.settings.maxConcurrentStreams),
            keepaliveIntervalMs: UInt32(self.settings.keepaliveInterval.nanoseconds / 1_000_000),
            idleTimeoutMs: UInt32(self.settings.idleTimeout.nanoseconds / 1_000_000),
            role: identity.role.rawValue,
            maxDeadlineMs: UInt32(clamping: self.settings.maxDeadline.nanoseconds / 1_000_000)
        )
        self.writeMessage(ack, type: .helloAck, method: 0, streamID: 0)
        self.scheduleTicks()
    }

    /// (Re)starts the connection's one timer at the machine's current interval: short while the
    /// handshake timeout runs, then the keepalive's and idle timeout's, so ten thousand idle
    /// connections do not wake their event loops four times per handshake timeout each.
    private func scheduleTicks() {
        guard let context = self.context else { return }
        let period = TimeAmount.nanoseconds(self.machine.tickIntervalNanos)
        guard period != self.tickPeriod else { return }
        self.tickTask?.cancel()
        self.tickPeriod = period
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.tickTask = context.eventLoop.scheduleRepeatedTask(initialDelay: period, delay: period) { _ in
            loopBound.value.tick()
        }
    }

    /// A client's GOAWAY: it is leaving. Answer what is in flight, then close. Before HELLO,
    /// or with a payload that is not a GoAway, it is a protocol error (PROTOCOL.md §7).
    private func peerGoAway(_ frame: Frame) {
        let wellFormed = (try? GoAway.decode(from: frame.payload, arena: self.arena)) != nil
        switch self.machine.peerGoAway(wellFormed: wellFormed) {
        case .drain:
            self.inputClosed = true
            self.finishInputIfClosed()
        case .protocolError:
            self.logFailure("invalid GOAWAY from the client")
            self.goAway(code: .internal, reason: Reason.protocolError, message: "GOAWAY before HELLO or with a malformed payload", close: true)
        }
    }

    private func request(_ frame: Frame, receivedNanos: Int64) {
        let reservations = self.reservations
        let requestBytes = frame.payload.readableBytes
        let maxFrameSize = self.settings.maxFrameSize
        let decision = self.machine.request(
            streamID: frame.streamID, method: frame.method, timeoutMs: frame.requestTimeoutMs, nowNanos: receivedNanos,
            reserve: { method in
                let reservation = reservations[Int(method.rawValue)]
                return reservation.echoesRequest ? min(maxFrameSize, reservation.bytes + requestBytes) : reservation.bytes
            }
        )
        switch decision {
        case .reject(let error):
            self.writeError(error, method: frame.method, streamID: frame.streamID)
            self.finished(method: frame.method, code: error.code, error: error, startedNanos: receivedNanos, subject: CallSubject())
        case .dispatch(let method, let identity, let deadline):
            guard let context = self.context else { return }
            let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
            let streamID = frame.streamID
            let call = CallRouter.Call(
                method: method,
                message: frame.requestMessage,
                context: CallContext(sessionID: self.sessionID, identity: identity),
                deadlineNanos: deadline,
                eventLoop: context.eventLoop,
                completion: { result in loopBound.value.answer(streamID: streamID, method: method.rawValue, result) }
            )
            var subject = CallSubject()
            do {
                switch try self.shared.router.route(call, arena: self.arena, subject: &subject) {
                case .write(let command):
                    self.queuedWrites[streamID] = command
                    self.unsubmitted.append(command)
                    if !self.inReadCycle { self.submitWrites() }
                case .read(let run):
                    self.scheduleRead(QueuedRead(streamID: streamID, method: method, deadlineNanos: deadline, run: run))
                }
                self.armDeadlineTimer(at: deadline)
            } catch {
                self.answer(streamID: streamID, method: method.rawValue, .failure(error), subject: subject)
            }
        }
        self.reportInFlight()
    }

    /// A call's result: sent if the stream still waits for it.
    private func answer(streamID: UInt32, method: UInt16, _ result: CallResult, subject: CallSubject? = nil) {
        guard let started = self.machine.complete(streamID: streamID) else { return }
        let write = self.queuedWrites.removeValue(forKey: streamID)
        switch result {
        case .response(let bytes) where bytes.count <= self.settings.maxFrameSize:
            self.writeFrame(type: .response, method: method, streamID: streamID) { $0.writeBytes(bytes) }
            self.finished(method: method, code: .ok, error: nil, startedNanos: started, subject: nil)
        case .response(let bytes):
            let error = RPCError(
                .resourceExhausted,
                "the answer (\(bytes.count) bytes) is larger than the frame size of \(self.settings.maxFrameSize) bytes",
                reason: Reason.responseTooLarge
            )
            self.writeError(error, method: method, streamID: streamID)
            self.finished(method: method, code: error.code, error: error, startedNanos: started, subject: subject)
        case .failure(let error):
            self.writeError(error, method: method, streamID: streamID)
            let about = subject ?? write.map { CallSubject(callID: $0.footprint.callID, msisdn: $0.footprint.msisdn) }
            self.finished(method: method, code: error.code, error: error, startedNanos: started, subject: about)
        }
        self.reportInFlight()
        self.scheduleFlush()
        self.updateBackpressure()
        self.closeIfDrained()
    }

    // MARK: - Reads

    private func scheduleRead(_ read: QueuedRead) {
        if self.readsInPool < self.settings.maxReadsInProgress {
            self.submitRead(read)
        } else {
            self.readQueue.append(read)
        }
    }

    private func submitRead(_ read: QueuedRead) {
        guard let context = self.context else { return }
        self.readsInPool += 1
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let streamID = read.streamID
        let method = read.method.rawValue
        self.shared.router.readers.run(on: context.eventLoop, read.run, deadlineNanos: read.deadlineNanos) { result in
            loopBound.value.readFinished(streamID: streamID, method: method, result)
        }
    }

    private func readFinished(streamID: UInt32, method: UInt16, _ result: CallResult) {
        self.readsInPool -= 1
        self.answer(streamID: streamID, method: method, result)
        // Next in line, skipping reads whose caller stopped waiting (deadline, CANCEL).
        while self.readsInPool < self.settings.maxReadsInProgress, let next = self.readQueue.popFirst() {
            if self.machine.isInFlight(next.streamID) { self.submitRead(next) }
        }
    }

    // MARK: - Backpressure

    /// Pauses reading past half the budget (or when NIO says the socket is full), resumes
    /// below a quarter, and on resuming runs the requests parked meanwhile.
    private func updateBackpressure() {
        guard let context = self.context else { return }
        let held = self.heldBytes
        if self.readingPaused {
            guard context.channel.isWritable, held < self.settings.bufferBytes / 4 else { return }
            self.readingPaused = false
            self.runParked()
            if !self.readingPaused && self.readRequested {
                self.readRequested = false
                context.read()
            }
        } else if !context.channel.isWritable || held >= self.settings.bufferBytes / 2 {
            self.readingPaused = true
        }
    }

    private func runParked() {
        guard let context = self.context else { return }
        let half = self.settings.bufferBytes / 2
        while let (frame, received) = self.parked.popFirst() {
            self.request(frame, receivedNanos: received)
            if !context.channel.isWritable || self.heldBytes >= half {
                self.readingPaused = true
                break
            }
        }
        self.flushIfNeeded()
        self.finishInputIfClosed()
    }

    /// The peer will send nothing more (half-close or GOAWAY): once the parked requests are
    /// dispatched, stop accepting and close when the last answer is out.
    private func finishInputIfClosed() {
        guard self.inputClosed, self.parked.isEmpty else { return }
        _ = self.machine.drain()  // no GOAWAY of ours: the peer is the one leaving
        self.closeIfDrained()
    }

    // MARK: - Timers

    private func armDeadlineTimer(at deadline: Int64) {
        guard deadline < .max else { return }  // a write being applied: no deadline left
        if let armed = self.deadlineTimer, armed.at <= deadline { return }
        self.deadlineTimer?.task.cancel()
        guard let context = self.context else { return }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let task = context.eventLoop.scheduleTask(deadline: NIODeadline.uptimeNanoseconds(UInt64(max(deadline, 0)))) {
            loopBound.value.deadlineFired()
        }
        self.deadlineTimer = (task, deadline)
    }

    /// Answers DEADLINE_EXCEEDED for the calls whose deadline passed — except writes the
    /// writer has already taken: those are applied, and their true answer will come, late.
    private func deadlineFired() {
        self.deadlineTimer = nil
        let expired = self.machine.expire(nowNanos: Self.nowNanos()) { streamID in
            self.queuedWrites[streamID].map { $0.withdraw() } ?? true
        }
        for (streamID, method, received) in expired {
            let write = self.queuedWrites.removeValue(forKey: streamID)
            let error =
                write != nil
                ? GroupCommitWriter.deadlineNotApplied
                : RPCError(.deadlineExceeded, "\(method.name): the deadline passed", reason: Reason.deadline)
            self.writeError(error, method: method.rawValue, streamID: streamID)
            let subject = write.map { CallSubject(callID: $0.footprint.callID, msisdn: $0.footprint.msisdn) }
            self.finished(method: method.rawValue, code: error.code, error: error, startedNanos: received, subject: subject)
        }
        self.reportInFlight()
        self.flushIfNeeded()
        if let next = self.machine.nextDeadlineNanos { self.armDeadlineTimer(at: next) }
        self.updateBackpressure()
        self.closeIfDrained()
    }

    /// The machine judges the timeouts; the handler carries out what it says.
    private func tick() {
        switch self.machine.tick(nowNanos: Self.nowNanos(), parkedRequests: !self.parked.isEmpty) {
        case .none:
            break
        case .ping(let data):
            self.write(Frame.ping(data))
            self.flushIfNeeded()
        case .goAway(let code, let reason, let message):
            if reason == Reason.handshakeTimeout {
                self.logFailure("handshake timeout: no HELLO in time")
                self.shared.metrics.handshakeFailed(reason)
            }
            self.goAway(code: code, reason: reason, message: message, close: true)
        }
    }

    // MARK: - Closing

    /// Graceful shutdown: GOAWAY now, close once what is in flight is answered.
    func drain() {
        self.parked.removeAll()  // read but not accepted: GOAWAY's last_stream_id says so
        if let goAway = self.machine.drain() {
            self.closeReason = goAway.reason
            self.writeMessage(goAway, type: .goAway, method: 0, streamID: 0)
            self.flushIfNeeded()
        }
        self.closeIfDrained()
    }

    /// Refused by the registry (a limit, or evicted from the handshake pool): GOAWAY, close.
    private func refuse(_ refusal: ConnectionRegistry.Refusal) {
        let message =
            switch refusal {
            case .tooManyConnections: "the server has too many connections"
            case .tooManyFromAddress: "too many connections from this address"
            case .tooManyForClient: "too many connections for this client"
            case .handshakeEvicted: "too many connections waiting for HELLO; this one waited longest"
            }
        self.logFailure("connection refused: \(refusal.rawValue)")
        self.shared.metrics.refused(refusal.rawValue)
        self.machine.closed()
        self.goAway(code: .resourceExhausted, reason: refusal.rawValue, message: message, close: true)
    }

    private func closeIfDrained() {
        if self.machine.mayClose, let context = self.context {
            self.flushIfNeeded()
            context.close(promise: nil)
        }
    }

    private func goAway(code: StatusCode, reason: String, message: String, close: Bool) {
        guard let context = self.context else { return }
        self.closeReason = reason
        let goAway = GoAway(lastStreamId: self.machine.lastStreamID, code: code.rawValue, reason: reason, message: message)
        self.writeMessage(goAway, type: .goAway, method: 0, streamID: 0)
        self.flushIfNeeded()
        if close {
            self.machine.closed()
            context.close(promise: nil)
        }
    }

    /// A failure a peer can cause at will: notice level, rate-limited, with the peer's address
    /// and only escaped, truncated text of what it sent.
    private func logFailure(_ what: String, clientName: String? = nil) {
        var metadata: Logger.Metadata = ["peer.address": "\(self.peerAddress)", "session.id": "\(self.sessionID)"]
        if let clientName { metadata["client.name"] = "\(LogSafe.escape(clientName))" }
        self.shared.failureLog.log(self.shared.logger, .notice, "\(what)", metadata: metadata)
    }

    // MARK: - Accounting

    /// A call answered: its count and latency by method and code, and for a refusal or failure
    /// one log line at notice level (rate-limited): method, code, reason, client, call id and
    /// masked number, never the request itself.
    private func finished(method: UInt16, code: StatusCode, error: RPCError?, startedNanos: Int64, subject: CallSubject?) {
        self.callsAnswered += 1
        self.shared.metrics.call(method: method, code: code, startedNanos: startedNanos, nowNanos: Self.nowNanos())
        guard let error else { return }
        let logger = self.logger
        let sessionID = self.sessionID
        self.shared.callLog.log(
            logger, .notice, "call refused",
            metadata: {
                var metadata: Logger.Metadata = [
                    "rpc.method": "\(Method(rawValue: method)?.name ?? "method \(method)")", "rpc.code": "\(error.code)",
                    "rpc.reason": "\(error.reason)", "session.id": "\(sessionID)",
                ]
                for (key, value) in subject?.metadata ?? [] { metadata[key] = "\(value)" }
                return metadata
            }()
        )
    }

    /// The gauge of streams in flight follows this connection's count.
    private func reportInFlight() {
        let now = self.machine.inFlight.count
        guard now != self.reportedInFlight else { return }
        if now > self.reportedInFlight {
            self.shared.metrics.streamsInFlight.increment(by: Double(now - self.reportedInFlight))
        } else {
            self.shared.metrics.streamsInFlight.decrement(by: Double(self.reportedInFlight - now))
        }
        self.reportedInFlight = now
    }

    // MARK: - Writing

    private func writeError(_ error: RPCError, method: UInt16, streamID: UInt32) {
        self.writeMessage(error.status, type: .error, method: method, streamID: streamID)
    }

    private func writeMessage<M: ProtobufCMessage>(_ message: M, type: FrameType, method: UInt16, streamID: UInt32) {
        guard self.context != nil else { return }
        // Straight into the pending buffer: writeFrame moves the writer index back when the body
        // throws, so a message that fails to encode leaves no half frame.
        do {
            self.reservePending()
            try self.pending.writeFrame(type: type, method: method, streamID: streamID) { (out: inout ByteBuffer) throws(CodecError) -> Int in
                try message.encode(into: &out, arena: self.arena)
            }
        } catch {
            self.logger.error("cannot encode an answer; closing", metadata: ["message.type": "\(M.protoName)", "error": "\(error)"])
            self.machine.closed()
            self.context?.close(promise: nil)
            return
        }
    }

    private func write(_ frame: Frame) {
        guard self.context != nil else { return }
        self.reservePending()
        self.pending.writeFrame(frame)
    }

    /// Frames go into one pending buffer until the flush: a burst of answers costs one buffer
    /// and one write, not one of each per answer.
    private func writeFrame(type: FrameType, method: UInt16, streamID: UInt32, body: (inout ByteBuffer) -> Int) {
        guard self.context != nil else { return }
        self.reservePending()
        self.pending.writeFrame(type: type, method: method, streamID: streamID, body: body)
    }

    /// Answers arriving from the writer come in a burst per batch: flush once after the burst.
    private func scheduleFlush() {
        guard !self.flushScheduled, let context = self.context else { return }
        self.flushScheduled = true
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            loopBound.value.flushScheduled = false
            loopBound.value.flushIfNeeded()
            loopBound.value.updateBackpressure()
        }
    }

    /// What the connection holds against its budget: answers reserved for calls in flight,
    /// written but not flushed, and flushed but not yet taken by the socket.
    private var heldBytes: Int { self.machine.reservedBytes + self.pending.readableBytes + self.outstanding }

    private func flushIfNeeded() {
        guard self.pending.readableBytes > 0, let context = self.context else { return }
        var out = self.pending
        self.pending = ByteBuffer()
        if out.readableBytes * 2 < out.capacity {
            // A burst of a few small answers in a buffer made for many: hand the socket what it
            // holds, not the whole buffer, or a peer that never reads would pin 4 KiB per answer.
            var exact = context.channel.allocator.buffer(capacity: out.readableBytes)
            exact.writeBuffer(&out)
            out = exact
        }
        let cost = out.readableBytes + Self.writeOverhead
        self.outstanding += cost
        let promise = context.eventLoop.makePromise(of: Void.self)
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        promise.futureResult.whenComplete { _ in
            let handler = loopBound.value
            handler.outstanding -= cost
            handler.updateBackpressure()
        }
        context.writeAndFlush(self.wrapOutboundOut(out), promise: promise)
    }

    /// What one write held in NIO's queue costs beyond its bytes (the buffer's storage and the
    /// queue's entry), so that ten thousand 30-byte answers count as what they cost.
    private static let writeOverhead = 256

    /// Room for a burst of answers, taken when the burst starts rather than held between them.
    private func reservePending() {
        if self.pending.capacity == 0, let context = self.context {
            self.pending = context.channel.allocator.buffer(capacity: Self.burstCapacity)
        }
    }

    private static let burstCapacity = 4096

    /// One arena per event-loop thread, made on the loop's first connection. Each is only ever
    /// touched by its own thread, which is what makes the unchecked access sound.
    nonisolated(unsafe) private static let loopArenas = ThreadSpecificVariable<ProtoArena>()

    static var loopArena: ProtoArena {
        if let arena = Self.loopArenas.currentValue { return arena }
        let arena = ProtoArena()
        Self.loopArenas.currentValue = arena
        return arena
    }

    private static func nowNanos() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds) }
}
