import ClaimlineClient
import ClaimlineCodec
import ClaimlineCore
import ClaimlineStore
import ClaimlineWire
import NIOCore
import Testing

/// The session manager over real TCP: what PROTOCOL.md sections 3, 6 and 7 promise.
@Suite("Session manager and protocol", .serialized)
struct ProtocolTests {
    @Test("A bad preface gets GOAWAY BAD_PREFACE and the connection closes")
    func badPreface() async throws {
        let server = try await TestServer.start()
        let client = try await RawClient.connect(port: server.port)
        client.send(Array("GET / HTTP/1.1\r\n\r\n".utf8))
        let goAway = try await client.goAway()
        #expect(goAway.reason == "BAD_PREFACE")
        #expect(goAway.code == StatusCode.internal.rawValue)
        #expect(await client.waitUntilClosed())
        try await server.stop()
    }

    @Test("An unsupported major version gets GOAWAY UNSUPPORTED_VERSION")
    func unsupportedVersion() async throws {
        let server = try await TestServer.start()
        let client = try await RawClient.connect(port: server.port)
        client.send([0x43, 0x4C, 0x4D, 0x4C, 9, 0, 0, 0])
        let goAway = try await client.goAway()
        #expect(goAway.reason == "UNSUPPORTED_VERSION")
        #expect(goAway.code == StatusCode.unimplemented.rawValue)
        try await server.stop()
    }

    @Test("No HELLO within the handshake timeout: GOAWAY HANDSHAKE_TIMEOUT")
    func handshakeTimeout() async throws {
        let server = try await TestServer.start(configuration: TestServer.configuration { $0.limits.handshakeTimeoutMs = 100 })
        let client = try await RawClient.connect(port: server.port)
        var preface = ByteBuffer()
        Preface().write(to: &preface)
        client.send(preface)
        let goAway = try await client.goAway()
        #expect(goAway.reason == "HANDSHAKE_TIMEOUT")
        #expect(await client.waitUntilClosed())
        try await server.stop()
    }

    @Test("A bad token gets GOAWAY UNAUTHENTICATED; the client sees UNAUTHENTICATED")
    func badToken() async throws {
        let server = try await TestServer.start()
        let error = await rpcError {
            _ = try await ClaimlineConnection.connect(host: "127.0.0.1", port: server.port, token: "wrong-token-123", clientName: "x")
        }
        #expect(error?.code == .unauthenticated)
        let raw = try await RawClient.handshake(port: server.port, token: "also-wrong-token")
        #expect(try await raw.goAway().reason == "UNAUTHENTICATED")
        #expect(await raw.waitUntilClosed())
        try await server.stop()
    }

    @Test("HELLO_ACK advertises the limits, the role and a session id")
    func helloAck() async throws {
        let server = try await TestServer.start(
            configuration: TestServer.configuration {
                $0.limits.maxFrameSize = 32768
                $0.limits.maxConcurrentStreams = 77
            })
        let connection = try await server.connect(.agent)
        #expect(connection.helloAck.maxFrameSize == 32768)
        #expect(connection.helloAck.maxConcurrentStreams == 77)
        #expect(connection.helloAck.role == "agent")
        #expect(connection.helloAck.sessionId.hasPrefix("s-"))
        await connection.close()
        try await server.stop()
    }

    @Test("An unknown method is UNIMPLEMENTED on its stream and the connection lives")
    func unknownMethod() async throws {
        let server = try await TestServer.start()
        let connection = try await server.connect()
        let error = await rpcError { _ = try await connection.callRaw(999, timeout: .seconds(2)) { _, _ in 0 } }
        #expect(error?.code == .unimplemented)
        #expect(try await connection.call(.getSecondLineMode, GetSecondLineModeRequest(), as: SecondLineModeResponse.self).mode == .normal)
        await connection.close()
        try await server.stop()
    }

