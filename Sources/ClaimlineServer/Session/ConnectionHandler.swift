import ClaimlineCodec
import ClaimlineCore
import ClaimlineWire
import Logging
import NIOCore

/// One client connection: a thin NIO shell around ``ConnectionStateMachine``. It decodes
/// control frames, hands calls to the ``CallRouter``, writes answers and keeps the timers
/// (handshake, keepalive, idle, deadlines). Everything runs on the channel's event loop.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = ByteBuffer

    struct Settings: Sendable {
        var serverName: String
        var maxFrameSize: Int
        var maxConcurrentStreams: Int
        var handshakeTimeout: TimeAmount
        var keepaliveInterval: TimeAmount
        var idleTimeout: TimeAmount
        var maxDeadline: TimeAmount
    }

    private let settings: Settings
    private let authenticator: Authenticator
    private let router: CallRouter
    private let registry: ConnectionRegistry
    private let sessionID: String
    private var logger: Logger

    private var machine: ConnectionStateMachine
    private let arena = ProtoArena()
    private var queuedWrites: [UInt32: WriteCommand] = [:]
    private var context: ChannelHandlerContext?
    /// Frames written since the last flush.
    private var pending = ByteBuffer()
    private var flushScheduled = false

    private var handshakeTimer: Scheduled<Void>?
    private var deadlineTimer: (task: Scheduled<Void>, at: Int64)?
    private var keepaliveTask: RepeatedTask?
    private var lastFrameNanos: Int64 = 0
    private var lastRequestNanos: Int64 = 0
    private var pingOutstanding = false

    init(settings: Settings, authenticator: Authenticator, router: CallRouter, registry: ConnectionRegistry, sessionID: String, logger: Logger) {
        self.settings = settings
        self.authenticator = authenticator
        self.router = router
        self.registry = registry
        self.sessionID = sessionID
        self.logger = logger
        self.logger[metadataKey: "session.id"] = "\(sessionID)"
        self.machine = ConnectionStateMachine(
            limits: .init(maxConcurrentStreams: settings.maxConcurrentStreams, maxDeadlineNanos: settings.maxDeadline.nanoseconds)
        )
    }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        self.pending = context.channel.allocator.buffer(capacity: 4096)
        let now = Self.nowNanos()
        self.lastFrameNanos = now
        self.lastRequestNanos = now
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let accepted = self.registry.register(
            .init(channel: context.channel, drain: { [eventLoop = context.eventLoop] in
                eventLoop.execute { loopBound.value.drain() }
            })
        )
        guard accepted else {
            self.goAway(code: .resourceExhausted, reason: "TOO_MANY_CONNECTIONS", message: "the server has too many connections", close: true)
            return
        }
        self.handshakeTimer = context.eventLoop.scheduleTask(in: self.settings.handshakeTimeout) {
            loopBound.value.goAway(code: .deadlineExceeded, reason: "HANDSHAKE_TIMEOUT", message: "no HELLO in time", close: true)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.machine.closed()
        for write in self.queuedWrites.values { write.cancel() }
        self.queuedWrites.removeAll()
        self.handshakeTimer?.cancel()
        self.deadlineTimer?.task.cancel()
        self.keepaliveTask?.cancel()
        self.registry.unregister(context.channel)
        self.context = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
        self.lastFrameNanos = Self.nowNanos()
        switch frame.type {
        case .hello: self.hello(frame)
        case .request: self.request(frame, context: context)
        case .cancel:
            if self.machine.cancel(streamID: frame.streamID) {
                self.queuedWrites.removeValue(forKey: frame.streamID)?.cancel()
                self.closeIfDrained()
            }
        case .ping: self.write(Frame.pong(answering: frame))
        case .pong: self.pingOutstanding = false
        case .goAway:
            // The client is leaving: answer what is in flight, then close.
            _ = self.machine.drain()
            self.closeIfDrained()
        case .helloAck, .response, .error:
            break  // the server-role decoder never lets these through
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.flushIfNeeded()
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let framing = error as? FramingError {
            self.logger.info("protocol error; closing", metadata: ["error": "\(framing)"])
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
            self.goAway(code: .internal, reason: "PROTOCOL_ERROR", message: "HELLO: \(error)", close: true)
            return
        }
        self.handshakeTimer?.cancel()
        guard self.machine.hello(self.authenticator.authenticate(token: hello.token)), let identity = self.machine.identity else {
            self.logger.info("authentication failed", metadata: ["client.name": "\(hello.clientName)"])
            self.goAway(code: .unauthenticated, reason: "UNAUTHENTICATED", message: "unknown token", close: true)
            return
        }
        self.logger[metadataKey: "client.name"] = "\(identity.clientName)"
        self.logger.debug("session opened", metadata: ["client.role": "\(identity.role.rawValue)"])
        let ack = HelloAck(
            sessionId: self.sessionID,
            serverName: self.settings.serverName,
            maxFrameSize: UInt32(self.settings.maxFrameSize),
            maxConcurrentStreams: UInt32(self.settings.maxConcurrentStreams),
            keepaliveIntervalMs: UInt32(self.settings.keepaliveInterval.nanoseconds / 1_000_000),
            idleTimeoutMs: UInt32(self.settings.idleTimeout.nanoseconds / 1_000_000),
            role: identity.role.rawValue
        )
        self.writeMessage(ack, type: .helloAck, method: 0, streamID: 0)
        self.startKeepalive()
    }

    private func request(_ frame: Frame, context: ChannelHandlerContext) {
        let now = Self.nowNanos()
        self.lastRequestNanos = now
        let decision = self.machine.request(
            streamID: frame.streamID, method: frame.method, timeoutMs: frame.requestTimeoutMs, nowNanos: now
        )
        switch decision {
        case .reject(let error):
            self.writeError(error, method: frame.method, streamID: frame.streamID)
        case .dispatch(let method, let identity, let deadline):
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
            do {
                if let write = try self.router.route(call, arena: self.arena) {
                    self.queuedWrites[streamID] = write
                }
                self.armDeadlineTimer(at: deadline)
            } catch {
                self.answer(streamID: streamID, method: method.rawValue, .failure(error))
            }
        }
    }

    /// A call's result: sent if the stream still waits for it.
    private func answer(streamID: UInt32, method: UInt16, _ result: CallResult) {
        guard self.machine.complete(streamID: streamID) else { return }
        self.queuedWrites.removeValue(forKey: streamID)
        switch result {
        case .response(let bytes):
            self.writeFrame(type: .response, method: method, streamID: streamID) { $0.writeBytes(bytes) }
        case .failure(let error):
            self.writeError(error, method: method, streamID: streamID)
        }
        self.scheduleFlush()
        self.closeIfDrained()
    }

    // MARK: - Timers

    private func armDeadlineTimer(at deadline: Int64) {
        if let armed = self.deadlineTimer, armed.at <= deadline { return }
        self.deadlineTimer?.task.cancel()
        guard let context = self.context else { return }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let task = context.eventLoop.scheduleTask(deadline: NIODeadline.uptimeNanoseconds(UInt64(max(deadline, 0)))) {
            loopBound.value.deadlineFired()
        }
        self.deadlineTimer = (task, deadline)
    }

    private func deadlineFired() {
        self.deadlineTimer = nil
        for (streamID, method) in self.machine.expire(nowNanos: Self.nowNanos()) {
            self.queuedWrites.removeValue(forKey: streamID)?.cancel()
            self.writeError(
                RPCError(.deadlineExceeded, "\(method.name): the deadline passed", reason: "DEADLINE"),
                method: method.rawValue, streamID: streamID
            )
        }
        self.flushIfNeeded()
        if let next = self.machine.nextDeadlineNanos { self.armDeadlineTimer(at: next) }
        self.closeIfDrained()
    }

    private func startKeepalive() {
        guard let context = self.context else { return }
        let period = TimeAmount.nanoseconds(
            max(TimeAmount.milliseconds(50).nanoseconds, min(self.settings.keepaliveInterval.nanoseconds, self.settings.idleTimeout.nanoseconds) / 4)
        )
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.keepaliveTask = context.eventLoop.scheduleRepeatedTask(initialDelay: period, delay: period) { _ in
            loopBound.value.keepaliveTick()
        }
    }

    private func keepaliveTick() {
        let now = Self.nowNanos()
        if self.machine.inFlight.isEmpty, now - self.lastRequestNanos >= self.settings.idleTimeout.nanoseconds {
            self.goAway(code: .ok, reason: "IDLE_TIMEOUT", message: "no request for \(self.settings.idleTimeout.nanoseconds / 1_000_000) ms", close: true)
            return
        }
        guard now - self.lastFrameNanos >= self.settings.keepaliveInterval.nanoseconds else { return }
        if self.pingOutstanding {
            self.goAway(code: .unavailable, reason: "KEEPALIVE_TIMEOUT", message: "no PONG", close: true)
            return
        }
        self.pingOutstanding = true
        self.lastFrameNanos = now
        self.write(Frame.ping(UInt64(truncatingIfNeeded: now)))
        self.flushIfNeeded()
    }

    // MARK: - Closing

    /// Graceful shutdown: GOAWAY now, close once what is in flight is answered.
    func drain() {
        if let goAway = self.machine.drain() {
            self.writeMessage(goAway, type: .goAway, method: 0, streamID: 0)
            self.flushIfNeeded()
        }
        self.closeIfDrained()
    }

    private func closeIfDrained() {
        if self.machine.mayClose, let context = self.context {
            self.flushIfNeeded()
            context.close(promise: nil)
        }
    }

    private func goAway(code: StatusCode, reason: String, message: String, close: Bool) {
        guard let context = self.context else { return }
        let goAway = GoAway(lastStreamId: self.machine.lastStreamID, code: code.rawValue, reason: reason, message: message)
        self.writeMessage(goAway, type: .goAway, method: 0, streamID: 0)
        self.flushIfNeeded()
        if close {
            self.machine.closed()
            context.close(promise: nil)
        }
    }

    // MARK: - Writing

    private func writeError(_ error: RPCError, method: UInt16, streamID: UInt32) {
        self.writeMessage(error.status, type: .error, method: method, streamID: streamID)
    }

    private func writeMessage<M: ProtobufCMessage>(_ message: M, type: FrameType, method: UInt16, streamID: UInt32) {
        self.writeFrame(type: type, method: method, streamID: streamID) { buffer in
            (try? message.encode(into: &buffer, arena: self.arena)) ?? 0
        }
    }

    private func write(_ frame: Frame) {
        guard self.context != nil else { return }
        self.pending.writeFrame(frame)
    }

    /// Frames go into one pending buffer until the flush: a burst of answers costs one buffer
    /// and one write, not one of each per answer.
    private func writeFrame(type: FrameType, method: UInt16, streamID: UInt32, body: (inout ByteBuffer) -> Int) {
        guard self.context != nil else { return }
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
        }
    }

    private func flushIfNeeded() {
        guard self.pending.readableBytes > 0, let context = self.context else { return }
        let out = self.pending
        self.pending = context.channel.allocator.buffer(capacity: max(4096, out.readableBytes))
        context.writeAndFlush(self.wrapOutboundOut(out), promise: nil)
    }

    private static func nowNanos() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds) }
}
