import ArgumentParser
import ClaimlineClient
import ClaimlineCore
import ClaimlineWire
import Foundation

/// `claimline`: how operators and testers poke the service from a shell.
@main
struct Claimline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "claimline",
        abstract: "Talk to claimlined: escalate, retain, file complaints, query claims and contacts, steer incidents.",
        discussion: """
            The exit status is the call's gRPC status code (0 OK, 3 INVALID_ARGUMENT, 5 NOT_FOUND, \
            9 FAILED_PRECONDITION, 14 UNAVAILABLE, 16 UNAUTHENTICATED, ...); 64 for a usage error. \
            An error is one line on stderr naming the flag at fault; with --json, one JSON object.

            The token comes from --token or the CLAIMLINE_TOKEN environment variable.

            --server takes one host:port or several instances of one deployment, comma-separated: \
            a call goes to the first that answers and moves on when one refuses, drops or \
            resets the connection, gives no answer within a second, says GOAWAY or answers \
            UNAVAILABLE (writes keep their --key on every attempt), within --timeout \
            (PROTOCOL.md 8.1).
            """,
        subcommands: [
            Escalate.self, Retain.self, File.self, ContactCommand.self, ClaimCommand.self, IncidentCommand.self,
            SecondLine.self, Stats.self, PolicyCommand.self,
        ]
    )

    /// ArgumentParser's own `main`, but every error goes through ``ErrorOutput``: usage errors
    /// start with `error:` like every other error, and become JSON with `--json`.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                // --help, --version: to stdout, as ArgumentParser does.
                let text = fullMessage(for: error)
                if !text.isEmpty { print(text) }
                Foundation.exit(0)
            }
            if error is ExitCode {
                // A call's failure: already printed where it happened.
                Foundation.exit(code.rawValue)
            }
            ErrorOutput.usage(message: message(for: error), fullText: fullMessage(for: error), json: ErrorOutput.jsonRequested)
            Foundation.exit(code.rawValue)
        }
    }
}

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The server, host:port; or several instances of one deployment, comma-separated (a:7400,b:7400).",
            discussion:
                "With several, the call goes to the first that answers and moves to the next when one refuses or drops the connection, gives no answer within a second (attempt timeout) or answers UNAVAILABLE."
        )
    )
    var server: String = "127.0.0.1:7400"

    @Option(help: "The client token (default: $CLAIMLINE_TOKEN).")
    var token: String?

    @Option(help: "The whole call's time limit in seconds, retries and failover included; 0: as long as the server allows (its ceiling).")
    var timeout: Double = 5

    @Flag(help: "Print the answer as JSON (proto3 JSON mapping) instead of text; errors as one JSON object on stderr.")
    var json = false

    @Flag(help: "Connect with TLS, trusting the system's CAs (implied by any --tls-* option).")
    var tls = false

    @Option(help: "TLS: the CA file (PEM) the server's certificate must chain to.")
    var tlsCa: String?

    @Option(help: "TLS: a client certificate (PEM) for servers that ask for one; with --tls-key, --token may be left out.")
    var tlsCert: String?

    @Option(help: "TLS: the client certificate's key (PEM).")
    var tlsKey: String?

    @Option(help: "TLS: verify the server as this name (and send it in SNI) instead of --server's host.")
    var tlsServerName: String?

    mutating func validate() throws {
        guard self.timeout.isFinite, self.timeout >= 0 else {
            throw ValidationError("--timeout: seconds, 0 or more (0: the server's ceiling)")
        }
        do {
            _ = try ClaimlineAddress.list(self.server)
        } catch {
            throw ValidationError("--server: expected host:port or a comma-separated list of them, got '\(error.entry)'")
        }
        guard (self.tlsCert == nil) == (self.tlsKey == nil) else {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        guard self.resolvedToken != nil || self.tlsCert != nil else {
            throw ValidationError("--token: required: pass --token or set CLAIMLINE_TOKEN (or a client certificate: --tls-cert, --tls-key)")
        }
        do {
            _ = try self.tlsSettings()
        } catch {
            throw ValidationError("--tls: \(error)")
        }
    }

    /// TLS as the options ask for it; nil for plain TCP.
    func tlsSettings() throws -> ClaimlineTLS? {
        guard self.tls || self.tlsCa != nil || self.tlsCert != nil || self.tlsServerName != nil else { return nil }
        return try ClaimlineTLS(
            caFile: self.tlsCa, certificateFile: self.tlsCert, privateKeyFile: self.tlsKey, serverName: self.tlsServerName
        )
    }

    /// The instances `--server` names, in order (checked by `validate()`).
    var addresses: [ClaimlineAddress] {
        (try? ClaimlineAddress.list(self.server)) ?? [ClaimlineAddress(host: "127.0.0.1", port: 7400)]
    }

    /// How errors name the server: `host:port`, or `any of a:1, b:2` for several.
    var serverText: String {
        let addresses = self.addresses
        return addresses.count == 1 ? addresses[0].description : "any of " + addresses.map(\.description).joined(separator: ", ")
    }

    var resolvedToken: String? {
        let token = self.token ?? ProcessInfo.processInfo.environment["CLAIMLINE_TOKEN"]
        return token?.isEmpty == false ? token : nil
    }

    /// The call's budget: `--timeout`, or for `--timeout 0` the server's advertised ceiling
    /// (`HelloAck.max_deadline_ms`) and a second for the answer to travel back, so that the
    /// server, not this client, ends a call that takes too long.
    func budget() async -> (Duration, String) {
        if self.timeout > 0 {
            return (.milliseconds(Int64((self.timeout * 1000).rounded())), "\(Show.seconds(self.timeout)) (--timeout)")
        }
        var ceilingMs: UInt32 = 0
        // The first instance that answers tells its ceiling; the instances of one deployment share
        // it. A silent one is left after the failover's connect timeout, as a call would leave it.
        let connectTimeout = FailoverSettings().connectTimeout.failoverNanoseconds
        for address in self.addresses {
            guard
                let probe = try? await ClaimlineConnection.connect(
                    host: address.host, port: address.port, token: self.resolvedToken ?? "", clientName: "claimline-cli",
                    connectTimeout: .nanoseconds(Int64(connectTimeout)), tls: try? self.tlsSettings()
                )
            else { continue }
            ceilingMs = probe.helloAck.maxDeadlineMs
            await probe.close()
            break
        }
        if ceilingMs == 0 { ceilingMs = 30_000 }  // a server that does not advertise it: the protocol's default
        return (.milliseconds(Int64(ceilingMs) + 1000), "the server's ceiling of \(Show.seconds(Double(ceilingMs) / 1000))")
    }

    /// The client that makes the call: `--server`'s addresses and `--timeout`'s budget go
    /// through PROTOCOL.md 8.1's failover with its default settings, like any client's.
    func client(budget: Duration) -> ClaimlineClient {
        var configuration = ClaimlineClientConfiguration(addresses: self.addresses, token: self.resolvedToken ?? "", clientName: "claimline-cli")
        configuration.connections = 1
        configuration.defaultTimeout = budget
        configuration.tls = try? self.tlsSettings()
        return ClaimlineClient(configuration: configuration)
    }

    /// Runs one call and prints its answer: `text` for people, the whole answer with `--json`.
    /// An error becomes one line on stderr (``ErrorOutput``) naming the flags in `flags`, and
    /// the exit status of its code.
    ///
    /// - Parameters:
    ///   - flags: the subcommand's flags by the request field they set.
    ///   - key: a write's idempotency key, to tell the user how to retry when the outcome is unknown.
    ///   - callID: a contact call's id, to name the claim already filed for it.
    func run<Response: JSONWritable>(
        flags: FlagMap,
        key: String? = nil,
        callID: String? = nil,
        _ call: (ClaimlineClient) async throws -> Response,
        text: (Response) -> String
    ) async throws {
        let (budget, budgetText) = await self.budget()
        let client = self.client(budget: budget)
        let started = ContinuousClock.now
        do {
            let response = try await call(client)
            await client.close()
            if self.json {
                print(response.json)
            } else {
                let out = text(response)
                if !out.isEmpty { print(out) }
            }
        } catch {
            var report = ErrorReport(error, flags: flags, server: self.serverText, budget: budgetText, key: key)
            if let callID, report.currentState == ContactState.claimFiled.protoName {
                // Which claim? The contact knows; a short look-up within what is left of the budget.
                let left = max(.seconds(1), budget - (ContinuousClock.now - started))
                if let contact = try? await client.getContact(GetContactRequest(callId: callID), timeout: left).contact,
                    !contact.claimNumber.isEmpty
                {
                    report.claimFiled(contact.claimNumber, callID: callID)
                }
            }
            await client.close()
            ErrorOutput.write(report, json: self.json)
            throw ExitCode(report.exitStatus)
        }
    }
}

