import ClaimlineCodec
import ClaimlineCore
import ClaimlineWire
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// One authenticated connection to claimlined, with many calls in flight at once.
///
/// The building block of ``ClaimlineClient``: it owns no retry logic. Calls are async; a
/// call's timeout travels to the server as its deadline, and when it passes here the call
/// fails DEADLINE_EXCEEDED (PROTOCOL.md 8.1, step 3: CANCEL, or a reset when the connection
/// is silent). The connection PINGs when it is silent and resets itself when no frame follows.
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
    /// and waits for HELLO_ACK, all within `connectTimeout` (PROTOCOL.md 8.1's
    /// `connect_timeout_ms`: an instance that accepts but never answers counts as down).
    /// `settings` gives the keepalive (the failover settings' other fields are the pool's).
    /// Throws ``RPCError`` (UNAUTHENTICATED for a bad token, UNAVAILABLE CONNECT_FAILED when
    /// unreachable or when the server accepts but does not answer HELLO in time).
    public static func connect(
        host: String,
        port: Int,
        token: String,
        clientName: String,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        connectTimeout: TimeAmount = .seconds(5),
        tls: ClaimlineTLS? = nil,
        settings: FailoverSettings = FailoverSettings()
    ) async throws -> ClaimlineConnection {
        let address = ClaimlineAddress(host: host, port: port)
        let hello = Hello(clientName: clientName, token: token)
        let health = ConnectionHealth()
        let started = NIODeadline.now()
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
                        let handler = ClientConnectionHandler(hello: hello, helloPromise: promise, health: health, settings: settings)
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
        // past the connect timeout: what the TCP connect left of it is HELLO_ACK's.
        let timedOut = NIOLockedValueBox(false)
        let timer = channel.eventLoop.scheduleTask(deadline: started + connectTimeout) {
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
    /// is decoded as `Response`. Throws ``RPCError``. At `timeout` this side gives up
    /// (DEADLINE_EXCEEDED, reason CLIENT_DEADLINE): with CANCEL when the connection is alive,
    /// or by resetting it when nothing at all arrived since the request went out (PROTOCOL.md
    /// 8.1, step 3), which fails every other call on it CONNECTION_CLOSED.
    public func call<Request: ProtobufCMessage, Response: ProtobufCMessage>(
        _ method: Method,
        _ request: Request,
        as: Response.Type = Response.self,
        timeout: Duration = .seconds(5)
    ) async throws -> Response {
        do {
            return try await self.attempt(method, request, as: Response.self, timeout: timeout)
        } catch let failure as ClientFailure {
            throw failure.error
        }
    }

    /// A call with a method number and body of the caller's choice (tests of the server's
    /// handling of unknown methods and malformed messages).
    public func callRaw(
        _ method: UInt16,
        timeout: Duration,
        body: @escaping @Sendable (inout ByteBuffer, ProtoArena) throws(CodecError) -> Int
    ) async throws -> ByteBuffer {
        do {
            return try await self.attemptRaw(method, timeout: timeout, body: body)
        } catch let failure as ClientFailure {
            throw failure.error
        }
    }

    /// One attempt of a call (PROTOCOL.md 8.1): the answer, or the server's ``RPCError``, or a
    /// ``ClientFailure`` naming the outcome when it ended on this side.
    func attempt<Request: ProtobufCMessage, Response: ProtobufCMessage>(
        _ method: Method,
        _ request: Request,
        as: Response.Type,
        timeout: Duration
    ) async throws -> Response {
        let payload = try await self.attemptRaw(method.rawValue, timeout: timeout) { buffer, arena throws(CodecError) in
            try request.encode(into: &buffer, arena: arena)
        }
        do {
            return try Response.decode(from: payload, arena: ProtoArena(initialCapacity: 1024))
        } catch {
            throw RPCError(.internal, "the server's answer does not decode: \(error)", reason: "BAD_RESPONSE")
        }
    }

    func attemptRaw(
        _ method: UInt16,
        timeout: Duration,
        body: @escaping @Sendable (inout ByteBuffer, ProtoArena) throws(CodecError) -> Int
    ) async throws -> ByteBuffer {
        let loop = self.channel.eventLoop
        let promise = loop.makePromise(of: ByteBuffer.self)
        // Whole milliseconds on the wire, never 0 (which would mean "the server's ceiling").
        let timeoutMs = max(1, UInt32(clamping: timeout.failoverNanoseconds / 1_000_000))
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
            // The attempt ends with its REQUEST's timeout: an instance that reads the request
            // later answers DEADLINE_EXCEEDED without applying it, and one that never reads it
            // is found silent here.
            let timer = loop.scheduleTask(in: .milliseconds(Int64(timeoutMs))) {
                handler.value.attemptExpired(streamID: streamID, timeoutMs: timeoutMs)
            }
            promise.futureResult.whenComplete { _ in timer.cancel() }
        }
        return try await promise.futureResult.get()
    }

    public func close() async {
        try? await self.channel.close()
    }
}
