import ClaimlineCore
import Foundation
import Testing

/// PROTOCOL.md must stay enough on its own: every `reason` the server can send is in its
/// reason table (section 9.7), and nothing points outside the repository.
@Suite("PROTOCOL.md is complete")
struct ProtocolDocumentTests {
    static let root = GoldenPaths.repositoryRoot

    @Test("Every reason the server sends is in the reason table, and the table names no other")
    func reasonTable() throws {
        let protocolText = try String(contentsOfFile: Self.root + "/proto/PROTOCOL.md", encoding: .utf8)
        let table = protocolText.components(separatedBy: "### 9.7 Reasons").last ?? ""
        let documented = Set(
            table.split(separator: "\n").compactMap { line -> String? in
                guard line.hasPrefix("| `") else { return nil }
                return line.dropFirst(3).split(separator: "`").first.map(String.init)
            })
        // NOT_APPLIED answers a stream nobody waits for any more: it never reaches the wire.
        let sent = Set(Reason.all).subtracting([Reason.notApplied])
        #expect(sent.subtracting(documented).isEmpty, "sent but not in PROTOCOL.md 9.7: \(sent.subtracting(documented).sorted())")
        #expect(documented.subtracting(sent).isEmpty, "in PROTOCOL.md 9.7 but never sent: \(documented.subtracting(sent).sorted())")
    }

    @Test("The server's sources name reasons through Reason, never as loose strings")
    func noLooseReasons() throws {
        let regex = try NSRegularExpression(pattern: #"reason: "[A-Z_]+""#)
        for folder in ["Sources/ClaimlineServer", "clients/swift/Sources/ClaimlineCore", "clients/swift/Sources/ClaimlineWire"] {
            let enumerator = FileManager.default.enumerator(atPath: Self.root + "/" + folder)
            while let file = enumerator?.nextObject() as? String {
                guard file.hasSuffix(".swift") else { continue }
                let text = try String(contentsOfFile: Self.root + "/" + folder + "/" + file, encoding: .utf8)
                let count = regex.numberOfMatches(in: text, range: NSRange(text.startIndex..., in: text))
                #expect(count == 0, "\(folder)/\(file) spells \(count) reason(s) as a string")
            }
        }
    }

    @Test("Nothing in the repository points outside it")
    func selfContained() throws {
        for file in ["README.md", "proto/PROTOCOL.md", "docs/DOMAIN.md", "proto/claimline/v1/service.proto", "proto/claimline/v1/types.proto"] {
            let text = try String(contentsOfFile: Self.root + "/" + file, encoding: .utf8)
            // Spelled in two pieces so this file does not itself point outside the repository.
            let outside = "../" + "shared"
            #expect(!text.contains(outside), "\(file) points outside the repository")
        }
    }
}