/// Parsing of the domain's names on the command line. Every error names its flag; thrown from
/// a command's `validate()`, it prints the subcommand's usage and exits 64.
enum Parse {
    /// `billing/balance_desync` → a valid pair; with `groupAlone`, `billing` → the whole group.
    static func category(_ text: String, flag: String = "--category", groupAlone: Bool = false) throws -> CategoryRef {
        let parts = text.lowercased().replacingOccurrences(of: "-", with: "_").split(separator: "/", omittingEmptySubsequences: false)
        let groups = [ClaimGroup.shop, .contactCentre, .dealer, .billing, .other]
        guard let group = Taxonomy.group(key: String(parts[0])) else {
            throw ValidationError("\(flag): unknown group '\(parts[0])'; one of: " + groups.map(Taxonomy.groupKey).joined(separator: ", "))
        }
        let choices = Taxonomy.categories[group, default: []].map { Taxonomy.key(CategoryRef(group: group, category: $0)) }
        if parts.count == 1 {
            if groupAlone { return CategoryRef(group: group, category: .unspecified) }
            throw ValidationError("\(flag): '\(text)' needs its category; one of: " + choices.joined(separator: ", "))
        }
        guard parts.count == 2, let category = Taxonomy.category(key: String(parts[1])),
            Taxonomy.isValid(CategoryRef(group: group, category: category))
        else {
            throw ValidationError(
                "\(flag): '\(parts.dropFirst().joined(separator: "/"))' is not a \(Taxonomy.groupKey(group)) category; one of: "
                    + choices.joined(separator: ", "))
        }
        return CategoryRef(group: group, category: category)
    }

