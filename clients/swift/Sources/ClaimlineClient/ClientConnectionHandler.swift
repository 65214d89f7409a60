import ClaimlineCodec
import ClaimlineCore
import ClaimlineWire
import NIOCore
import Synchronization

/// The client side of one connection: sends the preface and HELLO, matches answers to calls
/// by stream id, answers PINGs, and fails every waiting call when the connection goes.
/// Runs on the channel's event loop; ``ClaimlineConnection`` talks to it through `execute`.
final class ClientConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = ByteBuffer

    /// A call waiting for its answer: the RESPONSE payload, or the error.
    typealias Waiter = EventLoopPromise<ByteBuffer>

    private let hello: Hello
    private let helloPromise: EventLoopPromise<HelloAck>
    /// Read by the pool from any thread: false once the connection takes no new calls.
    let health: ConnectionHealth
    /// Encodes requests and decodes control frames; used only on the channel's event loop.
    let arena = ProtoArena()
    private var context: ChannelHandlerContext?
    /// Stream ids and the calls waiting for answers: the client connection machine the load
    /// harness uses too.
    private var machine = ClientConnectionMachine<Waiter>()
    private var goAway: GoAway?
    private var helloDone = false
    /// Set once the connection can take no more calls.
    private var closedError: RPCError?
    /// The pool moved to another address: no new calls; close once the last one ends.
    private var retiring = false
    /// Requests written while the socket was full: sent, in order, once it drains. Bounded by
    /// the calls the application has waiting, each of which holds one.
    private var held = CircularBuffer<(streamID: UInt32, bytes: ByteBuffer)>()

    init(hello: Hello, helloPromise: EventLoopPromise<HelloAck>, health: ConnectionHealth) {
        self.hello = hello
        self.helloPromise = helloPromise
        self.health = health
    }

    var inFlight: Int { self.machine.inFlight }

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
            self.fail(RPCError.invalidArgument(field: error.field, "HELLO: \(error)"), context: context)
            return
        }
        context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
        switch frame.type {
        case .helloAck:
            do {
                let ack = try HelloAck.decode(from: frame.payload, arena: self.arena)
                self.helloDone = true
                _ = self.machine.receive(frame)
                self.helloPromise.succeed(ack)
            } catch {
                self.fail(RPCError(.internal, "bad HELLO_ACK: \(error)", reason: "PROTOCOL_ERROR"), context: context)
            }
        case .response:
            if case .answered(_, let waiter, _) = self.machine.receive(frame) { waiter.succeed(frame.payload) }
            self.closeIfRetiredAndIdle()
        case .error:
            let error: RPCError
            do {
                error = RPCError(status: try RpcStatus.decode(from: frame.payload, arena: self.arena))
            } catch {
                self.fail(RPCError(.internal, "bad ERROR frame: \(error)", reason: "PROTOCOL_ERROR"), context: context)
                return
            }
            if case .answered(_, let waiter, _) = self.machine.receive(frame) { waiter.fail(error) }
            self.closeIfRetiredAndIdle()
        case .ping:
            var buffer = context.channel.allocator.buffer(capacity: 20)
            buffer.writeFrame(Frame.pong(answering: frame))
            context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
        case .goAway:
            let goAway = (try? GoAway.decode(from: frame.payload, arena: self.arena)) ?? GoAway(reason: "PROTOCOL_ERROR")
            self.received(goAway, frame: frame)
        case .pong, .hello, .request, .cancel:
            break  // the client-role decoder lets only PONG of these through; nothing to do
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // After a GOAWAY the calls still waiting are at or below its last stream id: the server
        // may have processed them, so their outcome is unknown, like any call on a lost connection.
        let message = self.goAway.map { "the server closed the connection after GOAWAY \($0.reason)" } ?? "the connection closed"
        self.fail(RPCError(.unavailable, message, reason: ClientReason.connectionClosed), context: nil)
        self.context = nil
        context.fireChannelInactive()
    }

    /// A connection that never became active (refused, timed out) ends here, not in
    /// channelInactive: nothing may be left waiting.
    func handlerRemoved(context: ChannelHandlerContext) {
        self.fail(RPCError(.unavailable, "the connection closed", reason: ClientReason.connectionClosed), context: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let message = (error as? FramingError).map { "\($0)" } ?? "\(error)"
        self.fail(RPCError(.unavailable, "connection error: \(message)", reason: ClientReason.connectionError), context: context)
    }

    /// Sends one REQUEST; `waiter` completes with the RESPONSE payload or the error.
    func send(method: UInt16, timeoutMs: UInt32, body: (inout ByteBuffer) throws(CodecError) -> Int, waiter: Waiter) -> UInt32? {
        if self.retiring && self.closedError == nil && self.goAway == nil {
            // The pool is leaving this connection, not because of the server: send it elsewhere.
            waiter.fail(RPCError(.unavailable, "the connection is being retired", reason: ClientReason.connectionRetired))
            return nil
        }
        guard let context = self.context, self.closedError == nil, self.goAway == nil else {
            // Never written: safe to send again elsewhere, whatever the method.
            let error = self.closedError ?? RPCError(.unavailable, "the connection is closing", reason: "GOAWAY")
            waiter.fail(RPCError(.unavailable, error.message, reason: ClientReason.notSent))
            return nil
        }
        // The client's own timer gives up on the call (ClaimlineConnection): no machine deadline.
        guard let streamID = self.machine.start(waiter, deadline: .max) else {
            waiter.fail(RPCError(.unavailable, "the connection is closing", reason: ClientReason.notSent))
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
    func cancel(streamID: UInt32, error: RPCError) {
        guard let waiter = self.machine.cancel(streamID: streamID) else { return }
        waiter.fail(error)
        defer { self.closeIfRetiredAndIdle() }
        // Still held here: never sent, so it is simply dropped; nothing to cancel on the wire.
        if let index = self.held.firstIndex(where: { $0.streamID == streamID }) {
            self.held.remove(at: index)
            return
        }
        guard let context = self.context else { return }
        var buffer = context.channel.allocator.buffer(capacity: 12)
        buffer.writeFrame(Frame.cancel(streamID: streamID))
        context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
    }

    /// The pool moved to another address: no new calls here; the calls out keep their answers
    /// (their deadlines still end them), then the connection says GOAWAY and closes.
    func retire() {
        self.retiring = true
        self.health.markUnusable(reason: ClientReason.connectionRetired)
        self.closeIfRetiredAndIdle()
    }

    private func closeIfRetiredAndIdle() {
        guard self.retiring, self.machine.inFlight == 0, let context else { return }
        self.context = nil
        var buffer = context.channel.allocator.buffer(capacity: 64)
        _ = try? buffer.writeFrame(type: .goAway, streamID: 0) { (out: inout ByteBuffer) throws(CodecError) -> Int in
            try GoAway(lastStreamId: 0, code: 0, reason: Reason.shutdown, message: "client moved to another address").encode(
                into: &out, arena: self.arena)
        }
        context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
        context.close(promise: nil)
    }

    /// Calls above the server's last stream id were never processed: they fail UNAVAILABLE
    /// with reason GOAWAY so the caller knows a retry is safe.
    private func received(_ goAway: GoAway, frame: Frame) {
        self.goAway = goAway
        self.health.markUnusable(reason: goAway.reason)
        if case .goingAway(let unprocessed) = self.machine.receive(frame, goAwayLastStreamID: goAway.lastStreamId) {
            for (_, waiter) in unprocessed {
                waiter.fail(
                    RPCError(
                        .unavailable, "not processed before the server's GOAWAY (\(goAway.reason))", reason: ClientReason.goAwayUnprocessed)
                )
            }
        }
        // Requests still held for a full socket were never sent: they are among the failed.
        self.held.removeAll()
        if !self.helloDone {
            self.helloDone = true
            let code = StatusCode(rawValue: goAway.code == 0 ? StatusCode.unavailable.rawValue : goAway.code)
            self.helloPromise.fail(RPCError(code, goAway.message, reason: goAway.reason))
        }
    }

    private func fail(_ error: RPCError, context: ChannelHandlerContext?) {
        self.health.markUnusable(reason: error.reason)
        if self.closedError == nil { self.closedError = error }
        if !self.helloDone {
            self.helloDone = true
            self.helloPromise.fail(error)
        }
        let waiters = self.machine.closed().map(\.call)
        self.held.removeAll()
        for waiter in waiters { waiter.fail(error) }
        context?.close(promise: nil)
    }
}

/// Whether a connection still takes calls, readable from any thread without a lock, and why
/// it stopped: the pool moves to another address when the server failed, not when the
/// connection merely idled out or was retired by the pool itself.
public final class ConnectionHealth: Sendable {
    private let usable = Atomic<Bool>(true)
    private let reason = Mutex<String?>(nil)

    public init() {}

    public var isUsable: Bool { self.usable.load(ordering: .relaxed) }

    /// The first reason the connection stopped taking calls (a GOAWAY's reason, or the
    /// client's: CONNECTION_CLOSED, CONNECTION_RETIRED, ...); nil while usable.
    public var endReason: String? { self.reason.withLock { $0 } }

    /// Whether the connection ended because of the server (lost, refused, GOAWAY other than
    /// IDLE_TIMEOUT), so that its address should be skipped for a while.
    var endedByServerFault: Bool {
        guard let reason = self.endReason else { return false }
        return reason != Reason.idleTimeout && reason != ClientReason.connectionRetired && reason != ClientReason.clientClosed
    }

    func markUnusable(reason: String) {
        self.reason.withLock { if $0 == nil { $0 = reason } }
        self.usable.store(false, ordering: .relaxed)
    }
}
