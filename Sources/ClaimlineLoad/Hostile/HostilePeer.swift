import ClaimlineCodec
import ClaimlineCore
import ClaimlineWire
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A peer that speaks the framing but not the manners: it sends what it is told, when it is
/// told, may never read (its socket's receive window fills and stays full), may bind to a
/// chosen loopback address, and records every frame it does read. The attacks of
/// ``HostileAttacks`` and the hostile-peer tests are built on it.
public final class HostilePeer: Sendable {
    /// What the peer saw, readable from any thread.
    public struct Seen: Sendable {
        public var frames: [FrameType: Int] = [:]
        /// The largest payload of any frame received.
        public var largestPayload = 0
        public var goAways: [GoAway] = []
        public var closed = false
        public var helloAck: HelloAck?
        /// RESPONSE and ERROR frames by stream id, when ``HostilePeer/keepAnswers`` is on.
        public var answers: [UInt32: Frame] = [:]
    }

    private final class Recorder: ChannelInboundHandler, Sendable {
        typealias InboundIn = Frame
        let seen = NIOLockedValueBox(Seen())
        let waiters = NIOLockedValueBox<[UInt32: CheckedContinuation<Frame?, Never>]>([:])
        let keepAnswers: Bool
        let onAnswer: (@Sendable (Frame) -> Void)?