    /// An enum by the end of its proto name, case-insensitive: `long_review`, `in_progress`.
    static func enumValue<E: ProtoEnum & CaseIterable>(_ text: String, _: E.Type, prefix: String, flag: String) throws -> E {
        let wanted = text.uppercased().replacingOccurrences(of: "-", with: "_")
        let choices = E.allCases.filter { $0.rawValue != 0 }
        if let match = choices.first(where: { $0.protoName == prefix + wanted || $0.protoName == wanted }) { return match }
        let names = choices.map { $0.protoName.dropFirst(prefix.count).lowercased() }
        throw ValidationError("\(flag): unknown value '\(text)'; one of: " + names.joined(separator: ", "))
    }

    /// `--to` meant a time in `claim list` and `stats` and a status in `claim status`; each
    /// meaning has its own flag now.
    static let renamedTo = "--to: renamed: --until for a time (claim list, stats), --status for a status (claim status)"

    static func outcome(_ text: String) throws -> RetentionOutcome {
        try enumValue(text, RetentionOutcome.self, prefix: "RETENTION_OUTCOME_", flag: "--outcome")
    }

    static func reason(_ text: String) throws -> RetentionFailureReason {
        try enumValue(text, RetentionFailureReason.self, prefix: "RETENTION_FAILURE_REASON_", flag: "--reason")
    }

    static func status(_ text: String, flag: String = "--status") throws -> ClaimStatus {
        try enumValue(text, ClaimStatus.self, prefix: "CLAIM_STATUS_", flag: flag)
    }

    static func tier(_ text: String) throws -> ValueTier {
        guard let value = Int32(text.lowercased().replacingOccurrences(of: "tier", with: "").trimmingCharacters(in: .whitespaces)),
            (1...4).contains(value)
        else {
            throw ValidationError("--tier: '\(text)' is not a value tier; one of: 1, 2, 3, 4")
        }
        return ValueTier(rawValue: value)
    }

    /// A time: Unix milliseconds, or a UTC date `2026-03-01` or date and time `2026-03-01T14:30`
    /// (`Z` or an offset allowed).
    static func time(_ text: String, flag: String) throws -> Int64 {
        if let ms = Int64(text), ms >= 0 { return ms }
        let iso = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds]] {
            iso.formatOptions = options
            if let date = iso.date(from: text) { return Int64((date.timeIntervalSince1970 * 1000).rounded()) }
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        for format in ["yyyy-MM-dd", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm:ss"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return Int64((date.timeIntervalSince1970 * 1000).rounded()) }
        }
        throw ValidationError("\(flag): '\(text)' is not a time; Unix milliseconds or a UTC date such as 2026-03-01 or 2026-03-01T14:30")
    }
}
