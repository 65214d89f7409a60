import Foundation

/// `proto/vectors/v1.json`, read the way a client in any language would read it.
struct GoldenVectorFile: Decodable {
    struct Vector: Decodable {
        struct Header: Decodable {
            var type: String
            var type_code: UInt8
            var flags: UInt8
            var method: UInt16
            var stream_id: UInt32
            var payload_length: Int
            var timeout_ms: UInt32?
        }

        struct Message: Decodable {
            var type: String
            var hex: String
            var text: String
        }

        var name: String
        var kind: String
        var hex: String
        var frame: Header?
        var message: Message?

        var bytes: [UInt8] { Self.bytes(hex: self.hex) }

        static func bytes(hex: String) -> [UInt8] {
            let digits = Array(hex.utf8)
            return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
        }
    }

    var version: String
    var vectors: [Vector]

    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func path(_ relative: String) -> URL { repositoryRoot.appendingPathComponent(relative) }

    static func load() throws -> GoldenVectorFile {
        let data = try Data(contentsOf: path("proto/vectors/v1.json"))
        return try JSONDecoder().decode(GoldenVectorFile.self, from: data)
    }

    func vector(_ name: String) -> Vector { self.vectors.first { $0.name == name }! }
}
