import ClaimlineCodec
import ClaimlineCore
import ClaimlineVectors
import ClaimlineWire
import Foundation
import NIOCore
import Testing

@Suite("Golden vectors")
struct GoldenVectorTests {
    let file: GoldenVectorFile

    init() throws { self.file = try GoldenVectorFile.load() }

    @Test("The committed vector files and PROTOCOL.md's appendix are what the catalogue renders")
    func filesAreCurrent() throws {
        let json = try String(contentsOf: GoldenVectorFile.path("proto/vectors/v1.json"), encoding: .utf8)
        let tsv = try String(contentsOf: GoldenVectorFile.path("proto/vectors/v1.tsv"), encoding: .utf8)
        let document = try String(contentsOf: GoldenVectorFile.path("proto/PROTOCOL.md"), encoding: .utf8)
        #expect(json == GoldenVectors.renderJSON(), "stale: run `make vectors`")
        #expect(tsv == GoldenVectors.renderTSV(), "stale: run `make vectors`")
        #expect(GoldenVectors.spliceAppendix(into: document) == document, "stale: run `make vectors`")
    }

    @Test("Every frame type and every method's request and response has a vector")
    func coverage() {
        let frameTypes = Set(self.file.vectors.compactMap { $0.frame?.type })
        #expect(frameTypes == Set(FrameType.allCases.map(\.name)))
        for method in Method.allCases {
            let frames = self.file.vectors.compactMap(\.frame).filter { $0.method == method.rawValue }
            #expect(frames.contains { $0.type == "REQUEST" }, "no request vector for \(method.name)")
            #expect(frames.contains { $0.type == "RESPONSE" }, "no response vector for \(method.name)")
        }
        #expect(self.file.vectors.first?.kind == "preface")
    }

    @Test("Each frame vector decodes to its header fields and re-encodes byte-exact")
    func framesRoundTrip() throws {
        for vector in self.file.vectors where vector.kind == "frame" {
            let header = try #require(vector.frame)
            var decoder = Self.decoder(for: header.type)
            var buffer = ByteBuffer(bytes: vector.bytes)
            let frame = try #require(try decoder.decode(buffer: &buffer), "\(vector.name) did not decode")
            #expect(buffer.readableBytes == 0)
            #expect(frame.type.rawValue == header.type_code)
            #expect(frame.type.name == header.type)
            #expect(frame.flags == header.flags)
            #expect(frame.method == header.method)
            #expect(frame.streamID == header.stream_id)
            #expect(frame.payload.readableBytes == header.payload_length)
            if let timeout = header.timeout_ms { #expect(frame.requestTimeoutMs == timeout) }
            var out = ByteBuffer()
            out.writeFrame(frame)
            #expect(Array(out.readableBytesView) == vector.bytes, "\(vector.name) re-encodes differently")
        }
    }

    @Test("Each message vector decodes, re-encodes byte-exact and prints its text format")
    func messagesRoundTrip() throws {
        var checked = 0
        for vector in self.file.vectors {
            guard let message = vector.message else { continue }
            let type = try #require(ProtobufCRegistry.all[message.type], "unknown type \(message.type)")
            let bytes = GoldenVectorFile.Vector.bytes(hex: message.hex)
            let (reencoded, text) = try Self.roundTrip(type, bytes)
            #expect(reencoded == bytes, "\(vector.name) re-encodes differently")
            #expect(text == message.text, "\(vector.name) prints differently")
            checked += 1
        }
        // Every vector but the preface and the four control frames without a message.
        #expect(checked == self.file.vectors.count - 4 && checked > 30)
    }

    @Test("The preface vector is what a client writes")
    func preface() {
        var buffer = ByteBuffer()
        Preface().write(to: &buffer)
        #expect(Array(buffer.readableBytesView) == self.file.vector("preface").bytes)
    }

    @Test("A whole client stream of vectors decodes in order on a server-role decoder")
    func serverStream() throws {
        let names = [
            "preface", "hello", "escalate.request", "retain.request", "ping", "cancel", "file_complaint.request",
            "pong", "get_stats.request", "goaway.shutdown",
        ]
        var buffer = ByteBuffer(bytes: names.flatMap { self.file.vector($0).bytes })
        var decoder = FrameDecoder(role: .server)
        var types: [FrameType] = []
        while let frame = try decoder.decode(buffer: &buffer) { types.append(frame.type) }
        #expect(types == [.hello, .request, .request, .ping, .cancel, .request, .pong, .request, .goAway])
    }

    private static func roundTrip<M: ProtobufCMessage>(_ type: M.Type, _ bytes: [UInt8]) throws -> ([UInt8], String) {
        let value = try M.decode(from: bytes)
        let text = (value as? any TextFormatWritable)?.textFormat ?? ""
        return (try value.encodedBytes(), text)
    }

    /// A decoder already past the handshake, on the side that receives `type`.
    private static func decoder(for type: String) -> FrameDecoder {
        let toServer = ["HELLO", "REQUEST", "CANCEL"].contains(type)
        let handshake = ["HELLO", "HELLO_ACK"].contains(type)
        return FrameDecoder(role: toServer ? .server : .client, afterHandshake: !handshake)
            .skippingPrefaceIfServer(handshake: handshake)
    }
}

extension FrameDecoder {
    /// A server-role decoder for HELLO still expects the preface first; feed it one.
    fileprivate func skippingPrefaceIfServer(handshake: Bool) -> FrameDecoder {
        guard handshake, self.role == .server else { return self }
        var copy = self
        var preface = ByteBuffer()
        Preface().write(to: &preface)
        _ = try? copy.decode(buffer: &preface)
        return copy
    }
}
