import Foundation
import Testing

/// PROTOCOL.md must stay enough on its own: every `reason` the server can send is in its
/// reason table (section 9.7), and nothing points outside the repository.
@Suite("PROTOCOL.md is complete")
struct ProtocolDocumentTests {
    static let root = GoldenPaths.repositoryRoot

    /// `reason: "X"` in the server's sources, GOAWAY reasons of framing faults, refusals.
    static func reasonsInCode() throws -> Set<String> {
        var reasons = Set<String>()
        let folders = ["Sources/ClaimlineServer", "Sources/ClaimlineCore/Domain", "Sources/ClaimlineCore/Errors", "Sources/ClaimlineWire"]
        let patterns = [#"reason: "([A-Z][A-Z_]+)""#, #"case \.[a-zA-Z]+(?:, \.[a-zA-Z]+)*: "([A-Z][A-Z_]+)""#, #"= "([A-Z][A-Z_]+)"$"#]
        let regexes = try patterns.map { try NSRegularExpression(pattern: $0, options: [.anchorsMatchLines]) }
        for folder in folders {
            let enumerator = FileManager.default.enumerator(atPath: root + "/" + folder)
            while let file = enumerator?.nextObject() as? String {
                // Frame type names are not reasons.
                guard file.hasSuffix(".swift"), !file.hasSuffix("FrameType.swift") else { continue }
                let text = try String(contentsOfFile: root + "/" + folder + "/" + file, encoding: .utf8)
                for regex in regexes {
                    for match in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                        reasons.insert(String(text[Range(match.range(at: 1), in: text)!]))
                    }
                }
            }
        }
        return reasons
    }

    @Test("Every reason the server sends is in the reason table")
    func reasonTable() throws {
        let protocolText = try String(contentsOfFile: Self.root + "/proto/PROTOCOL.md", encoding: .utf8)
        let table = protocolText.components(separatedBy: "### 9.7 Reasons").last ?? ""
        let documented = Set(table.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("| `") else { return nil }
            return line.dropFirst(3).split(separator: "`").first.map(String.init)
        })
        let inCode = try Self.reasonsInCode()
        #expect(inCode.count > 25, "the scan found \(inCode.sorted())")
        // NOT_APPLIED answers a stream nobody waits for any more: it never reaches the wire.
        let missing = inCode.subtracting(documented).subtracting(["NOT_APPLIED", "UNREADABLE"])
        #expect(missing.isEmpty, "reasons sent but not in PROTOCOL.md 9.7: \(missing.sorted())")
    }

    @Test("Nothing in the repository points outside it")
    func selfContained() throws {
        for file in ["README.md", "proto/PROTOCOL.md", "docs/DOMAIN.md", "proto/claimline/v1/service.proto", "proto/claimline/v1/types.proto"] {
            let text = try String(contentsOfFile: Self.root + "/" + file, encoding: .utf8)
            #expect(!text.contains("../shared"), "\(file) points outside the repository")
        }
    }
}
