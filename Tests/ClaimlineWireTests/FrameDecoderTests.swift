import ClaimlineWire
import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

@Suite("Frame decoder")
struct FrameDecoderTests {
    let file: GoldenVectorFile

    init() throws { self.file = try GoldenVectorFile.load() }

    private func bytes(_ names: String...) -> [UInt8] { names.flatMap { self.file.vector($0).bytes } }

    /// A header with arbitrary fields, for frames no honest peer would send.
    private static func header(length: UInt32, type: UInt8, method: UInt16 = 0, stream: UInt32) -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeMultipleIntegers(length, type, UInt8(0), method, stream)
        return Array(buffer.readableBytesView)
    }

    /// Feeds `input` to a server-role decoder and returns what it produced or the error it threw.
    private static func decodeAll(_ input: [UInt8], role: FrameDecoder.Role = .server, afterHandshake: Bool = false) -> ([Frame], FramingError?) {
        var decoder = FrameDecoder(role: role, afterHandshake: afterHandshake)
        var buffer = ByteBuffer(bytes: input)
        var frames: [Frame] = []
        do {
            while let frame = try decoder.decode(buffer: &buffer) { frames.append(frame) }
            return (frames, nil)
        } catch {
            return (frames, error)
        }
    }

    @Test("ByteToMessageDecoderVerifier: drip-fed, batched and whole inputs give the same frames")
    func verifier() throws {
        let names = ["escalate.response", "error.invalid_argument", "ping", "pong", "goaway.shutdown", "list_incidents.response"]
        let pairs: [(ByteBuffer, [Frame])] = try names.map { name in
            let bytes = self.file.vector(name).bytes
            var decoder = FrameDecoder(role: .client, afterHandshake: true)
            var buffer = ByteBuffer(bytes: bytes)
            return (ByteBuffer(bytes: bytes), [try #require(try decoder.decode(buffer: &buffer))])
        }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) {
            FrameDecoder(role: .client, afterHandshake: true)
        }
    }

    @Test("A stream split at every byte boundary decodes to the same frames")
    func everySplit() throws {
        let input = self.bytes("preface", "hello", "escalate.request", "ping", "cancel", "file_complaint.request")
        let (expected, error) = Self.decodeAll(input)
        #expect(error == nil)
        #expect(expected.count == 5)
        for split in 1..<input.count {
            let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(role: .server)))
            try channel.writeInbound(ByteBuffer(bytes: input[..<split]))
            try channel.writeInbound(ByteBuffer(bytes: input[split...]))
            var frames: [Frame] = []
            while let frame = try channel.readInbound(as: Frame.self) { frames.append(frame) }
            #expect(frames == expected, "split at \(split)")
            _ = try channel.finish()
        }
    }

    @Test("Many frames in one read all come out, in order")
    func manyFramesOneRead() throws {
        var input = self.bytes("preface", "hello")
        for stream in 1...200 {
            input += Self.header(length: 4, type: 0x03, method: 1, stream: UInt32(stream)) + [0, 0, 0, 0]
        }
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(role: .server)))
        try channel.writeInbound(ByteBuffer(bytes: input))
        var streams: [UInt32] = []
        while let frame = try channel.readInbound(as: Frame.self) {
            if frame.type == .request { streams.append(frame.streamID) }
        }
        #expect(streams == Array(1...200))
        #expect(try channel.finish().isClean)
    }

    @Test("An oversized length is refused from the header alone, before any payload is buffered")
    func oversized() {
        let afterHello = self.bytes("preface", "hello") + Self.header(length: 0xFFFF_FFFF, type: 0x03, method: 1, stream: 1)
        let (_, error) = Self.decodeAll(afterHello)
        #expect(error == FramingError(.frameTooLarge(length: 0xFFFF_FFFF, limit: ProtocolLimits.defaultMaxPayload)))
        #expect(error?.goAwayReason == "FRAME_TOO_LARGE")

        let justOver = self.bytes("preface", "hello") + Self.header(length: 65537, type: 0x03, method: 1, stream: 1)
        #expect(Self.decodeAll(justOver).1 == FramingError(.frameTooLarge(length: 65537, limit: 65536)))
    }

    @Test("Before HELLO the cap is 4096 bytes")
    func handshakeCap() {
        let input = self.bytes("preface") + Self.header(length: 4097, type: 0x01, stream: 0)
        #expect(Self.decodeAll(input).1 == FramingError(.frameTooLarge(length: 4097, limit: 4096)))
    }

    @Test("An unknown frame type is a connection error")
    func unknownType() {
        let input = self.bytes("preface", "hello") + Self.header(length: 0, type: 0x2A, stream: 1)
        let (frames, error) = Self.decodeAll(input)
        #expect(frames.count == 1)
        #expect(error == FramingError(.unknownFrameType(0x2A)))
        #expect(error?.goAwayReason == "PROTOCOL_ERROR")
    }

    @Test("A bad preface is refused at its first wrong byte")
    func badPreface() {
        #expect(Self.decodeAll(Array("GET / HTTP/1.1\r\n".utf8)).1 == FramingError(.badPreface))
        #expect(Self.decodeAll([0x43, 0x4C, 0x00]).1 == FramingError(.badPreface))
        #expect(Self.decodeAll([0x43, 0x4C]).1 == nil)  // still a possible preface: wait
    }

    @Test("An unknown major version is refused; another minor is accepted")
    func versions() {
        let v2: [UInt8] = [0x43, 0x4C, 0x4D, 0x4C, 2, 0, 0, 0]
        let v19: [UInt8] = [0x43, 0x4C, 0x4D, 0x4C, 1, 9, 0, 0]
        #expect(Self.decodeAll(v2).1 == FramingError(.unsupportedVersion(major: 2, minor: 0)))
        #expect(Self.decodeAll(v19 + self.bytes("hello")).0.count == 1)
    }

    @Test("Stream id 0 on call frames and non-zero on connection frames are connection errors")
    func streamIDs() {
        let request0 = self.bytes("preface", "hello") + Self.header(length: 4, type: 0x03, method: 1, stream: 0) + [0, 0, 0, 0]
        #expect(Self.decodeAll(request0).1 == FramingError(.invalidStreamID(type: .request, streamID: 0)))
        let ping7 = self.bytes("preface", "hello") + Self.header(length: 8, type: 0x07, stream: 7) + [UInt8](repeating: 0, count: 8)
        #expect(Self.decodeAll(ping7).1 == FramingError(.invalidStreamID(type: .ping, streamID: 7)))
    }

    @Test("Request stream ids must increase")
    func increasingStreams() {
        let request = { (stream: UInt32) in Self.header(length: 4, type: 0x03, method: 1, stream: stream) + [0, 0, 0, 0] }
        let reuse = self.bytes("preface", "hello") + request(5) + request(5)
        #expect(Self.decodeAll(reuse).1 == FramingError(.streamIDNotIncreasing(streamID: 5, previous: 5)))
        let back = self.bytes("preface", "hello") + request(9) + request(3)
        #expect(Self.decodeAll(back).1 == FramingError(.streamIDNotIncreasing(streamID: 3, previous: 9)))
    }

    @Test("Payload lengths the frame type forbids are connection errors")
    func payloadLengths() {
        let base = self.bytes("preface", "hello")
        #expect(
            Self.decodeAll(base + Self.header(length: 4, type: 0x07, stream: 0) + [1, 2, 3, 4]).1
                == FramingError(.invalidPayloadLength(type: .ping, length: 4)))
        #expect(
            Self.decodeAll(base + Self.header(length: 1, type: 0x06, stream: 3) + [0]).1
                == FramingError(.invalidPayloadLength(type: .cancel, length: 1)))
        #expect(
            Self.decodeAll(base + Self.header(length: 3, type: 0x03, method: 1, stream: 1) + [0, 0, 0]).1
                == FramingError(.invalidPayloadLength(type: .request, length: 3)))
    }

    @Test("HELLO order and frame direction are enforced")
    func order() {
        #expect(
            Self.decodeAll(self.bytes("preface", "escalate.request")).1
                == FramingError(.unexpectedFrame(type: .request, expected: "HELLO")))
        #expect(
            Self.decodeAll(self.bytes("preface", "hello", "hello")).1
                == FramingError(.unexpectedFrame(type: .hello, expected: "no second HELLO")))
        #expect(
            Self.decodeAll(self.bytes("preface", "hello", "escalate.response")).1
                == FramingError(.unexpectedFrame(type: .response, expected: "a frame a client may send")))
        #expect(
            Self.decodeAll(self.bytes("escalate.response"), role: .client).1
                == FramingError(.unexpectedFrame(type: .response, expected: "HELLO_ACK")))
        // A server may refuse a client with GOAWAY instead of HELLO_ACK.
        #expect(Self.decodeAll(self.bytes("goaway.protocol_error"), role: .client).0.count == 1)
        #expect(Self.decodeAll(self.bytes("hello_ack", "escalate.response", "ping"), role: .client).0.count == 3)
    }

    @Test("EOF inside a frame is a truncation error; EOF between frames is clean")
    func truncatedAtEOF() throws {
        let whole = self.bytes("preface", "hello", "escalate.request")
        var decoder = FrameDecoder(role: .server)
        var buffer = ByteBuffer(bytes: whole.dropLast(3))
        while try decoder.decode(buffer: &buffer) != nil {}
        #expect(throws: FramingError(.truncatedFrame(bufferedBytes: buffer.readableBytes))) {
            try decoder.decodeLast(buffer: &buffer, seenEOF: true)
        }
        var clean = FrameDecoder(role: .server)
        var all = ByteBuffer(bytes: whole)
        while try clean.decode(buffer: &all) != nil {}
        #expect(try clean.decodeLast(buffer: &all, seenEOF: true) == nil)
    }

    @Test("Flags are ignored, not refused")
    func flagsIgnored() throws {
        var ping = self.file.vector("ping").bytes
        ping[5] = 0xFF
        let (frames, error) = Self.decodeAll(ping, role: .client, afterHandshake: true)
        #expect(error == nil)
        #expect(frames.first?.flags == 0xFF)
    }

    @Test("Through the NIO handler, a framing error reaches the pipeline as a FramingError")
    func handlerError() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(role: .server)))
        #expect(throws: FramingError(.badPreface)) {
            try channel.writeInbound(ByteBuffer(string: "SSH-2.0-OpenSSH\r\n"))
        }
        _ = try? channel.finish()
    }

    @Test("The encoder handler writes frames byte-exact")
    func encoderHandler() throws {
        let channel = EmbeddedChannel(handler: MessageToByteHandler(FrameEncoder()))
        for name in ["ping", "cancel", "escalate.request", "goaway.shutdown"] {
            var decoder = FrameDecoder(role: name == "escalate.request" || name == "cancel" ? .server : .client, afterHandshake: true)
            var input = ByteBuffer(bytes: self.file.vector(name).bytes)
            let frame = try #require(try decoder.decode(buffer: &input))
            try channel.writeOutbound(frame)
            let written = try #require(try channel.readOutbound(as: ByteBuffer.self))
            #expect(Array(written.readableBytesView) == self.file.vector(name).bytes)
        }
        #expect(try channel.finish().isClean)
    }
}
