// Writes the golden vectors: proto/vectors/v1.json, proto/vectors/v1.tsv and the appendix of
// proto/PROTOCOL.md between its `vectors:begin` and `vectors:end` markers.
//
// Usage: claimline-vectors [REPO_ROOT]   (run by `make vectors`; `make test` checks staleness)
import ClaimlineVectors
import Foundation

let root = URL(fileURLWithPath: CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : ".")
let vectors = root.appendingPathComponent("proto/vectors")
try FileManager.default.createDirectory(at: vectors, withIntermediateDirectories: true)
try GoldenVectors.renderJSON().write(to: vectors.appendingPathComponent("v1.json"), atomically: true, encoding: .utf8)
try GoldenVectors.renderTSV().write(to: vectors.appendingPathComponent("v1.tsv"), atomically: true, encoding: .utf8)

let protocolURL = root.appendingPathComponent("proto/PROTOCOL.md")
let document = try String(contentsOf: protocolURL, encoding: .utf8)
guard let updated = GoldenVectors.spliceAppendix(into: document) else {
    FileHandle.standardError.write(Data("PROTOCOL.md has no vectors:begin / vectors:end markers\n".utf8))
    exit(1)
}
try updated.write(to: protocolURL, atomically: true, encoding: .utf8)
print("wrote \(GoldenVectors.all.count) vectors")
