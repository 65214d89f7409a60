import ArgumentParser

/// `claimline-load`: `run` (the default) drives load; `merge` adds up results of several processes.
struct ClaimlineLoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "claimline-load",
        abstract: "Load-test harness for claimlined: closed and open loop, HdrHistogram latency, CO-corrected.",
        discussion: "See docs/LOAD.md for examples and for what every output means.",
        subcommands: [RunCommand.self, MergeCommand.self],
        defaultSubcommand: RunCommand.self
    )
}

await ClaimlineLoadCommand.main()
