import ArgumentParser
import ClaimlineLoad
import Foundation

/// Puts the `--json` results of several runs on one page.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare runs: their spectra overlaid and their figures side by side (a table, and --html for one page).",
        discussion:
            "Each run is labelled with its file name unless --labels names them: claimline-load compare before.json after.json --html compare.html"
    )

    @Argument(help: "Result files written with --json.")
    var files: [String]

    @Option(help: "Labels for the runs, comma-separated, in the files' order.")
    var labels: String?

    @Option(help: "Write the comparison as one self-contained HTML page.")
    var html: String?

    func run() throws {
        guard files.count >= 2 else { throw ValidationError("give at least two result files") }
        let names =
            self.labels?.split(separator: ",").map(String.init)
            ?? self.files.map {
                URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent
            }
        guard names.count == files.count else { throw ValidationError("--labels: one per file (\(files.count))") }
        let comparison = LoadComparison(runs: try zip(names, files).map { ($0, try LoadResult.load(path: $1)) })
        print(comparison.table(), terminator: "")
        if let html = self.html {
            try comparison.html().write(toFile: html, atomically: true, encoding: .utf8)
        }
    }
}
