import ClaimlineCodec
import ClaimlineCore
import ClaimlineWire
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A stand-in for one claimlined instance whose every answer the test decides: HELLO_ACK (or
/// silence), then per REQUEST a RESPONSE, an ERROR, a GOAWAY, a dropped connection or nothing
/// at all; PONGs, or none (a frozen process). It records what it was sent, idempotency keys,
/// REQUEST timeouts, PINGs and CANCELs included, and which connections the client reset (RST)
/// rather than closed, so failover tests can show where a call went, that a retried write
/// carried the same key, and how the client gave up on a silent instance. Real TCP on 127.0.0.1.
final class ScriptedServer: Sendable {
    /// What the server does with a REQUEST.
    enum Action: Sendable {
        /// A RESPONSE with the method's empty response message.
        case respond
        case error(RPCError)
        /// GOAWAY with this last stream id and SHUTDOWN, then close: the request is unprocessed
        /// when the id is below it.
        case goAway(lastStreamID: UInt32)
        /// Close the connection without a word: the call's outcome is unknown to the client.
        case close
        /// Read it and never answer (a wedged instance, or one slow for this call).
        case ignore
    }

    /// One REQUEST as received.
    struct Received: Sendable {
        var method: UInt16
        var streamID: UInt32
        var idempotencyKey: String
        /// The REQUEST's timeout, milliseconds.
        var timeoutMs: UInt32
    }

    /// Everything but the requests, counted.
    struct Counters: Sendable {
        var pings = 0
        /// Stream ids the client cancelled.
        var cancels: [UInt32] = []
        /// Connections the client reset (RST: ECONNRESET here) rather than closed.
        var resets = 0
        /// Connections that ended, however.
        var closed = 0
    }

    private let script: @Sendable (Int) -> Action
    private let answersHello: Bool
    private let pongs: NIOLockedValueBox<Bool>
    private let counted = NIOLockedValueBox(Counters())
    private let channel = NIOLockedValueBox<(any Channel)?>(nil)
    private let received = NIOLockedValueBox<[Received]>([])
    private let connections = NIOLockedValueBox(0)

    /// - Parameters:
    ///   - answersHello: false: accept, read, never answer (a wedged process).
    ///   - answersPing: false: PINGs get no PONG (a frozen process); see ``answersPing``.
    ///   - script: the action for the n-th request (0-based, over all connections).
    init(answersHello: Bool = true, answersPing: Bool = true, script: @escaping @Sendable (Int) -> Action = { _ in .respond }) {
        self.answersHello = answersHello
        self.pongs = NIOLockedValueBox(answersPing)
        self.script = script
    }

    /// Whether PINGs get their PONG from now on.
    var answersPing: Bool {
        get { self.pongs.withLockedValue { $0 } }
        set { self.pongs.withLockedValue { $0 = newValue } }
    }

    var counters: Counters { self.counted.withLockedValue { $0 } }

    var port: Int { self.channel.withLockedValue { $0!.localAddress!.port! } }
    var address: String { "127.0.0.1:\(self.port)" }
    var requests: [Received] { self.received.withLockedValue { $0 } }
    var acceptedConnections: Int { self.connections.withLockedValue { $0 } }

    func start() async throws {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
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
        self.channel.withLockedValue { $0 = channel }
    }

    func stop() async {
        let channel = self.channel.withLockedValue { $0 }
        try? await channel?.close()
    }

    fileprivate func record(_ frame: Frame) -> Action {
        var payload = frame.payload
        let timeoutMs = payload.readInteger(as: UInt32.self) ?? 0
        let key = Self.idempotencyKey(method: frame.method, payload)
        let index = self.received.withLockedValue { list in
            list.append(Received(method: frame.method, streamID: frame.streamID, idempotencyKey: key, timeoutMs: timeoutMs))
            return list.count - 1
        }
        return self.script(index)
    }

    fileprivate func accepted() { self.connections.withLockedValue { $0 += 1 } }

    fileprivate func count(_ update: (inout Counters) -> Void) { self.counted.withLockedValue { update(&$0) } }

    /// Waits, polling, until `condition` holds of the counters, at most `limit`; whether it did.
    func wait(for limit: Duration = .seconds(10), until condition: (Counters) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if condition(self.counters) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition(self.counters)
    }

    /// The write's key, decoded with the real codec; empty for reads.
    private static func idempotencyKey(method: UInt16, _ payload: ByteBuffer) -> String {
        let arena = ProtoArena()
        switch Method(rawValue: method) {
        case .escalate: return (try? EscalateRequest.decode(from: payload, arena: arena))?.idempotencyKey ?? ""
        case .retain: return (try? RetainRequest.decode(from: payload, arena: arena))?.idempotencyKey ?? ""
        case .fileComplaint: return (try? FileComplaintRequest.decode(from: payload, arena: arena))?.idempotencyKey ?? ""
        case .setSecondLineMode: return (try? SetSecondLineModeRequest.decode(from: payload, arena: arena))?.idempotencyKey ?? ""
        default: return ""
        }
    }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = Frame
        typealias OutboundOut = ByteBuffer
        let server: ScriptedServer
        let arena = ProtoArena()

        init(server: ScriptedServer) { self.server = server }

        func channelActive(context: ChannelHandlerContext) {
            self.server.accepted()
            context.fireChannelActive()
        }

        func channelInactive(context: ChannelHandlerContext) {
            self.server.count { $0.closed += 1 }
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            if let error = error as? IOError, error.errnoCode == ECONNRESET { self.server.count { $0.resets += 1 } }
            context.close(promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = self.unwrapInboundIn(data)
            switch frame.type {
            case .hello:
                guard self.server.answersHello else { return }
                let ack = HelloAck(
                    sessionId: "s-scripted", serverName: "scripted", maxFrameSize: 65536, maxConcurrentStreams: 1024,
                    keepaliveIntervalMs: 30000, idleTimeoutMs: 300_000, role: "admin")
                self.write(context, .helloAck, method: 0, streamID: 0, ack)
            case .request:
                switch self.server.record(frame) {
                case .respond:
                    self.respond(context, frame)
                case .error(let error):
                    self.write(context, .error, method: frame.method, streamID: frame.streamID, error.status)
                case .goAway(let last):
                    self.write(context, .goAway, method: 0, streamID: 0, GoAway(lastStreamId: last, code: 0, reason: "SHUTDOWN", message: "scripted"))
                    context.close(promise: nil)
                case .close:
                    context.close(promise: nil)
                case .ignore:
                    break
                }
            case .ping:
                self.server.count { $0.pings += 1 }
                guard self.server.answersPing else { return }
                var buffer = context.channel.allocator.buffer(capacity: 20)
                buffer.writeFrame(Frame.pong(answering: frame))
                context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
            case .cancel:
                self.server.count { $0.cancels.append(frame.streamID) }
            default:
                break
            }
        }

        private func respond(_ context: ChannelHandlerContext, _ request: Frame) {
            let (method, stream) = (request.method, request.streamID)
            switch Method(rawValue: method) {
            case .escalate: self.write(context, .response, method: method, streamID: stream, EscalateResponse(decision: .fileClaim))
            case .retain: self.write(context, .response, method: method, streamID: stream, RetainResponse())
            case .fileComplaint: self.write(context, .response, method: method, streamID: stream, FileComplaintResponse(claimNumber: "2026-000001"))
            case .getStats: self.write(context, .response, method: method, streamID: stream, GetStatsResponse())
            default: self.write(context, .response, method: method, streamID: stream, SecondLineModeResponse(mode: .normal))
            }
        }

        private func write<M: ProtobufCMessage>(_ context: ChannelHandlerContext, _ type: FrameType, method: UInt16, streamID: UInt32, _ message: M) {
            var buffer = context.channel.allocator.buffer(capacity: 256)
            let arena = self.arena
            _ = try? buffer.writeFrame(type: type, method: method, streamID: streamID) { (out: inout ByteBuffer) throws(CodecError) -> Int in
                try message.encode(into: &out, arena: arena)
            }
            context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
        }
    }
}
