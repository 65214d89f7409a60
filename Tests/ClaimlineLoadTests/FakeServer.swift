import ClaimlineCodec
import ClaimlineCore
import ClaimlineWire
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// Just enough of claimlined for the harness's tests: reads the preface, answers HELLO with
/// HELLO_ACK and every REQUEST with a RESPONSE of its method, optionally after a delay, and
/// optionally stalls its event loop once (a whole-process pause, like a GC or a swapped page).
final class FakeServer: Sendable {
    struct Behaviour: Sendable {
        /// Stall the loop for this long on the `stallAtRequest`-th request (1-based).
        var stallAtRequest: Int? = nil
        var stall: Duration = .zero
        /// Hold every answer this long (a slow server), without blocking the loop.
        var answerDelay: Duration = .zero
    }

    struct Counters {
        var requests = 0
        var outstanding = 0
        var maxOutstanding = 0
    }

    let counters = Mutex(Counters())
    let behaviour: Behaviour
    private let channel: Mutex<(any Channel)?> = Mutex(nil)

    init(behaviour: Behaviour) { self.behaviour = behaviour }

    var port: Int { self.channel.withLock { $0!.localAddress!.port! } }

    func start(group: any EventLoopGroup) async throws {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(FrameDecoder(role: .server, maxPayload: ProtocolLimits.defaultMaxPayload)),
                        Handler(server: self)
                    )
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        self.channel.withLock { $0 = channel }
    }

    func stop() async {
        let channel = self.channel.withLock { $0 }
        try? await channel?.close()
    }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = Frame
        typealias OutboundOut = ByteBuffer
        let server: FakeServer
        let arena = ProtoArena()

        init(server: FakeServer) { self.server = server }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = self.unwrapInboundIn(data)
            switch frame.type {
            case .hello:
                let ack = HelloAck(
                    sessionId: "s-fake", serverName: "fake", maxFrameSize: 65536, maxConcurrentStreams: 100_000,
                    keepaliveIntervalMs: 30000, idleTimeoutMs: 300_000, role: "admin")
                context.writeAndFlush(self.wrapOutboundOut(self.frame(.helloAck, method: 0, streamID: 0, ack)), promise: nil)
            case .request:
                let number = self.server.counters.withLock { counters in
                    counters.requests += 1
                    counters.outstanding += 1
                    counters.maxOutstanding = max(counters.maxOutstanding, counters.outstanding)
                    return counters.requests
                }
                if number == self.server.behaviour.stallAtRequest {
                    Thread.sleep(
                        forTimeInterval: Double(self.server.behaviour.stall.components.seconds)
                            + Double(self.server.behaviour.stall.components.attoseconds) / 1e18)
                }
                let response = self.response(frame)
                let delay = self.server.behaviour.answerDelay
                if delay == .zero {
                    self.answer(context, response)
                } else {
                    let nanos = delay.components.seconds * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000
                    context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(nanos)) {
                        self.answer(context, response)
                        context.flush()
                    }
                }
            default:
                break
            }
        }

        func channelReadComplete(context: ChannelHandlerContext) { context.flush() }

        private func answer(_ context: ChannelHandlerContext, _ response: ByteBuffer) {
            self.server.counters.withLock { $0.outstanding -= 1 }
            context.write(self.wrapOutboundOut(response), promise: nil)
        }

        private func response(_ request: Frame) -> ByteBuffer {
            if request.method == Method.escalate.rawValue {
                return self.frame(
                    .response, method: request.method, streamID: request.streamID,
                    EscalateResponse(decision: .firstLineConsultation, state: .firstLineConsultation))
            }
            return self.frame(.response, method: request.method, streamID: request.streamID, FileComplaintResponse(claimNumber: "2026-1"))
        }

        private func frame<M: ProtobufCMessage>(_ type: FrameType, method: UInt16, streamID: UInt32, _ message: M) -> ByteBuffer {
            var buffer = ByteBuffer()
            let arena = self.arena
            try! buffer.writeFrame(type: type, method: method, streamID: streamID) { (out: inout ByteBuffer) throws(CodecError) -> Int in
                try message.encode(into: &out, arena: arena)
            }
            return buffer
        }
    }
}
