import ClaimlineCore
import Foundation
import Testing

/// The `claimline` CLI (built beside the tests), run as a user would, against a live server.
@Suite("CLI", .serialized)
struct CLITests {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], port: Int, token: String = TestServer.tokens[.admin]!) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("claimline")
        process.arguments = arguments + ["--server", "127.0.0.1:\(port)"]
        process.environment = ["CLAIMLINE_TOKEN": token]
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: stdout, stderr: stderr)
    }

    @Test("A whole contact from the shell: escalate, retain, file, claim get; errors exit with their status code")
    func wholeContact() async throws {
        let server = try await TestServer.start()
        let port = server.port
        let escalate = try Self.run(
            ["escalate", "--call-id", "UCID-CLI-1", "--msisdn", "+79161234567", "--tier", "2", "--region", "77", "--category", "billing/balance_desync"],
            port: port
        )
        #expect(escalate.status == 0, "\(escalate.stderr)")
        #expect(escalate.stdout.contains("decision: TRANSFER_TO_SECOND_LINE"))

        let retain = try Self.run(["retain", "--call-id", "UCID-CLI-1", "--outcome", "impossible", "--reason", "long_review"], port: port)
        #expect(retain.status == 0)
        #expect(retain.stdout.contains("a claim is required"))

        let file = try Self.run(
            ["file", "--call-id", "UCID-CLI-1", "--category", "billing/balance_desync", "--msisdn", "+79161234567",
             "--description", "Баланс не совпадает с начислениями", "--reason", "long_review", "--key", "cli-key-1", "--json"],
            port: port
        )
        #expect(file.status == 0, "\(file.stderr)")
        let filed = try JSONSerialization.jsonObject(with: Data(file.stdout.utf8)) as? [String: Any]
        let number = try #require(filed?["claimNumber"] as? String)
        #expect(number.hasPrefix("20"))

        let again = try Self.run(
            ["file", "--call-id", "UCID-CLI-1", "--category", "billing/balance_desync", "--msisdn", "+79161234567",
             "--description", "Баланс не совпадает с начислениями", "--reason", "long_review", "--key", "cli-key-1", "--json"],
            port: port
        )
        #expect((try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])?["claimNumber"] as? String == number)

        let get = try Self.run(["claim", "get", number], port: port)
        #expect(get.stdout.contains("CLAIM_STATUS_ACKNOWLEDGED"))
        #expect(get.stdout.contains("Баланс не совпадает"))

        let invalid = try Self.run(
            ["file", "--call-id", "X", "--category", "billing/balance_desync", "--msisdn", "12345", "--description", "x"], port: port
        )
        #expect(invalid.status == 3)
        #expect(invalid.stderr.hasPrefix("error: INVALID_ARGUMENT: "))
        #expect(invalid.stderr.split(separator: "\n").count == 1)

        let missing = try Self.run(["claim", "get", "2026-999999"], port: port)
        #expect(missing.status == 5)
        let badToken = try Self.run(["stats"], port: port, token: "not-a-token")
        #expect(badToken.status == 16)
        let usage = try Self.run(["escalate", "--call-id", "X", "--msisdn", "+79161234567", "--category", "nope/nope"], port: port)
        #expect(usage.status == 64)
        try await server.stop()
    }
}
