import ClaimlineCodec
import ClaimlineCore
import ClaimlineWire
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// One authenticated connection to claimlined, with many calls in flight at once.
///
/// The building block of ``ClaimlineClient``: it owns no retry logic. Calls are async; a
/// call's timeout travels to the server as its deadline, and when it passes here the call is
/// cancelled on the wire (CANCEL) and fails DEADLINE_EXCEEDED.
public final class ClaimlineConnection: Sendable {
    public let channel: any Channel
    /// The instance this connection goes to, as it was dialled.
    public let address: ClaimlineAddress
    /// The server's limits and this session's id.
    public let helloAck: HelloAck
    private let handler: NIOLoopBound<ClientConnectionHandler>
    let health: ConnectionHealth

    private init(
        channel: any Channel, address: ClaimlineAddress, helloAck: HelloAck, handler: NIOLoopBound<ClientConnectionHandler>,
        health: ConnectionHealth
    ) {
        self.channel = channel
        self.address = address
        self.helloAck = helloAck
        self.handler = handler
        self.health = health
    }

    /// False once the server sent GOAWAY or the connection closed: open a new one.
    public var isUsable: Bool { self.health.isUsable && self.channel.isActive }

    /// Connects (with `tls`, completes the TLS handshake first), sends the preface and HELLO,
    /// and waits for HELLO_ACK, `connectTimeout` for each.
    /// Throws ``RPCError`` (UNAUTHENTICATED for a bad token, UNAVAILABLE when unreachable or
    /// when the server accepts but does not answer HELLO in time).
    public static func connect(
        host: String,
        port: Int,
        token: String,
        clientName: String,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        connectTimeout: TimeAmount = .seconds(5),
        tls: ClaimlineTLS? = nil
    ) async throws -> ClaimlineConnection {
        let address = ClaimlineAddress(host: host, port: port)
        let hello = Hello(clientName: clientName, token: token)
        let health = ConnectionHealth()
        let channel: any Channel
        let helloFuture: EventLoopFuture<HelloAck>
        let boundHandler: NIOLoopBound<ClientConnectionHandler>
        do {
            (channel, helloFuture, boundHandler) = try await ClientBootstrap(group: group)
                .connectTimeout(connectTimeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let promise = channel.eventLoop.makePromise(of: HelloAck.self)
                        let handler = ClientConnectionHandler(hello: hello, helloPromise: promise, health: health)
                        if let tls {
                            try channel.pipeline.syncOperations.addHandler(try tls.makeHandler(host: host))
                        }
                        try channel.pipeline.syncOperations.addHandlers(
                            ByteToMessageHandler(FrameDecoder(role: .client, maxPayload: ProtocolLimits.absoluteMaxPayload)),
                            handler
                        )
                        return (channel, promise.futureResult, NIOLoopBound(handler, eventLoop: channel.eventLoop))
                    }
                }
        } catch {
            throw RPCError(.unavailable, "cannot connect to \(address): \(error)", reason: ClientReason.connectFailed)
        }
        // A process that accepts but never answers (stopped, wedged) must not hold the caller
        // forever: it gets the connect timeout again for HELLO_ACK, then counts as down.
        let timedOut = NIOLockedValueBox(false)
        let timer = channel.eventLoop.scheduleTask(in: connectTimeout) {
            timedOut.withLockedValue { $0 = true }
            channel.close(promise: nil)
        }
        do {
            let ack = try await helloFuture.get()
            timer.cancel()
            return ClaimlineConnection(channel: channel, address: address, helloAck: ack, handler: boundHandler, health: health)
        } catch {
            timer.cancel()
            channel.close(promise: nil)
            if timedOut.withLockedValue({ $0 }) {
                throw RPCError(
                    .unavailable, "cannot connect to \(address): no HELLO_ACK within \(connectTimeout.nanoseconds / 1_000_000) ms",
                    reason: ClientReason.connectFailed)
            }
            throw error
        }
    }

    /// One call: the request goes out as a REQUEST with `timeout` as its deadline; the answer
    /// is decoded as `Response`. Throws ``RPCError``.
    public func call<Request: ProtobufCMessage, Response: ProtobufCMessage>(
        _ method: Method,
        _ request: Request,
        as: Response.Type = Response.self,
        timeout: Duration = .seconds(5)
    ) async throws -> Response {
        let payload = try await self.callRaw(method.rawValue, timeout: timeout) { buffer, arena throws(CodecError) in
            try request.encode(into: &buffer, arena: arena)
        }
        do {
            return try Response.decode(from: payload, arena: ProtoArena(initialCapacity: 1024))
        } catch {
            throw RPCError(.internal, "the server's answer does not decode: \(error)", reason: "BAD_RESPONSE")
        }
    }

    /// A call with a method number and body of the caller's choice (tests of the server's
    /// handling of unknown methods and malformed messages).
    public func callRaw(
        _ method: UInt16,
        timeout: Duration,
        body: @escaping @Sendable (inout ByteBuffer, ProtoArena) throws(CodecError) -> Int
    ) async throws -> ByteBuffer {
        let loop = self.channel.eventLoop
        let promise = loop.makePromise(of: ByteBuffer.self)
        let timeoutMs = UInt32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let handler = self.handler
        loop.execute {
            // The connection's own arena: this runs on its event loop, so no arena per call.
            let arena = handler.value.arena
            guard
                let streamID = handler.value.send(
                    method: method, timeoutMs: timeoutMs, body: { buffer throws(CodecError) in try body(&buffer, arena) }, waiter: promise)
            else {
                return
            }
            // The client's own deadline, a little after the server's, in case the server is gone.
            let timer = loop.scheduleTask(in: .milliseconds(Int64(timeoutMs) + 250)) {
                handler.value.cancel(
                    streamID: streamID, error: RPCError(.deadlineExceeded, "no answer within \(timeoutMs) ms", reason: "CLIENT_DEADLINE"))
            }
            promise.futureResult.whenComplete { _ in timer.cancel() }
        }
        return try await promise.futureResult.get()
    }

    public func close() async {
        try? await self.channel.close()
    }

    /// Takes no new calls and closes once the calls already out are answered (or given up):
    /// how the pool leaves an instance it moves away from without failing work in flight there.
    func retire() {
        let handler = self.handler
        self.channel.eventLoop.execute { handler.value.retire() }
    }
}