        init(keepAnswers: Bool, onAnswer: (@Sendable (Frame) -> Void)?) {
            self.keepAnswers = keepAnswers
            self.onAnswer = onAnswer
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = self.unwrapInboundIn(data)
            self.seen.withLockedValue { seen in
                seen.frames[frame.type, default: 0] += 1
                seen.largestPayload = max(seen.largestPayload, frame.payload.readableBytes)
                switch frame.type {
                case .goAway:
                    if let goAway = try? GoAway.decode(from: frame.payload, arena: ProtoArena()) { seen.goAways.append(goAway) }
                case .helloAck:
                    seen.helloAck = try? HelloAck.decode(from: frame.payload, arena: ProtoArena())
                case .response, .error:
                    if self.keepAnswers { seen.answers[frame.streamID] = frame }
                default: break
                }
            }
            if frame.type == .response || frame.type == .error {
                self.waiters.withLockedValue { $0.removeValue(forKey: frame.streamID) }?.resume(returning: frame)
                self.onAnswer?(frame)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            self.seen.withLockedValue { $0.closed = true }
            for waiter in self.waiters.withLockedValue({ w in
                defer { w.removeAll() }; return Array(w.values)
            }) {
                waiter.resume(returning: nil)
            }
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            // The server closed its side: nothing more will come.
            if let event = event as? ChannelEvent, event == .inputClosed {
                self.seen.withLockedValue { $0.closed = true }
                context.close(promise: nil)
            }
            context.fireUserInboundEventTriggered(event)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }

    public let channel: any Channel
    private let recorder: Recorder
    private let nextStream = NIOLockedValueBox<UInt32>(1)

    private init(channel: any Channel, recorder: Recorder) {
        self.channel = channel
        self.recorder = recorder
    }

    /// Connects, without sending anything.
    /// - Parameters:
    ///   - reads: false: the peer never reads, so the server's answers pile up in the kernel.
    ///   - from: a local address to bind (e.g. "127.0.0.2"), to look like another host.
    ///   - onAnswer: runs on the event loop for each RESPONSE or ERROR frame.
    public static func connect(
        host: String, port: Int, reads: Bool = true, from: String? = nil, keepAnswers: Bool = false,
        onAnswer: (@Sendable (Frame) -> Void)? = nil
    ) async throws -> HostilePeer {
        let recorder = Recorder(keepAnswers: keepAnswers, onAnswer: onAnswer)
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .channelOption(.autoRead, value: reads)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(FrameDecoder(role: .client, maxPayload: ProtocolLimits.absoluteMaxPayload)),
                        recorder
                    )
                }
            }
        if let from {
            bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: from, port: 0))
        }
        let channel = try await bootstrap.connect(host: host, port: port).get()
        return HostilePeer(channel: channel, recorder: recorder)
    }

    public var seen: Seen { self.recorder.seen.withLockedValue { $0 } }

    /// Sends the preface and a HELLO.
    public func hello(token: String, clientName: String = "hostile") {
        var buffer = ByteBuffer()
        Preface().write(to: &buffer)
        self.append(type: .hello, message: Hello(clientName: clientName, token: token), to: &buffer)
        self.channel.writeAndFlush(buffer, promise: nil)
    }

    /// Waits for HELLO_ACK (true) or GOAWAY or close (false).
    public func handshake(token: String, clientName: String = "hostile", timeout: Duration = .seconds(5)) async throws -> Bool {
        self.hello(token: token, clientName: clientName)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let seen = self.seen
            if seen.helloAck != nil { return true }
            if !seen.goAways.isEmpty || seen.closed { return false }
            try await Task.sleep(for: .milliseconds(2))
        }
        return false
    }

    /// Appends REQUEST frames for `messages` on fresh stream ids and flushes them as one write;
    /// returns the stream ids.
    @discardableResult
    public func request<M: ProtobufCMessage>(_ method: Method, _ messages: [M], timeoutMs: UInt32 = 0) -> [UInt32] {
        var buffer = ByteBuffer()
        var ids: [UInt32] = []
        for message in messages {
            let id = self.nextStream.withLockedValue { id in
                defer { id += 2 }
                return id
            }
            ids.append(id)
            let arena = ProtoArena()
            _ = try? buffer.writeFrame(type: .request, method: method.rawValue, streamID: id) { (out: inout ByteBuffer) throws(CodecError) -> Int in
                out.writeInteger(timeoutMs) + (try message.encode(into: &out, arena: arena))
            }
        }
        self.channel.writeAndFlush(buffer, promise: nil)
        return ids
    }

    /// One call, waited for: its RESPONSE or ERROR frame, nil if the connection closed first.
    public func call<M: ProtobufCMessage>(_ method: Method, _ message: M, timeoutMs: UInt32 = 0) async -> Frame? {
        let id = self.nextStream.withLockedValue { id in
            defer { id += 2 }
            return id
        }
        var buffer = ByteBuffer()
        _ = try? buffer.writeFrame(type: .request, method: method.rawValue, streamID: id) { (out: inout ByteBuffer) throws(CodecError) -> Int in
            out.writeInteger(timeoutMs) + (try message.encode(into: &out, arena: ProtoArena()))
        }
        return await withCheckedContinuation { continuation in
            let closed = self.recorder.seen.withLockedValue { $0.closed }
            if closed {
                continuation.resume(returning: nil)
                return
            }
            self.recorder.waiters.withLockedValue { $0[id] = continuation }
            self.channel.writeAndFlush(buffer, promise: nil)
        }
    }

    /// Sends a frame of any type with `message` as payload (e.g. a client GOAWAY).
    public func send<M: ProtobufCMessage>(type: FrameType, message: M) {
        var buffer = ByteBuffer()
        self.append(type: type, message: message, to: &buffer)
        self.channel.writeAndFlush(buffer, promise: nil)
    }

    /// Sends raw bytes as they are.
    public func send(bytes: [UInt8]) {
        self.channel.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil)
    }

    /// shutdown(SHUT_WR): the peer says it will send nothing more, and keeps reading.
    public func shutdownOutput() async throws {
        try await self.channel.close(mode: .output)
    }

    public func close() async {
        try? await self.channel.close()
    }

    /// Waits until `condition` holds of what was seen, or `timeout`; returns whether it held.
    public func wait(timeout: Duration = .seconds(5), until condition: (Seen) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition(self.seen) { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return condition(self.seen)
    }

    private func append<M: ProtobufCMessage>(type: FrameType, message: M, to buffer: inout ByteBuffer) {
        let arena = ProtoArena()
        _ = try? buffer.writeFrame(type: type, streamID: 0) { (out: inout ByteBuffer) throws(CodecError) -> Int in
            try message.encode(into: &out, arena: arena)
        }
    }
}
