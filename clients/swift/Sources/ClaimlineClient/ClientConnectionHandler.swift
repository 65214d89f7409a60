import ClaimlineCodec
import ClaimlineCore
import ClaimlineWire
import NIOCore

/// The client side of one connection: sends the preface and HELLO, matches answers to calls
/// by stream id, answers PINGs, keeps the connection alive or finds it dead (PROTOCOL.md 8.1's
/// keepalive), gives up on calls at their attempt's timeout, and fails every waiting call when
/// the connection goes. Runs on the channel's event loop; ``ClaimlineConnection`` talks to it
/// through `execute`.
final class ClientConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = ByteBuffer

    /// A call waiting for its answer: the RESPONSE payload, or the error (the server's
    /// ``RPCError``, or a ``ClientFailure`` when the call ended on this side).
    typealias Waiter = EventLoopPromise<ByteBuffer>

    /// A call out on the connection, and when it was handed to the socket: an attempt that
    /// times out with nothing received since then finds the connection silent.
    struct PendingCall {
        var waiter: Waiter
        var sentAt: UInt64
    }

    private let hello: Hello
    private let helloPromise: EventLoopPromise<HelloAck>
    /// Read by the pool from any thread: false once the connection takes no new calls.
    let health: ConnectionHealth
    /// Encodes requests and decodes control frames; used only on the channel's event loop.
    let arena = ProtoArena()
    var context: ChannelHandlerContext?
    /// Stream ids and the calls waiting for answers: the client connection machine the load
    /// harness uses too.
    var machine = ClientConnectionMachine<PendingCall>()
    /// PINGs when the connection is silent, and gives it up when no frame follows.
    var keepalive: KeepaliveMachine
    /// The keepalive's timer, and when it fires.
    var keepaliveTimer: (callback: NIOScheduledCallback, at: UInt64)?
    /// PING payloads, counted up: nothing depends on them, since any frame answers.
    var pings: UInt64 = 0
    private var goAway: GoAway?
    private var helloDone = false
    /// Set once the connection can take no more calls.
    var closedError: ClientFailure?
    /// Requests written while the socket was full: sent, in order, once it drains. Bounded by
    /// the calls the application has waiting, each of which holds one.
    var held = CircularBuffer<(streamID: UInt32, bytes: ByteBuffer)>()

    init(hello: Hello, helloPromise: EventLoopPromise<HelloAck>, health: ConnectionHealth, settings: FailoverSettings = FailoverSettings()) {
        self.hello = hello
        self.helloPromise = helloPromise
        self.health = health
        self.keepalive = KeepaliveMachine(settings: settings, now: Self.now())
    }

    var inFlight: Int { self.machine.inFlight }

    /// The clock of the keepalive and the attempt timers: the event loop's, monotonic.
    static func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        var buffer = context.channel.allocator.buffer(capacity: 128)
        Preface().write(to: &buffer)
        do {
            try buffer.writeFrame(type: .hello, streamID: 0) { (out: inout ByteBuffer) throws(CodecError) -> Int in
                try self.hello.encode(into: &out, arena: self.arena)
            }
        } catch {
            // A client name or token that cannot be encoded (a NUL in it): say so, never send
            // an empty HELLO.
            self.fail(ClientFailure(.answer, RPCError.invalidArgument(field: error.field, "HELLO: \(error)")), context: context)
            return
        }
        context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
        // Any frame at all says the peer is alive (PONG included).
        self.keepalive.received(now: Self.now())
        switch frame.type {
        case .helloAck:
            do {
                let ack = try HelloAck.decode(from: frame.payload, arena: self.arena)
                self.helloDone = true
                _ = self.machine.receive(frame)
                self.helloPromise.succeed(ack)
                self.armKeepalive()
            } catch {
                self.fail(ClientFailure(.lost, RPCError(.internal, "bad HELLO_ACK: \(error)", reason: "PROTOCOL_ERROR")), context: context)
            }
        case .response:
            if case .answered(_, let call, _) = self.machine.receive(frame) {
                call.waiter.succeed(frame.payload)
                self.callEnded()
            }
        case .error:
            let error: RPCError
            do {
                error = RPCError(status: try RpcStatus.decode(from: frame.payload, arena: self.arena))
            } catch {
                self.fail(ClientFailure(.lost, RPCError(.internal, "bad ERROR frame: \(error)", reason: "PROTOCOL_ERROR")), context: context)
                return
            }
            if case .answered(_, let call, _) = self.machine.receive(frame) {
                call.waiter.fail(error)
                self.callEnded()
            }
        case .ping:
            var buffer = context.channel.allocator.buffer(capacity: 20)
            buffer.writeFrame(Frame.pong(answering: frame))
            context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
        case .goAway:
            let goAway = (try? GoAway.decode(from: frame.payload, arena: self.arena)) ?? GoAway(reason: "PROTOCOL_ERROR")
            self.received(goAway, frame: frame)
        case .pong, .hello, .request, .cancel:
            break  // the client-role decoder lets only PONG of these through: it counted above
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // After a GOAWAY the calls still waiting are at or below its last stream id: the server
        // may have processed them, so their outcome is unknown, like any call on a lost connection.
        let message = self.goAway.map { "the server closed the connection after GOAWAY \($0.reason)" } ?? "the connection closed"
        self.fail(ClientFailure(.lost, RPCError(.unavailable, message, reason: ClientReason.connectionClosed)), context: nil)
        self.context = nil
        context.fireChannelInactive()
    }

    /// A connection that never became active (refused, timed out) ends here, not in
    /// channelInactive: nothing may be left waiting.
    func handlerRemoved(context: ChannelHandlerContext) {
        self.fail(ClientFailure(.lost, RPCError(.unavailable, "the connection closed", reason: ClientReason.connectionClosed)), context: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let message = (error as? FramingError).map { "\($0)" } ?? "\(error)"
        self.fail(
            ClientFailure(.lost, RPCError(.unavailable, "connection error: \(message)", reason: ClientReason.connectionError)), context: context)
    }

    /// Sends one REQUEST; `waiter` completes with the RESPONSE payload or the error.
    func send(method: UInt16, timeoutMs: UInt32, body: (inout ByteBuffer) throws(CodecError) -> Int, waiter: Waiter) -> UInt32? {
        guard let context = self.context, self.closedError == nil, self.goAway == nil else {
            // Never written: safe to send again elsewhere, whatever the method.
            let message = self.closedError?.error.message ?? "the connection is closing"
            waiter.fail(ClientFailure(.goAwayUnprocessed, RPCError(.unavailable, message, reason: ClientReason.notSent)))
            return nil
        }
        let now = Self.now()
        // The attempt's own timer gives up on the call (ClaimlineConnection): no machine deadline.
        guard let streamID = self.machine.start(PendingCall(waiter: waiter, sentAt: now), deadline: .max) else {
            waiter.fail(ClientFailure(.goAwayUnprocessed, RPCError(.unavailable, "the connection is closing", reason: ClientReason.notSent)))
            return nil
        }
        var buffer = context.channel.allocator.buffer(capacity: 256)
        do {
            try buffer.writeFrame(type: .request, method: method, streamID: streamID) { (buffer: inout ByteBuffer) throws(CodecError) -> Int in
                buffer.writeInteger(timeoutMs)
                return 4 + (try body(&buffer))
            }
        } catch {
            _ = self.machine.cancel(streamID: streamID)
            waiter.fail(RPCError.invalidArgument(field: error.field, "\(error)"))
            return nil
        }
        if self.machine.inFlight == 1 {
            // Busy now: silence is counted from here, and the keepalive looks sooner.
            self.keepalive.setBusy(true, now: now)
            self.armKeepalive()
        }
        // Respect the server's backpressure: nothing piles up in NIO's buffer past its
        // watermark; the call waits here, its deadline running.
        if context.channel.isWritable && self.held.isEmpty {
            context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
        } else {
            self.held.append((streamID, buffer))
        }
        return streamID
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        var wrote = false
        while context.channel.isWritable, let next = self.held.popFirst() {
            context.write(self.wrapOutboundOut(next.bytes), promise: nil)
            wrote = true
        }
        if wrote { context.flush() }
        context.fireChannelWritabilityChanged()
    }

    /// Gives up on a call: CANCEL on the wire, the waiter fails with `error`.
    func cancel(streamID: UInt32, error: ClientFailure) {
        guard let call = self.machine.cancel(streamID: streamID) else { return }
        call.waiter.fail(error)
        self.callEnded()
        self.writeCancel(streamID: streamID)
    }

    /// A call ended: an idle connection is pinged on the idle schedule from now on.
    func callEnded() {
        guard self.machine.inFlight == 0 else { return }
        self.keepalive.setBusy(false, now: Self.now())
    }

    /// CANCEL for a stream the server has, or nothing for one still held here (never sent).
    func writeCancel(streamID: UInt32) {
        if let index = self.held.firstIndex(where: { $0.streamID == streamID }) {
            self.held.remove(at: index)
            return
        }
        guard let context = self.context else { return }
        var buffer = context.channel.allocator.buffer(capacity: 12)
        buffer.writeFrame(Frame.cancel(streamID: streamID))
        context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
    }

    /// Calls above the server's last stream id were never processed: they fail UNAVAILABLE
    /// with reason GOAWAY_UNPROCESSED so the caller knows a retry is safe.
    private func received(_ goAway: GoAway, frame: Frame) {
        self.goAway = goAway
        self.health.markUnusable(reason: goAway.reason)
        if case .goingAway(let unprocessed) = self.machine.receive(frame, goAwayLastStreamID: goAway.lastStreamId) {
            for (_, call) in unprocessed {
                let error = RPCError(
                    .unavailable, "not processed before the server's GOAWAY (\(goAway.reason))", reason: ClientReason.goAwayUnprocessed)
                call.waiter.fail(ClientFailure(.goAwayUnprocessed, error))
            }
            self.callEnded()
        }
        // Requests still held for a full socket were never sent: they are among the failed.
        self.held.removeAll()
        if !self.helloDone {
            self.helloDone = true
            let code = StatusCode(rawValue: goAway.code == 0 ? StatusCode.unavailable.rawValue : goAway.code)
            self.helloPromise.fail(RPCError(code, goAway.message, reason: goAway.reason))
        }
    }

    /// The connection is over: every call still out fails with `failure`, and it closes.
    func fail(_ failure: ClientFailure, context: ChannelHandlerContext?) {
        self.health.markUnusable(reason: failure.error.reason)
        if self.closedError == nil { self.closedError = failure }
        if !self.helloDone {
            self.helloDone = true
            self.helloPromise.fail(failure.error)
        }
        self.keepaliveTimer?.callback.cancel()
        self.keepaliveTimer = nil
        let calls = self.machine.closed().map(\.call)
        self.held.removeAll()
        for call in calls { call.waiter.fail(failure) }
        context?.close(promise: nil)
    }
}
