import ClaimlineWire
import NIOCore

/// Answers HELLO with HELLO_ACK, each REQUEST with the fixed answer, PING with PONG.
final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = ByteBuffer

    private let answer: [UInt8]
    private let ack: [UInt8]
    private var pending = ByteBuffer()

    init(answer: [UInt8], ack: [UInt8]) {
        self.answer = answer
        self.ack = ack
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
        switch frame.type {
        case .hello:
            self.pending.writeFrame(type: .helloAck, streamID: 0) { $0.writeBytes(self.ack) }
        case .request:
            self.pending.writeFrame(type: .response, method: frame.method, streamID: frame.streamID) { $0.writeBytes(self.answer) }
        case .ping:
            self.pending.writeFrame(Frame.pong(answering: frame))
        case .goAway:
            context.close(promise: nil)
        default:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if self.pending.readableBytes > 0 {
            context.writeAndFlush(self.wrapOutboundOut(self.pending), promise: nil)
            self.pending = context.channel.allocator.buffer(capacity: 4096)
        }
        context.fireChannelReadComplete()
    }
}
