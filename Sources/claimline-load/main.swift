import ArgumentParser

/// `claimline-load`: `run` (the default) drives load; `merge` adds up results of several processes;
/// `compare` puts several runs on one page; `attack` plays a hostile peer;
/// `idle` holds idle connections and measures what they cost the server.
struct ClaimlineLoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "claimline-load",
        abstract: "Load-test harness for claimlined: closed and open loop, HdrHistogram latency, CO-corrected.",
        discussion: "See docs/LOAD.md for examples and for what every output means.",
        subcommands: [RunCommand.self, MergeCommand.self, CompareCommand.self, AttackCommand.self, IdleCommand.self],
        defaultSubcommand: RunCommand.self
    )
}

// Top-level code cannot be `@main`; dispatch by hand so the async work of `run` is awaited.
do {
    var command = try ClaimlineLoadCommand.parseAsRoot()
    if let run = command as? RunCommand {
        try await run.execute()
    } else if let attack = command as? AttackCommand {
        try await attack.run()
    } else if let idle = command as? IdleCommand {
        try await idle.run()
    } else {
        try command.run()
    }
} catch {
    ClaimlineLoadCommand.exit(withError: error)
}
