import ClaimlineCore
import Foundation
import Testing

/// The `claimline` CLI given several instances in `--server`: the first dead, the call is
/// answered by the second; all dead, one line naming them.
@Suite("CLI failover", .serialized)
struct CLIFailoverTests {
    /// Runs the CLI built beside the tests with exactly these arguments (the `--server` list
    /// included), the admin token in the environment.
    static func run(_ arguments: [String]) throws -> CLITests.Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("claimline")
        process.arguments = arguments
        process.environment = ["CLAIMLINE_TOKEN": TestServer.tokens[.admin]!]
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let started = Date()
        try process.run()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return CLITests.Run(status: process.terminationStatus, stdout: stdout, stderr: stderr, seconds: Date().timeIntervalSince(started))
    }

    @Test("--server dead,live: the call is answered by the live instance; all dead: one line naming both")
    func firstAddressDead() async throws {
        let server = try await TestServer.start()
        let dead = try ClientFailoverTests.closedPort()
        let servers = "127.0.0.1:\(dead),127.0.0.1:\(server.port)"

        let stats = try Self.run(["stats", "--server", servers, "--json"])
        #expect(stats.status == 0, "\(stats.stderr)")
        #expect(stats.json != nil)
        #expect(stats.seconds < 5)

        let escalate = try Self.run(
            [
                "escalate", "--server", servers, "--call-id", "UCID-CLI-FAILOVER", "--msisdn", CLITests.msisdn, "--tier", "2",
                "--region", "77", "--category", "billing/balance_desync",
            ])
        #expect(escalate.status == 0, "\(escalate.stderr)")
        #expect(escalate.lines == ["decision: TRANSFER_TO_SECOND_LINE (rule second_line_normal); contact: WITH_SECOND_LINE"])

        // --timeout 0 asks the first instance that answers for the ceiling.
        let ceiling = try Self.run(["stats", "--server", servers, "--timeout", "0"])
        #expect(ceiling.status == 0, "\(ceiling.stderr)")
        try await server.stop()

        let otherDead = try ClientFailoverTests.closedPort()
        let none = try Self.run(["stats", "--server", "127.0.0.1:\(dead), 127.0.0.1:\(otherDead)"])
        #expect(none.status == 14)
        #expect(none.stderr == "error: UNAVAILABLE: cannot connect to any of 127.0.0.1:\(dead), 127.0.0.1:\(otherDead) (connection refused)\n")

        let bad = try Self.run(["stats", "--server", "127.0.0.1:\(dead),nowhere"])
        #expect(bad.status == 64)
        #expect(bad.stderr.hasPrefix("error: --server: expected host:port or a comma-separated list of them, got 'nowhere'"))
    }
}
