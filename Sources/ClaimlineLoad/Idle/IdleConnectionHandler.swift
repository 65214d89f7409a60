import ClaimlineCodec
import ClaimlineCore
import ClaimlineWire
import NIOCore

/// The whole life of one idle connection: preface and HELLO, then nothing but PONGs.
///
/// It answers the server's keepalive PINGs, because a connection that stays silent to a PING
/// is a dead one to the server; it never sends a REQUEST. What happened (HELLO_ACK, GOAWAY
/// before it, a close) goes to the opener's promise and to the shared ``IdleTally``.
final class IdleConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = ByteBuffer

    enum Outcome: Sendable, Equatable {
        case established
        /// GOAWAY before HELLO_ACK: its reason (`TOO_MANY_CONNECTIONS`, `HANDSHAKE_EVICTED`, ...).
        case refused(String)
        /// Closed (or failed) before HELLO_ACK without a GOAWAY.
        case closed
    }

    private let hello: Hello
    private let outcome: EventLoopPromise<Outcome>
    private let tally: IdleTally
    private var established = false

    init(hello: Hello, outcome: EventLoopPromise<Outcome>, tally: IdleTally) {
        self.hello = hello
        self.outcome = outcome
        self.tally = tally
    }

    func channelActive(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 128)
        Preface().write(to: &buffer)
        let arena = ProtoArena()
        let hello = self.hello
        _ = try? buffer.writeFrame(type: .hello, streamID: 0) { (out: inout ByteBuffer) throws(CodecError) -> Int in
            try hello.encode(into: &out, arena: arena)
        }
        context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
        switch frame.type {
        case .helloAck:
            self.established = true
            self.outcome.succeed(.established)
        case .ping:
            var buffer = context.channel.allocator.buffer(capacity: 32)
            buffer.writeFrame(Frame.pong(answering: frame))
            context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
            self.tally.pinged()
        case .goAway:
            let reason = (try? GoAway.decode(from: frame.payload, arena: ProtoArena()))?.reason ?? "UNREADABLE"
            if self.established {
                self.tally.goAwayAfterEstablished(reason)
            } else {
                self.outcome.succeed(.refused(reason.isEmpty ? "GOAWAY" : reason))
            }
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if self.established { self.tally.closedAfterEstablished() }
        self.outcome.succeed(.closed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
