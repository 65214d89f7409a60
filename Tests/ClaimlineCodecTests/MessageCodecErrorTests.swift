import ClaimlineCodec
import ClaimlineCore
import Testing

/// Bad input in either direction is a typed error naming the field, never a crash and never a
/// silently truncated string.
@Suite("Message codec errors")
struct MessageCodecErrorTests {
    /// A length-delimited field: tag, one-byte length, bytes.
    private static func field(_ number: UInt8, _ bytes: [UInt8]) -> [UInt8] {
        precondition(bytes.count < 128)
        return [number << 3 | 2, UInt8(bytes.count)] + bytes
    }

    @Test("A wrong wire type names the field, nested and repeated ones by path")
    func wrongWireTypeNamesField() {
        // subscriber (field 3, a message) sent as a varint.
        #expect(throws: CodecError(.malformed, messageName: "claimline.v1.EscalateRequest", field: "subscriber")) {
            try EscalateRequest.decode(from: Self.field(2, Array("UCID-1".utf8)) + [3 << 3 | 0, 1])
        }
        // subscriber.value_tier (an enum) sent length-delimited.
        #expect(throws: CodecError(.malformed, messageName: "claimline.v1.EscalateRequest", field: "subscriber.value_tier")) {
            try EscalateRequest.decode(from: Self.field(3, Self.field(1, Array("+79161234567".utf8)) + Self.field(3, [1])))
        }
        // The second category's group sent as a 32-bit value.
        let good: [UInt8] = [1 << 3 | 0, 4]
        let bad: [UInt8] = [1 << 3 | 5, 1, 0, 0, 0]
        #expect(throws: CodecError(.malformed, messageName: "claimline.v1.DeclareIncidentRequest", field: "categories[1].group")) {
            try DeclareIncidentRequest.decode(from: Self.field(4, good) + Self.field(4, bad))
        }
        // A string whose length runs past the end names the string.
        #expect(throws: CodecError(.malformed, messageName: "claimline.v1.EscalateRequest", field: "call_id")) {
            try EscalateRequest.decode(from: [2 << 3 | 2, 40, 0x41, 0x42])
        }
        // A bad tag between fields names nothing.
        #expect(throws: CodecError(.malformed, messageName: "claimline.v1.EscalateRequest", field: "")) {
            try EscalateRequest.decode(from: [0xFF])
        }
    }

    @Test("An embedded NUL is refused when encoding")
    func nulOnEncode() {
        var message = Fixtures.fileComplaint
        message.description = "до\u{0}после"
        #expect(throws: CodecError(.embeddedNUL, messageName: "claimline.v1.FileComplaintRequest", field: "description")) {
            try message.encodedBytes()
        }
    }

    @Test("An embedded NUL deep in a submessage names its path when encoding")
    func nestedNulOnEncode() {
        var message = Fixtures.fileComplaint
        message.subscriber?.msisdn = "+7916\u{0}"
        let expected = CodecError(.embeddedNUL, messageName: "claimline.v1.FileComplaintRequest", field: "subscriber.msisdn")
        #expect(throws: expected) { try message.encodedBytes() }
    }

    @Test("A NUL in a repeated string names its index when encoding")
    func repeatedNulOnEncode() {
        let message = Incident(regions: ["77", "5\u{0}0"])
        let expected = CodecError(.embeddedNUL, messageName: "claimline.v1.Incident", field: "regions[1]")
        #expect(throws: expected) { try message.encodedBytes() }
    }

    @Test("An embedded NUL is refused when decoding, not cut at")
    func nulOnDecode() {
        let bytes = Self.field(6, Array("abc".utf8) + [0] + Array("def".utf8))
        let expected = CodecError(.embeddedNUL, messageName: "claimline.v1.FileComplaintRequest", field: "description")
        #expect(throws: expected) { try FileComplaintRequest.decode(from: bytes) }
    }

    @Test("A NUL as the only byte or the last byte is still seen")
    func nulAtEdges() {
        for payload: [UInt8] in [[0], [0x41, 0], [0, 0x41]] {
            #expect(throws: CodecError.self) { try GetClaimRequest.decode(from: Self.field(1, payload)) }
        }
    }

    @Test("Invalid UTF-8 is refused when decoding, with the nested field path")
    func invalidUTF8OnDecode() {
        let subscriber = Self.field(1, [0x2B, 0x37, 0xFF, 0xFE])
        let bytes = Self.field(4, subscriber)
        let expected = CodecError(.invalidUTF8, messageName: "claimline.v1.FileComplaintRequest", field: "subscriber.msisdn")
        #expect(throws: expected) { try FileComplaintRequest.decode(from: bytes) }
    }

    @Test("Invalid UTF-8 in a repeated submessage's string names the index")
    func invalidUTF8InRepeated() {
        let incident = Self.field(3, Array("77".utf8)) + Self.field(3, [0xC3])
        let bytes = Self.field(1, incident)
        let expected = CodecError(.invalidUTF8, messageName: "claimline.v1.ListIncidentsResponse", field: "incidents[0].regions[1]")
        #expect(throws: expected) { try ListIncidentsResponse.decode(from: bytes) }
    }

    @Test("Overlong encodings and surrogates are invalid UTF-8")
    func strictUTF8() {
        for bad: [UInt8] in [[0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]] {
            #expect(throws: CodecError.self) { try GetClaimRequest.decode(from: Self.field(1, bad)) }
        }
    }

    @Test("Every truncation of a valid message decodes or fails typed")
    func truncations() throws {
        let bytes = try Fixtures.fileComplaint.encodedBytes()
        var failures = 0
        for length in 0..<bytes.count {
            do {
                _ = try FileComplaintRequest.decode(from: Array(bytes[..<length]))
            } catch {
                failures += 1
            }
        }
        // Cuts inside a field fail; cuts at field boundaries are valid shorter messages.
        #expect(failures > bytes.count / 2)
    }

    @Test("Malformed bytes are a typed malformed error")
    func malformed() {
        // The field is named where one is to blame, and left empty where none is.
        let cases: [([UInt8], String)] = [
            ([0x0A, 0x05, 0x41], "claim_number"),  // length past the end
            ([0x0F], "claim_number"),  // field 1 with wire type 7, which does not exist
            ([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], "claim_number"),  // length varint too long
            ([0x00, 0x01], ""),  // field number 0
        ]
        for (bytes, field) in cases {
            #expect(throws: CodecError(.malformed, messageName: "claimline.v1.GetClaimRequest", field: field)) {
                try GetClaimRequest.decode(from: bytes)
            }
        }
    }

    @Test("A wrong wire type for a known field is malformed")
    func wrongWireType() {
        // claim_number (string) sent as a varint
        #expect(throws: CodecError(.malformed, messageName: "claimline.v1.GetClaimRequest", field: "claim_number")) {
            try GetClaimRequest.decode(from: [0x08, 0x01])
        }
    }
}
