import ClaimlineCodec
import ClaimlineCore
import ClaimlinePolicy
import ClaimlineStore
import ClaimlineWire
import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import ClaimlineServer

/// Counts the `read` calls that get past the connection handler to the socket.
final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    var reads = 0

    func read(context: ChannelHandlerContext) {
        self.reads += 1
        context.read()
    }
}

/// ConnectionHandler on an EmbeddedChannel: the read gate and the parking of requests, with
/// calls the state machine answers itself (unknown method) so no thread is involved.
@Suite("Connection handler backpressure")
struct ConnectionHandlerBackpressureTests {
    static func makeChannel() throws -> (EmbeddedChannel, ReadCounter) {
        var configuration = ServerConfiguration(clients: [.init(name: "ivr-1", token: "token-ivr-1", role: .ivr)])
        configuration.limits.connectionBufferBytes = 1 << 20
        let backend = InMemoryStoreBackend()
        let logger = Logger(label: "test")
        let writer = GroupCommitWriter(
            backend: backend, policy: PolicyHolder(.default), settings: .init(maxBatch: 16, retention: .init()), clock: { 0 }, logger: logger
        )
        let shared = ConnectionHandler.Shared(
            authenticator: Authenticator(configuration.clients),
            router: CallRouter(writer: writer, readers: ReaderPool(backend: backend, threads: 1)),
            registry: ConnectionRegistry(
                limits: .init(
                    maxConnections: 10, maxPendingHandshakes: 10, maxPendingHandshakesPerAddress: 10, maxConnectionsPerAddress: 0,
                    maxConnectionsPerClient: 0)
            ),
            failureLog: LogRateLimiter(),
            logger: logger
        )
        let settings = ConnectionHandler.Settings(
            serverName: "test", maxFrameSize: 65536, maxConcurrentStreams: 16, handshakeTimeout: .seconds(5),
            keepaliveInterval: .seconds(30), idleTimeout: .seconds(300), maxDeadline: .seconds(30),
            bufferBytes: 1 << 20, maxReadsInProgress: 2
        )
        let counter = ReadCounter()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers(counter, ConnectionHandler(settings: settings, shared: shared, sessionID: "s-1"))
        try channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, counter)
    }

    static func hello() throws -> Frame {
        var payload = ByteBuffer()
        _ = try Hello(clientName: "ivr-1", token: "token-ivr-1").encode(into: &payload, arena: ProtoArena())
        return Frame(type: .hello, payload: payload)
    }

    /// A REQUEST for a method number no server knows: answered ERROR UNIMPLEMENTED at once.
    static func unknownMethodRequest(stream: UInt32) -> Frame {
        var payload = ByteBuffer()
        payload.writeInteger(UInt32(0))
        return Frame(type: .request, method: 999, streamID: stream, payload: payload)
    }

    /// Frames written since the last call (each buffer holds whole frames; the first call
    /// starts with HELLO_ACK, later ones read as after the handshake).
    static func outboundFrames(_ channel: EmbeddedChannel, afterHandshake: Bool = true) throws -> [Frame] {
        var decoder = FrameDecoder(role: .client, maxPayload: ProtocolLimits.absoluteMaxPayload, afterHandshake: afterHandshake)
        var frames: [Frame] = []
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            while let frame = try decoder.decode(buffer: &buffer) { frames.append(frame) }
        }
        return frames
    }

    @Test("Not writable: reads are held and requests parked; writable again: both resume in order")
    func readGate() throws {
        let (channel, counter) = try Self.makeChannel()
        try channel.writeInbound(try Self.hello())
        channel.pipeline.fireChannelReadComplete()
        #expect(try Self.outboundFrames(channel, afterHandshake: false).map(\.type) == [.helloAck])

        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        channel.read()
        #expect(counter.reads == 0, "a read while the socket is full must not reach it")
        try channel.writeInbound(Self.unknownMethodRequest(stream: 1))
        try channel.writeInbound(Self.unknownMethodRequest(stream: 3))
        channel.pipeline.fireChannelReadComplete()
        #expect(try Self.outboundFrames(channel).isEmpty, "parked requests are not run")

        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(counter.reads == 1, "the held read goes out once the socket drains")
        let answers = try Self.outboundFrames(channel)
        #expect(answers.map(\.type) == [.error, .error])
        #expect(answers.map(\.streamID) == [1, 3])
        _ = try? channel.finish()
    }

    @Test("Half-close: parked requests are still answered, then the connection closes")
    func halfClose() throws {
        let (channel, _) = try Self.makeChannel()
        try channel.writeInbound(try Self.hello())
        channel.pipeline.fireChannelReadComplete()
        _ = try Self.outboundFrames(channel, afterHandshake: false)
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        try channel.writeInbound(Self.unknownMethodRequest(stream: 1))
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(channel.isActive)
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        let answers = try Self.outboundFrames(channel)
        #expect(answers.map(\.streamID) == [1])
        #expect(!channel.isActive)
    }
}
