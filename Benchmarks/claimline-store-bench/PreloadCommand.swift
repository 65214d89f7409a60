import ClaimlinePreload
import Foundation

/// `claimline-store-bench preload`: parses its flags, runs ``Preloader`` and prints progress to
/// stderr and one summary line to stdout (the bench scripts read the line).
enum PreloadCommand {
    static let usage = """
        usage: claimline-store-bench preload --db PATH [--claims N] [--sessions N] [--seed N]
               [--subscribers N] [--batch N] [--claim-days D] [--session-hours H] [--session-ttl-ms MS]
               [--checkpoint-ms MS] [--autocheckpoint-pages N] [--sync pipelined|full]
        """

    /// Returns the exit status.
    static func run(_ arguments: [String]) -> Int32 {
        var path = ""
        var claims = 10_000_000
        var sessions = 10_000_000
        var subscribers = 0
        var seed: UInt64 = 14
        var batch = 50_000
        var claimDays = 180
        var sessionHours = 4
        var sessionTTLMs: Int64 = 30 * 86_400_000
        var checkpointMs = 0
        var autocheckpointPages: Int32 = 1_000
        var pipelined = true
        var iterator = arguments.makeIterator()
        while let flag = iterator.next() {
            let value = iterator.next() ?? ""
            let number = Int64(value.replacingOccurrences(of: "_", with: ""))
            switch (flag, number) {
            case ("--db", _) where !value.isEmpty: path = value
            case ("--claims", .some(let n)) where n >= 0: claims = Int(n)
            case ("--sessions", .some(let n)) where n >= 0: sessions = Int(n)
            case ("--subscribers", .some(let n)) where n >= 0: subscribers = Int(n)
            case ("--seed", .some(let n)): seed = UInt64(bitPattern: n)
            case ("--batch", .some(let n)) where n > 0: batch = Int(n)
            case ("--claim-days", .some(let n)) where n > 0: claimDays = Int(n)
            case ("--session-hours", .some(let n)) where n > 0: sessionHours = Int(n)
            case ("--session-ttl-ms", .some(let n)) where n > 0: sessionTTLMs = n
            case ("--checkpoint-ms", .some(let n)) where n >= 0: checkpointMs = Int(n)
            case ("--autocheckpoint-pages", .some(let n)) where n >= 0 && n <= Int32.max: autocheckpointPages = Int32(n)
            case ("--sync", _) where value == "pipelined" || value == "full": pipelined = value == "pipelined"
            default:
                FileHandle.standardError.write(Data("preload: bad flag \(flag) \(value)\n\(Self.usage)\n".utf8))
                return 2
            }
        }
        guard !path.isEmpty else {
            FileHandle.standardError.write(Data("preload: --db is required\n\(Self.usage)\n".utf8))
            return 2
        }
        var options = Preloader.Options(path: path, claims: claims, sessions: sessions)
        options.subscribers = subscribers
        options.seed = seed
        options.batchSize = batch
        options.claimDays = claimDays
        options.sessionHours = sessionHours
        options.sessionTTLMs = sessionTTLMs
        options.checkpointIntervalMs = checkpointMs
        options.walAutocheckpointPages = autocheckpointPages
        options.pipelinedSync = pipelined
        do {
            let summary = try Preloader(options).run { line in
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
            let years = summary.lastSequences.keys.sorted().map { "\($0):\(summary.lastSequences[$0] ?? 0)" }
            FileHandle.standardError.write(Data("preload: last claim sequence by year \(years.joined(separator: " "))\n".utf8))
            print(summary.line)
            return 0
        } catch {
            FileHandle.standardError.write(Data("preload: \(error)\n".utf8))
            return 1
        }
    }
}