    @Test("Malformed protobuf, invalid UTF-8 and a NUL are INVALID_ARGUMENT naming the field")
    func badMessages() async throws {
        let server = try await TestServer.start()
        let connection = try await server.connect()
        let malformed = await rpcError {
            _ = try await connection.callRaw(Method.fileComplaint.rawValue, timeout: .seconds(2)) { buffer, _ in
                buffer.writeBytes([0x0A, 0x50, 0x41])
            }
        }
        #expect(malformed?.code == .invalidArgument)
        #expect(malformed?.fieldViolations.map(\.field) == ["idempotency_key"], "the length runs past the end of that field")
        // Field number 0: no field to blame.
        let badTag = await rpcError {
            _ = try await connection.callRaw(Method.fileComplaint.rawValue, timeout: .seconds(2)) { buffer, _ in buffer.writeBytes([0x00, 0x01]) }
        }
        #expect(badTag?.code == .invalidArgument)
        #expect(badTag?.reason == "MALFORMED_MESSAGE")
        // description (field 6) with an invalid UTF-8 byte
        let badUTF8 = await rpcError {
            _ = try await connection.callRaw(Method.fileComplaint.rawValue, timeout: .seconds(2)) { buffer, _ in
                buffer.writeBytes([0x32, 2, 0xD0, 0x41])
            }
        }
        #expect(badUTF8?.code == .invalidArgument)
        #expect(badUTF8?.fieldViolations.first?.field == "description")
        let nul = await rpcError {
            _ = try await connection.callRaw(Method.fileComplaint.rawValue, timeout: .seconds(2)) { buffer, _ in
                buffer.writeBytes([0x32, 3, 0x41, 0x00, 0x42])
            }
        }
        #expect(nul?.fieldViolations.first?.field == "description")
        #expect(nul?.message.contains("NUL") == true)
        await connection.close()
        try await server.stop()
    }

    @Test("PING is answered with PONG carrying the same bytes")
    func ping() async throws {
        let server = try await TestServer.start()
        let client = try await RawClient.handshake(port: server.port, token: TestServer.tokens[.admin]!)
        var buffer = ByteBuffer()
        buffer.writeFrame(Frame.ping(0xDEAD_BEEF_0BAD_F00D))
        client.send(buffer)
        let pong = try await client.waitFor { $0.type == .pong }
        #expect(pong.payload.getInteger(at: pong.payload.readerIndex, as: UInt64.self) == 0xDEAD_BEEF_0BAD_F00D)
        await client.close()
        try await server.stop()
    }

    @Test("An oversized frame gets GOAWAY FRAME_TOO_LARGE, before its payload is sent")
    func oversized() async throws {
        let server = try await TestServer.start()
        let client = try await RawClient.handshake(port: server.port, token: TestServer.tokens[.admin]!)
        var header = ByteBuffer()
        header.writeMultipleIntegers(UInt32(10_000_000), FrameType.request.rawValue, UInt8(0), UInt16(1), UInt32(1))
        client.send(header)
        let goAway = try await client.goAway()
        #expect(goAway.reason == "FRAME_TOO_LARGE")
        #expect(goAway.code == StatusCode.resourceExhausted.rawValue)
        #expect(await client.waitUntilClosed())
        try await server.stop()
    }

    @Test("An unknown frame type and a reused stream id are connection errors")
    func protocolErrors() async throws {
        let server = try await TestServer.start()
        let client = try await RawClient.handshake(port: server.port, token: TestServer.tokens[.admin]!)
        var frame = ByteBuffer()
        frame.writeMultipleIntegers(UInt32(0), UInt8(0x2A), UInt8(0), UInt16(0), UInt32(1))
        client.send(frame)
        #expect(try await client.goAway().reason == "PROTOCOL_ERROR")
        #expect(await client.waitUntilClosed())

        let second = try await RawClient.handshake(port: server.port, token: TestServer.tokens[.admin]!)
        second.send(type: .request, method: Method.getSecondLineMode.rawValue, streamID: 5, timeoutMs: 1000, message: GetSecondLineModeRequest())
        _ = try await second.waitFor { $0.streamID == 5 }
        second.send(type: .request, method: Method.getSecondLineMode.rawValue, streamID: 5, timeoutMs: 1000, message: GetSecondLineModeRequest())
        let goAway = try await second.goAway()
        #expect(goAway.reason == "PROTOCOL_ERROR")
        #expect(goAway.lastStreamId == 5)
        try await server.stop()
    }

