import ClaimlineCodec
import ClaimlineCore
import ClaimlineWire
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A TCP client that sends bytes as they are and records every frame the server sends back,
/// for tests of what the protocol says the server must (and must not) send.
final class RawClient: Sendable {
    private final class Recorder: ChannelInboundHandler, Sendable {
        typealias InboundIn = Frame
        let frames = NIOLockedValueBox<[Frame]>([])
        let closed = NIOLockedValueBox(false)

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = self.unwrapInboundIn(data)
            self.frames.withLockedValue { $0.append(frame) }
        }

        func channelInactive(context: ChannelHandlerContext) {
            self.closed.withLockedValue { $0 = true }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }

    let channel: any Channel
    private let recorder: Recorder

    private init(channel: any Channel, recorder: Recorder) {
        self.channel = channel
        self.recorder = recorder
    }

    static func connect(port: Int) async throws -> RawClient {
        let recorder = Recorder()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(FrameDecoder(role: .client, maxPayload: ProtocolLimits.absoluteMaxPayload)),
                        recorder
                    )
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        return RawClient(channel: channel, recorder: recorder)
    }

    /// Connects, sends the preface and a HELLO with `token`, and waits for the answer frame.
    static func handshake(port: Int, token: String) async throws -> RawClient {
        let client = try await connect(port: port)
        var buffer = ByteBuffer()
        Preface().write(to: &buffer)
        client.send(buffer)
        client.send(type: .hello, message: Hello(clientName: "raw", token: token))
        _ = try await client.waitFor { $0.type == .helloAck || $0.type == .goAway }
        return client
    }

    func send(_ bytes: ByteBuffer) {
        self.channel.writeAndFlush(bytes, promise: nil)
    }

    func send(_ bytes: [UInt8]) { self.send(ByteBuffer(bytes: bytes)) }

    func send<M: ProtobufCMessage>(type: FrameType, method: UInt16 = 0, streamID: UInt32 = 0, timeoutMs: UInt32? = nil, message: M) {
        var buffer = ByteBuffer()
        try! buffer.writeFrame(type: type, method: method, streamID: streamID) { (buffer: inout ByteBuffer) throws(CodecError) -> Int in
            var written = 0
            if let timeoutMs { written += buffer.writeInteger(timeoutMs) }
            return written + (try message.encode(into: &buffer, arena: ProtoArena()))
        }
        self.send(buffer)
    }

    var frames: [Frame] { self.recorder.frames.withLockedValue { $0 } }
    var isClosed: Bool { self.recorder.closed.withLockedValue { $0 } }

    /// The first recorded frame matching `predicate`, waiting up to `timeout`.
    func waitFor(timeout: Duration = .seconds(5), _ predicate: (Frame) -> Bool) async throws -> Frame {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let frame = self.frames.first(where: predicate) { return frame }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw RPCError(.deadlineExceeded, "no matching frame; got \(self.frames.map(\.type.name))")
    }

    func waitUntilClosed(timeout: Duration = .seconds(5)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if self.isClosed { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return false
    }

    func goAway() async throws -> GoAway {
        let frame = try await self.waitFor { $0.type == .goAway }
        return try GoAway.decode(from: frame.payload, arena: ProtoArena())
    }

    func error(streamID: UInt32) async throws -> RPCError {
        let frame = try await self.waitFor { $0.type == .error && $0.streamID == streamID }
        return RPCError(status: try RpcStatus.decode(from: frame.payload, arena: ProtoArena()))
    }

    func close() async { try? await self.channel.close() }
}
