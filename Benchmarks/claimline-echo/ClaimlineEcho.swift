import ClaimlineCodec
import ClaimlineCore
import ClaimlineWire
import NIOCore
import NIOPosix

/// `claimline-echo`: the transport's ceiling, for `make bench` to put beside every figure.
///
/// A SwiftNIO server speaking Claimline's framing (the 8-byte preface, 12-byte frame headers,
/// HELLO and HELLO_ACK) that does no work: every REQUEST is answered at once with one fixed,
/// pre-encoded EscalateResponse, written and flushed once per read burst. No store, no writer
/// thread, no validation, no decode of the request: what claimlined costs beyond this is the
/// service itself. The load harness drives it with the same settings as claimlined.
///
///     claimline-echo --listen 127.0.0.1:7499 [--threads 2]
@main
struct ClaimlineEcho {
    static func main() async throws {
        var listen = "127.0.0.1:7499"
        var threads = System.coreCount
        var arguments = CommandLine.arguments.dropFirst().makeIterator()
        while let argument = arguments.next() {
            switch argument {
            case "--listen": listen = arguments.next() ?? listen
            case "--threads": threads = Int(arguments.next() ?? "") ?? threads
            default:
                print("usage: claimline-echo [--listen host:port] [--threads N]")
                return
            }
        }
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
            print("--listen: host:port")
            return
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let answer = try Self.encoded(EscalateResponse(decision: .transferToSecondLine, rule: "echo", state: .withSecondLine))
        let ack = try Self.encoded(
            HelloAck(
                sessionId: "echo", serverName: "claimline-echo", maxFrameSize: UInt32(ProtocolLimits.defaultMaxPayload),
                maxConcurrentStreams: 100_000, keepaliveIntervalMs: 0, idleTimeoutMs: 0, role: Role.admin.rawValue,
                maxDeadlineMs: 30000
            )
        )
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(FrameDecoder(role: .server, maxPayload: ProtocolLimits.defaultMaxPayload)),
                        EchoHandler(answer: answer, ack: ack)
                    )
                }
            }
            .bind(host: String(listen[..<colon]), port: port)
            .get()
        print("claimline-echo listening on \(channel.localAddress!)")
        try await channel.closeFuture.get()
    }

    static func encoded<M: ProtobufCMessage>(_ message: M) throws -> [UInt8] {
        var buffer = ByteBuffer()
        _ = try message.encode(into: &buffer, arena: ProtoArena())
        return Array(buffer.readableBytesView)
    }
}