    @Test("More requests in flight than advertised: RESOURCE_EXHAUSTED for the extra ones")
    func tooManyStreams() async throws {
        let slow = SlowStoreBackend(InMemoryStoreBackend(), commitDelayMs: 300)
        let server = try await TestServer.start(backend: slow, configuration: TestServer.configuration { $0.limits.maxConcurrentStreams = 2 })
        let client = try await RawClient.handshake(port: server.port, token: TestServer.tokens[.agent]!)
        for stream in UInt32(1)...3 {
            client.send(type: .request, method: Method.fileComplaint.rawValue, streamID: stream, timeoutMs: 5000, message: Requests.file())
        }
        let error = try await client.error(streamID: 3)
        #expect(error.code == .resourceExhausted)
        let first = try await client.waitFor { $0.streamID == 1 }
        #expect(first.type == .response)
        await client.close()
        try await server.stop()
    }

    @Test("A write still queued at its deadline: DEADLINE_EXCEEDED 'not applied', no late answer, not stored")
    func deadline() async throws {
        let slow = SlowStoreBackend(InMemoryStoreBackend(), commitDelayMs: 400)
        let server = try await TestServer.start(backend: slow)
        let client = try await RawClient.handshake(port: server.port, token: TestServer.tokens[.agent]!)
        // Stream 1 occupies the writer for 400 ms; stream 3 waits behind it past its deadline.
        client.send(type: .request, method: Method.fileComplaint.rawValue, streamID: 1, timeoutMs: 5000, message: Requests.file())
        try await slow.waitForCommits()
        let late = Requests.file()
        client.send(type: .request, method: Method.fileComplaint.rawValue, streamID: 3, timeoutMs: 50, message: late)
        let error = try await client.error(streamID: 3)
        #expect(error.code == .deadlineExceeded)
        #expect(error.message.contains("not applied"))
        try await Task.sleep(for: .milliseconds(700))
        #expect(client.frames.filter { $0.streamID == 3 }.count == 1, "a late answer followed the deadline")
        let admin = try await server.connect(.admin)
        let stored = try await admin.call(.listClaims, ListClaimsRequest(pageSize: 10), as: ListClaimsResponse.self)
        #expect(stored.claims.count == 1, "stream 1 was applied")
        #expect(!stored.claims.contains { $0.callId == late.callId })
        await admin.close()
        await client.close()
        try await server.stop()
    }

    @Test("A write the writer took before its deadline is applied and answered with its result, late")
    func appliedLate() async throws {
        let slow = SlowStoreBackend(InMemoryStoreBackend(), commitDelayMs: 400)
        let server = try await TestServer.start(backend: slow)
        let client = try await RawClient.handshake(port: server.port, token: TestServer.tokens[.agent]!)
        client.send(type: .request, method: Method.fileComplaint.rawValue, streamID: 1, timeoutMs: 50, message: Requests.file())
        let answer = try await client.waitFor { $0.streamID == 1 }
        #expect(answer.type == .response, "applied, so the caller learns the claim number")
        try await Task.sleep(for: .milliseconds(100))
        #expect(client.frames.filter { $0.streamID == 1 }.count == 1)
        await client.close()
        try await server.stop()
    }

    @Test("CANCEL: nothing more is sent on the stream, and a queued write is not applied")
    func cancel() async throws {
        let slow = SlowStoreBackend(InMemoryStoreBackend(), commitDelayMs: 300)
        let server = try await TestServer.start(backend: slow)
        let client = try await RawClient.handshake(port: server.port, token: TestServer.tokens[.agent]!)
        // Stream 1 occupies the writer; stream 3 waits in the queue and is cancelled there.
        client.send(type: .request, method: Method.fileComplaint.rawValue, streamID: 1, timeoutMs: 5000, message: Requests.file())
        let cancelled = Requests.file()
        try await slow.waitForCommits()
        client.send(type: .request, method: Method.fileComplaint.rawValue, streamID: 3, timeoutMs: 5000, message: cancelled)
        var cancel = ByteBuffer()
        cancel.writeFrame(Frame.cancel(streamID: 3))
        client.send(cancel)
        _ = try await client.waitFor { $0.streamID == 1 }
        try await Task.sleep(for: .milliseconds(700))
        #expect(client.frames.filter { $0.streamID == 3 }.isEmpty)
        // The cancelled call's key was never used: filing it again makes a new claim.
        let connection = try await server.connect(.agent)
        let answer = try await connection.file(cancelled)
        #expect(!answer.claimNumber.isEmpty)
        let claims = try await connection.call(.listClaims, ListClaimsRequest(), as: ListClaimsResponse.self).claims
        #expect(claims.count == 2)
        await connection.close()
        await client.close()
        try await server.stop()
    }

