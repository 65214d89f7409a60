import ClaimlineCodec
import ClaimlineCore
import NIOCore
import Testing

@Suite("Message codec on libprotobuf-c")
struct MessageCodecTests {
    @Test("FileComplaint round-trips with Cyrillic text, submessages and enums")
    func fileComplaintRoundTrip() throws {
        let bytes = try Fixtures.fileComplaint.encodedBytes()
        #expect(bytes.count > 150)
        let decoded = try FileComplaintRequest.decode(from: bytes)
        #expect(decoded == Fixtures.fileComplaint)
    }

    @Test("Repeated strings and repeated submessages round-trip")
    func repeatedFields() throws {
        let message = DeclareIncidentResponse(incident: Fixtures.incident)
        let decoded = try DeclareIncidentResponse.decode(from: try message.encodedBytes())
        #expect(decoded == message)
        #expect(decoded.incident?.regions == ["77", "50"])
        #expect(decoded.incident?.categories.count == 2)
    }

    @Test("Every message type round-trips its default value to zero bytes")
    func defaultsAreEmpty() throws {
        #expect(ProtobufCRegistry.all.count >= 30)
        for (name, type) in ProtobufCRegistry.all {
            let bytes = try Self.roundTripDefault(type)
            #expect(bytes.isEmpty, "\(name) encodes its default value as \(bytes)")
        }
    }

    private static func roundTripDefault<M: ProtobufCMessage>(_ type: M.Type) throws -> [UInt8] {
        let empty = try M.decode(from: [])
        return try empty.encodedBytes()
    }

    @Test("Empty strings and absent submessages are left off the wire")
    func zeroValuesOmitted() throws {
        let request = GetClaimRequest(claimNumber: "")
        #expect(try request.encodedBytes() == [])
        let withNumber = GetClaimRequest(claimNumber: "2026-000123")
        #expect(try withNumber.encodedBytes() == [0x0A, 11] + Array("2026-000123".utf8))
    }

    @Test("Unknown enum values are carried through, not dropped")
    func unknownEnumCarried() throws {
        // CategoryRef { group: 42, category: 1 }
        let bytes: [UInt8] = [0x08, 42, 0x10, 1]
        let decoded = try CategoryRef.decode(from: bytes)
        #expect(decoded.group == .unrecognized(42))
        #expect(decoded.category == .dissatisfaction)
        #expect(try decoded.encodedBytes() == bytes)
    }

    @Test("Encoding into a ByteBuffer appends after what is already there")
    func encodeAppends() throws {
        let arena = ProtoArena()
        var buffer = ByteBuffer(bytes: [0xAA, 0xBB])
        let written = try Fixtures.escalate.encode(into: &buffer, arena: arena)
        #expect(buffer.readableBytes == written + 2)
        #expect(buffer.readBytes(length: 2) == [0xAA, 0xBB])
        #expect(try EscalateRequest.decode(from: buffer, arena: arena) == Fixtures.escalate)
    }

    @Test("The arena is empty after every call and keeps one chunk in steady state")
    func arenaSteadyState() throws {
        let arena = ProtoArena(initialCapacity: 256)
        var buffer = ByteBuffer()
        for _ in 0..<100 {
            buffer.clear()
            try Fixtures.fileComplaint.encode(into: &buffer, arena: arena)
            #expect(arena.bytesInUse == 0)
            _ = try FileComplaintRequest.decode(from: buffer, arena: arena)
            #expect(arena.bytesInUse == 0)
        }
        #expect(arena.chunkCount == 1)
    }

    @Test("A message larger than the arena grows it and still round-trips")
    func largeMessage() throws {
        var message = Fixtures.fileComplaint
        message.description = String(repeating: "Жалоба. ", count: 4000)
        let arena = ProtoArena(initialCapacity: 256)
        var buffer = ByteBuffer()
        try message.encode(into: &buffer, arena: arena)
        #expect(try FileComplaintRequest.decode(from: buffer, arena: arena) == message)
        #expect(arena.chunkCount == 1)
    }
}
