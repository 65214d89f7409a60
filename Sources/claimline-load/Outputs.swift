import ArgumentParser
import ClaimlineLoad
import Foundation

/// The export flags shared by `run` and `merge`.
struct OutputOptions: ParsableArguments {
    @Option(name: .long, help: "Write the summary and the mergeable histograms as JSON.")
    var json: String?

    @Option(name: .long, help: "Write HdrHistogram percentile-distribution text (ms); per-method files beside it.")
    var hgrm: String?

    @Option(name: .long, help: "Write a self-contained HTML report (latency over time, percentile spectrum).")
    var html: String?

    func write(_ result: LoadResult) throws {
        if let json { try result.jsonData().write(to: URL(fileURLWithPath: json)) }
        if let hgrm {
            for file in result.hgrmFiles(path: hgrm) { try file.text.write(toFile: file.path, atomically: true, encoding: .utf8) }
        }
        if let html { try result.html().write(toFile: html, atomically: true, encoding: .utf8) }
    }
}

func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