    @Test("Graceful shutdown: GOAWAY with the last stream, in-flight calls answered, then close")
    func gracefulShutdown() async throws {
        let slow = SlowStoreBackend(InMemoryStoreBackend(), commitDelayMs: 300)
        let server = try await TestServer.start(backend: slow)
        let client = try await RawClient.handshake(port: server.port, token: TestServer.tokens[.agent]!)
        client.send(type: .request, method: Method.fileComplaint.rawValue, streamID: 1, timeoutMs: 5000, message: Requests.file())
        try await slow.waitForCommits()
        let stopping = Task { try await server.stop() }
        let goAway = try await client.goAway()
        #expect(goAway.code == 0)
        #expect(goAway.reason == "SHUTDOWN")
        #expect(goAway.lastStreamId == 1)
        let answer = try await client.waitFor { $0.streamID == 1 }
        #expect(answer.type == .response)
        #expect(await client.waitUntilClosed())
        try await stopping.value
    }

    @Test("An idle connection is closed with GOAWAY IDLE_TIMEOUT")
    func idle() async throws {
        let server = try await TestServer.start(
            configuration: TestServer.configuration {
                $0.limits.idleTimeoutMs = 200
                $0.limits.keepaliveIntervalMs = 100
            })
        let client = try await RawClient.handshake(port: server.port, token: TestServer.tokens[.ivr]!)
        let goAway = try await client.goAway()
        #expect(goAway.reason == "IDLE_TIMEOUT")
        #expect(client.frames.contains { $0.type == .ping } || goAway.code == 0)
        try await server.stop()
    }

    @Test("One authenticated connection over the limit gets GOAWAY TOO_MANY_CONNECTIONS at HELLO; the others are served")
    func connectionLimit() async throws {
        let server = try await TestServer.start(configuration: TestServer.configuration { $0.limits.maxConnections = 2 })
        let first = try await server.connect(.ivr)
        let second = try await server.connect(.ivr)
        let third = try await RawClient.handshake(port: server.port, token: TestServer.tokens[.ivr]!)
        let goAway = try await third.goAway()
        #expect(goAway.reason == "TOO_MANY_CONNECTIONS")
        #expect(goAway.code == StatusCode.resourceExhausted.rawValue)
        #expect(await third.waitUntilClosed())
        #expect(try await first.call(.getSecondLineMode, GetSecondLineModeRequest(), as: SecondLineModeResponse.self).mode == .normal)
        #expect(server.server.connectionRefusals["TOO_MANY_CONNECTIONS"] == 1)
        await first.close()
        await second.close()
        try await server.stop()
    }

    @Test("A client that never answers PING is closed with GOAWAY KEEPALIVE_TIMEOUT")
    func keepaliveTimeout() async throws {
        let server = try await TestServer.start(
            configuration: TestServer.configuration {
                $0.limits.keepaliveIntervalMs = 100
                $0.limits.idleTimeoutMs = 60_000
            })
        // RawClient records PINGs but never answers them.
        let client = try await RawClient.handshake(port: server.port, token: TestServer.tokens[.ivr]!)
        _ = try await client.waitFor { $0.type == .ping }
        let goAway = try await client.goAway()
        #expect(goAway.reason == "KEEPALIVE_TIMEOUT")
        #expect(await client.waitUntilClosed())
        // A client that answers stays: the Swift client answers PINGs itself.
        let answering = try await server.connect(.ivr)
        try await Task.sleep(for: .milliseconds(500))
        #expect(answering.isUsable)
        await answering.close()
        try await server.stop()
    }
}
