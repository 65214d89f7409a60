import ClaimlineCodec
import ClaimlineCore
import ClaimlineLoad
import ClaimlineTestSupport
import Testing

/// The decoder checks a string's bytes once (ASCII by a C scan, the rest by `UTF8Span`) and then
/// copies them into a `String` that the standard library does not validate again, so that check
/// must agree with Swift's own validator on every input: random strings round-trip unchanged,
/// and random bytes are accepted exactly when `String(validating:as:)` accepts them and they
/// hold no NUL, with the same typed errors as before (a NUL wins over invalid UTF-8).
@Suite("String decoding, seeded properties")
struct StringDecodePropertyTests {
    private static let seed: UInt64 = 0x5EED_C0DE_14

    /// ASCII, two-, three- and four-byte characters: every branch of the C check.
    private static let alphabet: [Character] = Array("aZ09-_ :+.ЖжёЁ€中文ß\u{7F}\u{80}\u{7FF}\u{800}\u{FFFD}\u{FFFF}\u{10000}😀\u{10FFFF}")

    /// A length-delimited field with a varint length.
    private static func field(_ number: UInt8, _ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [number << 3 | 2]
        var length = bytes.count
        while length >= 0x80 {
            out.append(UInt8(length & 0x7F) | 0x80)
            length >>= 7
        }
        out.append(UInt8(length))
        return out + bytes
    }

    private static func randomString(_ random: inout SeededRandom) -> String {
        switch Int.random(in: 0..<5, using: &random) {
        case 0:
            // The lengths around Swift's small-string limit, all ASCII.
            let count = [0, 1, 15, 16, 17, 7, 8, 9][Int.random(in: 0..<8, using: &random)]
            return String(repeating: "k", count: count)
        case 1:
            // Exactly 15 or 16 bytes that are not all ASCII.
            return Bool.random(using: &random) ? "ж" + String(repeating: "a", count: 13) : "ж" + String(repeating: "a", count: 14)
        default:
            let count = Int.random(in: 0..<60, using: &random)
            return String((0..<count).map { _ in Self.alphabet.randomElement(using: &random)! })
        }
    }

    /// Mostly well-formed UTF-8 with a few bytes replaced: the cases a validator gets wrong
    /// (overlong forms, surrogates, past U+10FFFF, truncated sequences, stray continuations).
    private static func randomBytes(_ random: inout SeededRandom) -> [UInt8] {
        var bytes = Array(Self.randomString(&random).utf8)
        let tricky: [[UInt8]] = [
            [0xC0, 0xAF], [0xC1, 0xBF], [0xE0, 0x80, 0xAF], [0xE0, 0x9F, 0xBF], [0xED, 0xA0, 0x80],
            [0xED, 0x9F, 0xBF], [0xF0, 0x8F, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF],
            [0xF5, 0x80, 0x80, 0x80], [0xFF], [0x80], [0xBF], [0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0],
        ]
        for _ in 0..<Int.random(in: 0...2, using: &random) {
            let insert =
                Bool.random(using: &random)
                ? tricky.randomElement(using: &random)!
                : [UInt8.random(in: 0...255, using: &random)]
            bytes.insert(contentsOf: insert, at: Int.random(in: 0...bytes.count, using: &random))
        }
        return bytes
    }

    @Test("Random messages with strings of every width decode to what was encoded")
    func roundTrip() throws {
        var random = SeededRandom(seed: Self.seed)
        let arena = ProtoArena()
        for _ in 0..<2000 {
            let subscriber = Subscriber(
                msisdn: Self.randomString(&random),
                accountId: Self.randomString(&random),
                valueTier: .tier1,
                region: Self.randomString(&random)
            )
            let message = FileComplaintRequest(
                idempotencyKey: Self.randomString(&random),
                callId: Self.randomString(&random),
                category: CategoryRef(group: .billing, category: .balanceDesync),
                subscriber: Bool.random(using: &random) ? subscriber : nil,
                placeId: Self.randomString(&random),
                description: Self.randomString(&random),
                failureReason: .longReview,
                incidentId: Self.randomString(&random),
                agentId: Self.randomString(&random)
            )
            let bytes = try message.encodedBytes()
            let decoded = try bytes.withUnsafeBytes { raw in try FileComplaintRequest.decode(from: raw, arena: arena) }
            #expect(decoded == message)
            #expect(Array(decoded.description.utf8) == Array(message.description.utf8))
            #expect(arena.bytesInUse == 0)
        }
    }

    @Test("Random bytes are accepted exactly when Swift's validator accepts them and hold no NUL")
    func agreesWithStandardLibrary() {
        var random = SeededRandom(seed: Self.seed ^ 0xFFFF)
        var outcomes = (accepted: 0, invalid: 0, nul: 0)
        for _ in 0..<20000 {
            let payload = Self.randomBytes(&random)
            let nested = Bool.random(using: &random)
            // description is field 6; subscriber (field 4) holds msisdn as its field 1.
            let wire = nested ? Self.field(4, Self.field(1, payload)) : Self.field(6, payload)
            let name = nested ? "subscriber.msisdn" : "description"
            let reference = String(validating: payload, as: UTF8.self)
            let result = Result { () throws(CodecError) -> FileComplaintRequest in try FileComplaintRequest.decode(from: wire) }
            if payload.contains(0) {
                outcomes.nul += 1
                #expect(throws: CodecError(.embeddedNUL, messageName: "claimline.v1.FileComplaintRequest", field: name)) { try result.get() }
            } else if reference == nil {
                outcomes.invalid += 1
                #expect(throws: CodecError(.invalidUTF8, messageName: "claimline.v1.FileComplaintRequest", field: name), "\(payload)") {
                    try result.get()
                }
            } else {
                outcomes.accepted += 1
                let decoded = try? result.get()
                let text = nested ? decoded?.subscriber?.msisdn : decoded?.description
                #expect(text.map { Array($0.utf8) } == payload, "\(payload)")
                #expect(text == reference)
            }
        }
        // The generator must reach all three outcomes often, or the property proves little.
        #expect(outcomes.accepted > 2000 && outcomes.invalid > 2000 && outcomes.nul > 500, "\(outcomes)")
    }
}
