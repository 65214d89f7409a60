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

// Top-level code cannot be `@main`; dispatch by hand so the async `run` is the one called.
do {
    var command = try ClaimlineLoadCommand.parseAsRoot()
    if var asyncCommand = command as? any AsyncParsableCommand {
        try await asyncCommand.run()
    } else {
        try command.run()
    }
} catch {
    ClaimlineLoadCommand.exit(withError: error)
}
