import ArgumentParser
import ClaimlineLoad

/// Adds up the `--json` results of harness processes that ran side by side.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge the JSON results of several harness processes (histograms added, counts summed)."
    )

    @Argument(help: "Result files written with --json.")
    var files: [String]

    @OptionGroup var outputs: OutputOptions

    func run() throws {
        guard files.count >= 1 else { throw ValidationError("give at least one result file") }
        let merged = try LoadResult.merge(files.map { try LoadResult.load(path: $0) })
        print(merged.table(), terminator: "")
        try outputs.write(merged)
    }
}
