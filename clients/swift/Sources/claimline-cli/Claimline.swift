import ArgumentParser
import ClaimlineClient
import ClaimlineCore
import Foundation

/// `claimline`: how operators and testers poke the service from a shell.
@main
struct Claimline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "claimline",
        abstract: "Talk to claimlined: escalate, retain, file complaints, query claims, steer incidents.",
        discussion: """
            The exit status is the call's gRPC status code (0 OK, 3 INVALID_ARGUMENT, 5 NOT_FOUND,
            9 FAILED_PRECONDITION, 14 UNAVAILABLE, 16 UNAUTHENTICATED, ...); 64 for a usage error.
            The token comes from --token or the CLAIMLINE_TOKEN environment variable.
            """,
        subcommands: [
            Escalate.self, Retain.self, File.self, ClaimCommand.self, IncidentCommand.self, SecondLine.self, Stats.self,
        ]
    )
}

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
    @Option(help: "The server, host:port.")
    var server: String = "127.0.0.1:7400"

    @Option(help: "The client token (default: $CLAIMLINE_TOKEN).")
    var token: String?

    @Option(help: "The whole call's time limit in seconds, retries included.")
    var timeout: Double = 5

    @Flag(help: "Print the answer as JSON (proto3 JSON mapping) instead of text.")
    var json = false

    func client() throws -> ClaimlineClient {
        guard let token = self.token ?? ProcessInfo.processInfo.environment["CLAIMLINE_TOKEN"], !token.isEmpty else {
            throw ValidationError("no token: pass --token or set CLAIMLINE_TOKEN")
        }
        guard let colon = self.server.lastIndex(of: ":"), let port = Int(self.server[self.server.index(after: colon)...]) else {
            throw ValidationError("--server: expected host:port, got \(self.server)")
        }
        var configuration = ClaimlineClientConfiguration(host: String(self.server[..<colon]), port: port, token: token, clientName: "claimline-cli")
        configuration.connections = 1
        configuration.defaultTimeout = .milliseconds(Int64(self.timeout * 1000))
        return ClaimlineClient(configuration: configuration)
    }

    /// Runs one call and prints its answer; an error becomes one line on stderr and the exit
    /// status of its code.
    func run<Response: JSONWritable & TextFormatWritable>(
        _ call: (ClaimlineClient) async throws -> Response,
        summary: (Response) -> String = { _ in "" }
    ) async throws {
        let client = try self.client()
        do {
            let response = try await call(client)
            await client.close()
            if self.json {
                print(response.json)
            } else {
                let headline = summary(response)
                if !headline.isEmpty { print(headline) }
                print(response.textFormat, terminator: "")
            }
        } catch let error as RPCError {
            await client.close()
            var line = "error: \(error.code.name): \(error.message)"
            if !error.currentState.isEmpty && !error.message.contains(error.currentState) { line += " (state: \(error.currentState))" }
            FileHandle.standardError.write(Data((line + "\n").utf8))
            throw ExitCode(Int32(error.code.rawValue))
        }
    }
}

/// Parsing of the domain's names on the command line.
enum Parse {
    /// `billing/balance_desync` → a valid pair, or a usage error listing the choices.
    static func category(_ text: String) throws -> CategoryRef {
        guard let ref = Taxonomy.ref(key: text.lowercased()), ref.category != .unspecified else {
            throw ValidationError("unknown category '\(text)'; one of: " + Taxonomy.allPairs.map(Taxonomy.key).joined(separator: ", "))
        }
        return ref
    }

    /// An enum by the end of its proto name, case-insensitive: `long_review`, `in_progress`.
    static func enumValue<E: ProtoEnum & CaseIterable>(_ text: String, _: E.Type, prefix: String) throws -> E {
        let wanted = text.uppercased().replacingOccurrences(of: "-", with: "_")
        let choices = E.allCases.filter { $0.rawValue != 0 }
        if let match = choices.first(where: { $0.protoName == prefix + wanted || $0.protoName == wanted }) { return match }
        let names = choices.map { $0.protoName.dropFirst(prefix.count).lowercased() }
        throw ValidationError("unknown value '\(text)'; one of: " + names.joined(separator: ", "))
    }

    static func tier(_ value: Int) throws -> ValueTier {
        guard (1...4).contains(value) else { throw ValidationError("--tier: 1 to 4") }
        return ValueTier(rawValue: Int32(value))
    }

    static func utc(_ ms: Int64) -> String {
        guard ms != 0 else { return "-" }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}
