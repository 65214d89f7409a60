import ClaimlineCore
import ClaimlineServer
import ClaimlineStore
import Foundation
import Testing

/// The `claimline` CLI (built beside the tests), run as a user would, against a live server.
@Suite("CLI", .serialized)
struct CLITests {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        var seconds: Double

        /// stdout's lines, without the final newline.
        var lines: [String] { self.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }
        var firstErrorLine: String { self.stderr.split(separator: "\n").first.map(String.init) ?? "" }
        /// stderr parsed as one JSON object.
        var errorJSON: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(self.stderr.utf8)) as? [String: Any] }
        var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(self.stdout.utf8)) as? [String: Any] }
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
        let started = Date()
        try process.run()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: stdout, stderr: stderr, seconds: Date().timeIntervalSince(started))
    }

    /// `  label:   value` rows of a text answer, by label.
    static func rows(_ run: Run) -> [String: String] {
        var rows: [String: String] = [:]
        for line in run.lines where line.hasPrefix("  ") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            rows[line[..<colon].trimmingCharacters(in: .whitespaces)] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return rows
    }

    static let msisdn = "+79161234567"

    /// Escalate (billing, tier and region given) and Retain IMPOSSIBLE long_review: the contact
    /// then requires a claim.
    static func contactRequiringClaim(_ callID: String, port: Int, tier: String = "2", region: String = "77") throws {
        let escalate = try run(
            ["escalate", "--call-id", callID, "--msisdn", msisdn, "--tier", tier, "--region", region, "--category", "billing/balance_desync"],
            port: port
        )
        #expect(escalate.status == 0, "\(escalate.stderr)")
        let retain = try run(["retain", "--call-id", callID, "--outcome", "impossible", "--reason", "long_review"], port: port)
        #expect(retain.status == 0, "\(retain.stderr)")
    }

    // MARK: - The whole contact

    @Test("A whole contact from the shell: escalate, retain, file, claim get; errors exit with their status code")
    func wholeContact() async throws {
        let server = try await TestServer.start()
        let port = server.port
        let escalate = try Self.run(
            [
                "escalate", "--call-id", "UCID-CLI-1", "--msisdn", Self.msisdn, "--tier", "2", "--region", "77", "--category",
                "billing/balance_desync",
            ],
            port: port
        )
        #expect(escalate.status == 0, "\(escalate.stderr)")
        #expect(escalate.lines == ["decision: TRANSFER_TO_SECOND_LINE (rule second_line_normal); contact: WITH_SECOND_LINE"])

        let retain = try Self.run(["retain", "--call-id", "UCID-CLI-1", "--outcome", "impossible", "--reason", "long_review"], port: port)
        #expect(retain.status == 0)
        #expect(
            retain.lines == [
                "contact UCID-CLI-1: CLAIM_REQUIRED; a claim is required; file it with:",
                "  claimline file --call-id UCID-CLI-1 --category billing/balance_desync --msisdn +79161234567 --description '<what happened>'",
            ]
        )

        let file = try Self.run(
            [
                "file", "--call-id", "UCID-CLI-1", "--category", "billing/balance_desync", "--msisdn", Self.msisdn,
                "--description", "Баланс не совпадает с начислениями", "--reason", "long_review", "--key", "cli-key-1", "--json",
            ],
            port: port
        )
        #expect(file.status == 0, "\(file.stderr)")
        let number = try #require(file.json?["claimNumber"] as? String)
        #expect(number.hasPrefix("20"))

        let again = try Self.run(
            [
                "file", "--call-id", "UCID-CLI-1", "--category", "billing/balance_desync", "--msisdn", Self.msisdn,
                "--description", "Баланс не совпадает с начислениями", "--reason", "long_review", "--key", "cli-key-1", "--json",
            ],
            port: port
        )
        #expect(again.json?["claimNumber"] as? String == number)

        let get = try Self.run(["claim", "get", number], port: port)
        #expect(get.lines.first == "claim \(number): ACKNOWLEDGED")
        let rows = Self.rows(get)
        #expect(rows["category"] == "billing/balance_desync")
        #expect(rows["subscriber"] == "+79161234567, tier 2, region 77")
        #expect(rows["retention failed"] == "LONG_REVIEW")
        #expect(rows["description"] == "Баланс не совпадает с начислениями")

        let invalid = try Self.run(
            ["file", "--call-id", "X", "--category", "billing/balance_desync", "--msisdn", "12345", "--description", "x"], port: port
        )
        #expect(invalid.status == 3)
        #expect(invalid.stderr == "error: INVALID_ARGUMENT: --msisdn: not an E.164 number (+ and 8 to 15 digits)\n")

        let missing = try Self.run(["claim", "get", "2026-999999"], port: port)
        #expect(missing.status == 5)
        #expect(missing.stderr == "error: NOT_FOUND: no claim 2026-999999\n")
        let badToken = try Self.run(["stats"], port: port, token: "not-a-token")
        #expect(badToken.status == 16)
        #expect(badToken.stderr.split(separator: "\n").count == 1)
        try await server.stop()
    }

    // MARK: - 1. INVALID_ARGUMENT names the flags

    @Test("INVALID_ARGUMENT names the flag the user typed, not the field path; several violations on one line")
    func invalidArgumentNamesFlags() async throws {
        let server = try await TestServer.start()
        let port = server.port

        let place = try Self.run(
            [
                "file", "--call-id", "UCID-CLI-PLACE", "--category", "contact_centre/improper_service", "--msisdn", Self.msisdn,
                "--description", "Оператор прервал разговор",
            ],
            port: port
        )
        #expect(place.status == 3)
        #expect(place.stderr == "error: INVALID_ARGUMENT: --place: a contact_centre claim names the place\n")
        #expect(place.stdout.isEmpty)

        let several = try Self.run(
            [
                "file", "--call-id", "UCID-CLI-SEVERAL", "--category", "contact_centre/improper_service", "--msisdn", "12345",
                "--description", "",
            ],
            port: port
        )
        #expect(several.status == 3)
        #expect(
            several.stderr
                == "error: INVALID_ARGUMENT: --msisdn: not an E.164 number (+ and 8 to 15 digits); --place: a contact_centre claim names the place; --description: required\n"
        )

        let identifiers = try Self.run(
            [
                "escalate", "--call-id", "UCID\u{7}BELL", "--msisdn", Self.msisdn, "--tier", "2", "--category", "billing/migration",
                "--agent", String(repeating: "a", count: 129), "--key", "key\u{1}",
            ],
            port: port
        )
        #expect(identifiers.status == 3)
        #expect(
            identifiers.stderr
                == "error: INVALID_ARGUMENT: --key: control or non-printable characters are not allowed; --call-id: control or non-printable characters are not allowed; --agent: at most 128 bytes\n"
        )

        let reason = try Self.run(["retain", "--call-id", "UCID-CLI-R", "--outcome", "retained", "--reason", "long_review"], port: port)
        #expect(reason.status == 3)
        #expect(reason.stderr == "error: INVALID_ARGUMENT: --reason: only for the outcome IMPOSSIBLE\n")

        let region = try Self.run(
            ["incident", "declare", "--title", "Сбой", "--region", "77", "--region", "7\u{1}7", "--playbook-url", "https://portal/7"],
            port: port
        )
        #expect(region.status == 3)
        #expect(region.stderr == "error: INVALID_ARGUMENT: --region #2: control or non-printable characters are not allowed\n")

        // A description naming another field names its flag too.
        let times = try Self.run(["claim", "list", "--from", "5000", "--until", "3000"], port: port)
        #expect(times.status == 3)
        #expect(times.stderr == "error: INVALID_ARGUMENT: --until: must be after --from\n")
        let stats = try Self.run(["stats", "--from", "5000", "--until", "3000"], port: port)
        #expect(stats.stderr == "error: INVALID_ARGUMENT: --until: must be after --from\n")

        // What the contact recorded: conflicting values name --tier, --region, --category, --reason.
        try Self.contactRequiringClaim("UCID-CLI-CONFLICT", port: port, tier: "2", region: "77")
        let conflict = try Self.run(
            [
                "file", "--call-id", "UCID-CLI-CONFLICT", "--category", "other/self_service_malfunction", "--msisdn", Self.msisdn,
                "--tier", "3", "--region", "50", "--reason", "cause_unknown", "--description", "x",
            ],
            port: port
        )
        #expect(conflict.status == 3)
        #expect(
            conflict.stderr
                == "error: INVALID_ARGUMENT: --tier: the contact recorded VALUE_TIER_2; leave it unset or send the same; "
                + "--region: the contact recorded region 77; leave it unset or send the same; "
                + "--category: the contact was escalated as billing; a claim keeps its group; "
                + "--reason: the contact recorded RETENTION_FAILURE_REASON_LONG_REVIEW; leave it unset or send the same\n"
        )
        try await server.stop()
    }

    // MARK: - 2. Bad enum values

    @Test("A bad enum value is a usage error naming its flag, with the subcommand's usage")
    func badValuesNameTheirFlag() async throws {
        let port = 1  // nothing is sent: the arguments are refused first
        let cases: [([String], String, String)] = [
            (
                ["retain", "--call-id", "X", "--outcome", "maybe"],
                "error: --outcome: unknown value 'maybe'; one of: retained, declined, impossible", "Usage: claimline retain "
            ),
            (
                ["retain", "--call-id", "X", "--outcome", "impossible", "--reason", "foo"],
                "error: --reason: unknown value 'foo'; one of: laborious_recalculation, long_review, cause_unknown, exceeds_authority",
                "Usage: claimline retain "
            ),
            (
                ["escalate", "--call-id", "X", "--msisdn", Self.msisdn, "--tier", "2", "--category", "billing/nope"],
                "error: --category: 'nope' is not a billing category; one of: billing/slow_service, billing/migration, billing/balance_desync, "
                    + "billing/blocked_with_positive_balance, billing/not_blocked_with_negative_balance, billing/charged_while_blocked",
                "Usage: claimline escalate "
            ),
            (
                ["escalate", "--call-id", "X", "--msisdn", Self.msisdn, "--tier", "2", "--category", "nope/nope"],
                "error: --category: unknown group 'nope'; one of: shop, contact_centre, dealer, billing, other", "Usage: claimline escalate "
            ),
            (
                ["escalate", "--call-id", "X", "--msisdn", Self.msisdn, "--tier", "7", "--category", "billing/migration"],
                "error: --tier: '7' is not a value tier; one of: 1, 2, 3, 4", "Usage: claimline escalate "
            ),
            (
                ["file", "--call-id", "X", "--msisdn", Self.msisdn, "--tier", "0", "--category", "billing/migration", "--description", "x"],
                "error: --tier: '0' is not a value tier; one of: 1, 2, 3, 4", "Usage: claimline file "
            ),
            (
                ["claim", "status", "2026-000001", "--status", "done"],
                "error: --status: unknown value 'done'; one of: acknowledged, rejected, pending, held, in_progress, cancelled, closed, resolved",
                "Usage: claimline claim status "
            ),
            (
                ["claim", "list", "--category", "billing/nope"],
                "error: --category: 'nope' is not a billing category; one of: billing/slow_service, billing/migration, billing/balance_desync, "
                    + "billing/blocked_with_positive_balance, billing/not_blocked_with_negative_balance, billing/charged_while_blocked",
                "Usage: claimline claim list "
            ),
            (
                ["claim", "list", "--until", "yesterday"],
                "error: --until: 'yesterday' is not a time; Unix milliseconds or a UTC date such as 2026-03-01 or 2026-03-01T14:30",
                "Usage: claimline claim list "
            ),
            (
                ["second-line", "set", "sometimes"],
                "error: <mode>: unknown value 'sometimes'; one of: normal, degraded, closed", "Usage: claimline second-line set "
            ),
        ]
        for (arguments, line, usage) in cases {
            let run = try Self.run(arguments, port: port)
            #expect(run.status == 64, "\(arguments)")
            #expect(run.firstErrorLine == line, "\(arguments)")
            #expect(run.stderr.contains("\n" + usage), "\(arguments): \(run.stderr)")
            #expect(run.stdout.isEmpty)
        }
    }

    // MARK: - 3. --json errors

    @Test("With --json an error is one JSON object on stderr: code, number, reason, message, flag, violations")
    func jsonErrors() async throws {
        let server = try await TestServer.start()
        let port = server.port
        let place = try Self.run(
            [
                "file", "--call-id", "UCID-CLI-JSON", "--category", "contact_centre/improper_service", "--msisdn", Self.msisdn,
                "--description", "x", "--json",
            ],
            port: port
        )
        #expect(place.status == 3)
        #expect(place.stdout.isEmpty)
        #expect(
            place.stderr
                == #"{"code":"INVALID_ARGUMENT","codeNumber":3,"reason":"INVALID_FIELD","message":"--place: a contact_centre claim names the place","#
                + #""flag":"--place","violations":[{"flag":"--place","field":"place_id","description":"a contact_centre claim names the place"}],"#
                + #""currentState":"","claimNumber":"","idempotencyKey":"","retryAfterMs":0}"# + "\n"
        )
        let parsed = try #require(place.errorJSON)
        #expect(parsed["flag"] as? String == "--place")
        #expect(parsed["codeNumber"] as? Int == 3)

        let missing = try Self.run(["claim", "get", "2026-999999", "--json"], port: port)
        #expect(missing.status == 5)
        #expect(missing.errorJSON?["code"] as? String == "NOT_FOUND")
        #expect(missing.errorJSON?["reason"] as? String == "CLAIM_NOT_FOUND")
        #expect(missing.errorJSON?["message"] as? String == "no claim 2026-999999")
        #expect((missing.errorJSON?["violations"] as? [Any])?.isEmpty == true)

        let usage = try Self.run(["retain", "--call-id", "X", "--outcome", "maybe", "--json"], port: port)
        #expect(usage.status == 64)
        #expect(
            usage.stderr
                == #"{"code":"USAGE","codeNumber":64,"reason":"USAGE","message":"--outcome: unknown value 'maybe'; one of: retained, declined, impossible","#
                + #""flag":"--outcome","violations":[{"flag":"--outcome","field":"","description":"unknown value 'maybe'; one of: retained, declined, impossible"}],"#
                + #""currentState":"","claimNumber":"","idempotencyKey":"","retryAfterMs":0}"# + "\n"
        )
        try await server.stop()
    }

    // MARK: - 4. --timeout 0

    @Test("--timeout 0 waits as long as the server allows (its advertised ceiling), not zero")
    func timeoutZero() async throws {
        // Writes take 1.2 s: --timeout 0 waits for them; a short --timeout does not.
        let slow = try await TestServer.start(
            backend: SlowStoreBackend(InMemoryStoreBackend(), commitDelayMs: 1200),
            configuration: TestServer.configuration { $0.limits.maxDeadlineMs = 5000 }
        )
        let waited = try Self.run(["second-line", "set", "degraded", "--reason", "обучение", "--timeout", "0"], port: slow.port)
        #expect(waited.status == 0, "\(waited.stderr)")
        #expect(waited.stdout.hasPrefix("second line: DEGRADED ("))
        #expect(waited.seconds >= 1.2)
        // Changed on purpose by PROTOCOL.md 8.1 (the final error tells the truth): the server took
        // the write and is committing it, so the caller is told UNAVAILABLE OUTCOME_UNKNOWN (exit
        // status 14), not DEADLINE_EXCEEDED (4), which says "not applied".
        let short = try Self.run(["second-line", "set", "normal", "--timeout", "0.3", "--key", "cli-timeout-key"], port: slow.port)
        #expect(short.status == 14)
        #expect(
            short.stderr
                == "error: UNAVAILABLE: no answer within 0.3 s (--timeout); the write may have been applied: retry with --key cli-timeout-key\n"
        )
        try await slow.stop()

        // The ceiling is the server's: 1 s advertised, writes taking 4 s: the CLI gives up at the
        // ceiling (and a second's grace), not at its own 30 s fallback.
        let slower = try await TestServer.start(
            backend: SlowStoreBackend(InMemoryStoreBackend(), commitDelayMs: 4000),
            configuration: TestServer.configuration { $0.limits.maxDeadlineMs = 1000 }
        )
        let ceiling = try Self.run(["second-line", "set", "closed", "--timeout", "0", "--key", "cli-ceiling-key"], port: slower.port)
        #expect(ceiling.status == 14)
        #expect(
            ceiling.stderr
                == "error: UNAVAILABLE: no answer within the server's ceiling of 1 s; the write may have been applied: retry with --key cli-ceiling-key\n"
        )
        #expect(ceiling.seconds < 4)
        try await slower.stop()
    }

    // MARK: - 5. No server

    @Test("A refused connection is one readable line")
    func refusedConnection() async throws {
        let server = try await TestServer.start()
        let port = server.port
        try await server.stop()  // nothing listens on its port now

        let refused = try Self.run(["stats"], port: port)
        #expect(refused.status == 14)
        #expect(refused.stderr == "error: UNAVAILABLE: cannot connect to 127.0.0.1:\(port) (connection refused)\n")
        #expect(refused.stdout.isEmpty)

        let json = try Self.run(["claim", "get", "2026-000001", "--json"], port: port)
        #expect(json.status == 14)
        #expect(json.errorJSON?["reason"] as? String == "CONNECT_FAILED")
        #expect(json.errorJSON?["message"] as? String == "cannot connect to 127.0.0.1:\(port) (connection refused)")
    }

    // MARK: - 6. The claim already filed

    @Test("A call on a contact whose claim is filed names the claim")
    func claimAlreadyFiled() async throws {
        let server = try await TestServer.start()
        let port = server.port
        let callID = "UCID-CLI-FILED"
        try Self.contactRequiringClaim(callID, port: port)
        let file = try Self.run(
            ["file", "--call-id", callID, "--category", "billing/balance_desync", "--msisdn", Self.msisdn, "--description", "Первая", "--json"],
            port: port
        )
        let number = try #require(file.json?["claimNumber"] as? String, "\(file.stderr)")

        let twice = try Self.run(
            ["file", "--call-id", callID, "--category", "billing/balance_desync", "--msisdn", Self.msisdn, "--description", "Вторая"], port: port
        )
        #expect(twice.status == 9)
        #expect(
            twice.stderr
                == "error: FAILED_PRECONDITION: file: a claim is not required for this contact; claim \(number) was already filed for \(callID)\n"
        )

        let retain = try Self.run(["retain", "--call-id", callID, "--outcome", "retained"], port: port)
        #expect(retain.status == 9)
        #expect(
            retain.stderr
                == "error: FAILED_PRECONDITION: retain: retain needs the contact with the second line; claim \(number) was already filed for \(callID)\n"
        )

        let json = try Self.run(
            ["file", "--call-id", callID, "--category", "billing/balance_desync", "--msisdn", Self.msisdn, "--description", "Третья", "--json"],
            port: port
        )
        #expect(json.status == 9)
        #expect(json.errorJSON?["claimNumber"] as? String == number)
        #expect(json.errorJSON?["currentState"] as? String == "CONTACT_STATE_CLAIM_FILED")
        #expect(json.errorJSON?["reason"] as? String == "CONTACT_STATE")
        try await server.stop()
    }

    // MARK: - 7, 10. Compact text; stats by decision

    @Test("Text output prints each figure once; stats shows escalations by decision and rule")
    func compactTextAndStats() async throws {
        let server = try await TestServer.start()
        let port = server.port
        try Self.contactRequiringClaim("UCID-CLI-S1", port: port)  // TRANSFER_TO_SECOND_LINE, then IMPOSSIBLE
        let shop = try Self.run(
            ["escalate", "--call-id", "UCID-CLI-S2", "--msisdn", Self.msisdn, "--tier", "1", "--category", "shop/incompetence", "--place", "SHOP-7"],
            port: port
        )
        #expect(
            shop.lines == [
                "decision: FILE_CLAIM (rule quality_of_service); contact: CLAIM_REQUIRED",
                "a claim is required; file it with:",
                "  claimline file --call-id UCID-CLI-S2 --category shop/incompetence --msisdn +79161234567 --description '<what happened>'",
            ]
        )
        let consult = try Self.run(
            ["escalate", "--call-id", "UCID-CLI-S3", "--msisdn", Self.msisdn, "--tier", "3", "--category", "billing/migration"], port: port
        )
        #expect(consult.lines == ["decision: FIRST_LINE_CONSULTATION (rule value_tier_consultation); contact: FIRST_LINE_CONSULTATION"])

        let file = try Self.run(
            ["file", "--call-id", "UCID-CLI-S1", "--category", "billing/balance_desync", "--msisdn", Self.msisdn, "--description", "x"],
            port: port
        )
        #expect(file.status == 0, "\(file.stderr)")
        #expect(file.lines.count == 1)
        #expect(file.lines.first?.hasPrefix("claim 20") == true)
        #expect(file.lines.first?.contains(" filed; department: Отдел биллинга (АСР); due: 20") == true)

        let stats = try Self.run(["stats"], port: port)
        #expect(stats.status == 0, "\(stats.stderr)")
        #expect(
            stats.lines == [
                "claims: 1",
                "  billing/balance_desync: 1",
                "escalations: 3",
                "  FILE_CLAIM (rule quality_of_service): 1",
                "  FIRST_LINE_CONSULTATION (rule value_tier_consultation): 1",
                "  TRANSFER_TO_SECOND_LINE (rule second_line_normal): 1",
                "retention: 0 retained, 0 declined, 1 impossible (LONG_REVIEW 1); 0 % retained",
            ]
        )
        let json = try #require(try Self.run(["stats", "--json"], port: port).json)
        let byDecision = try #require(json["escalationsByDecision"] as? [[String: Any]])
        #expect(byDecision.count == 3)
        #expect(
            byDecision.contains {
                $0["decision"] as? String == "ESCALATE_DECISION_FILE_CLAIM" && $0["rule"] as? String == "quality_of_service"
                    && $0["escalations"] as? String == "1"
            })
        try await server.stop()
    }

    // MARK: - 8. Flags that mean one thing

    @Test("claim status --status, claim list --from/--until: --to is gone")
    func renamedFlags() async throws {
        let server = try await TestServer.start()
        let port = server.port
        let file = try Self.run(
            [
                "file", "--call-id", "UCID-CLI-ST", "--category", "contact_centre/improper_service", "--msisdn", Self.msisdn, "--place", "MRKC-1",
                "--description", "x", "--json",
            ],
            port: port
        )
        let number = try #require(file.json?["claimNumber"] as? String, "\(file.stderr)")

        let moved = try Self.run(["claim", "status", number, "--status", "in_progress", "--note", "взята в работу"], port: port)
        #expect(moved.status == 0, "\(moved.stderr)")
        #expect(moved.lines.count == 1)
        #expect(moved.lines.first?.hasPrefix("claim \(number): IN_PROGRESS; due 20") == true)

        // The old spellings: refused, pointing at the new ones.
        let oldStatus = try Self.run(["claim", "status", number, "--to", "resolved"], port: port)
        #expect(oldStatus.status == 64)
        #expect(oldStatus.firstErrorLine == "error: Missing expected argument '--status <status>'")
        let renamed = "error: --to: renamed: --until for a time (claim list, stats), --status for a status (claim status)"
        let oldList = try Self.run(["claim", "list", "--to", "1700000000000"], port: port)
        #expect(oldList.status == 64)
        #expect(oldList.firstErrorLine == renamed)
        let oldStats = try Self.run(["stats", "--to", "1700000000000"], port: port)
        #expect(oldStats.status == 64)
        #expect(oldStats.firstErrorLine == renamed)
        let unchanged = try Self.run(["claim", "get", number], port: port)
        #expect(unchanged.lines.first == "claim \(number): IN_PROGRESS")

        let inRange = try Self.run(["claim", "list", "--from", "2000-01-01", "--until", "2100-01-01T00:00"], port: port)
        #expect(inRange.status == 0, "\(inRange.stderr)")
        #expect(inRange.lines.last == "1 claim")
        #expect(inRange.lines.first?.hasPrefix("\(number)  IN_PROGRESS  contact_centre/improper_service  +79161234567  due 20") == true)
        let before = try Self.run(["claim", "list", "--until", "2000-01-01"], port: port)
        #expect(before.lines == ["0 claims"])
        try await server.stop()
    }

    // MARK: - 9. Flags that feed a decision

    @Test("escalate needs --tier; file sends no tier, region or reason unless given: the contact's apply")
    func decisionFlags() async throws {
        let server = try await TestServer.start()
        let port = server.port
        let noTier = try Self.run(
            ["escalate", "--call-id", "UCID-CLI-NT", "--msisdn", Self.msisdn, "--category", "billing/balance_desync"], port: port
        )
        #expect(noTier.status == 64)
        #expect(noTier.firstErrorLine == "error: Missing expected argument '--tier <tier>'")
        #expect(noTier.stderr.contains("\nUsage: claimline escalate "))

        // Tier 1, region 50: a CLI that still sent tier 2 or an empty region would be refused.
        try Self.contactRequiringClaim("UCID-CLI-DEF", port: port, tier: "1", region: "50")
        let file = try Self.run(
            [
                "file", "--call-id", "UCID-CLI-DEF", "--category", "billing/charged_while_blocked", "--msisdn", Self.msisdn, "--description", "x",
                "--json",
            ],
            port: port
        )
        #expect(file.status == 0, "\(file.stderr)")
        let claim = try #require(file.json?["claim"] as? [String: Any])
        let subscriber = try #require(claim["subscriber"] as? [String: Any])
        #expect(subscriber["valueTier"] as? String == "VALUE_TIER_1")
        #expect(subscriber["region"] as? String == "50")
        #expect(claim["failureReason"] as? String == "RETENTION_FAILURE_REASON_LONG_REVIEW")
        #expect((claim["category"] as? [String: Any])?["category"] as? String == "CATEGORY_CHARGED_WHILE_BLOCKED")

        // Given and different: refused, naming the flag.
        try Self.contactRequiringClaim("UCID-CLI-DEF2", port: port, tier: "1", region: "50")
        let tier = try Self.run(
            [
                "file", "--call-id", "UCID-CLI-DEF2", "--category", "billing/balance_desync", "--msisdn", Self.msisdn, "--tier", "2",
                "--description", "x",
            ],
            port: port
        )
        #expect(tier.status == 3)
        #expect(tier.stderr == "error: INVALID_ARGUMENT: --tier: the contact recorded VALUE_TIER_1; leave it unset or send the same\n")
        try await server.stop()
    }

    // MARK: - 10. contact get

    @Test("contact get: state, decision, rule, incident, failure reason, claim; the draft while a claim is required")
    func contactGet() async throws {
        let server = try await TestServer.start()
        let port = server.port
        let callID = "UCID-CLI-CONTACT"
        try Self.contactRequiringClaim(callID, port: port)

        let required = try Self.run(["contact", "get", callID], port: port)
        #expect(required.status == 0, "\(required.stderr)")
        #expect(required.lines.first == "contact \(callID): CLAIM_REQUIRED")
        var rows = Self.rows(required)
        #expect(rows["decision"] == "TRANSFER_TO_SECOND_LINE (rule second_line_normal)")
        #expect(rows["failure reason"] == "LONG_REVIEW")
        #expect(rows["incident"] == "-")
        #expect(rows["claim"] == "-")
        #expect(rows["subscriber"] == "+79161234567, tier 2, region 77")
        #expect(rows["category"] == "billing/balance_desync")
        #expect(
            Array(required.lines.suffix(2)) == [
                "a claim is required; file it with:",
                "  claimline file --call-id \(callID) --category billing/balance_desync --msisdn +79161234567 --description '<what happened>'",
            ])

        let json = try #require(try Self.run(["contact", "get", callID, "--json"], port: port).json)
        #expect((json["contact"] as? [String: Any])?["state"] as? String == "CONTACT_STATE_CLAIM_REQUIRED")
        let draft = try #require(json["draft"] as? [String: Any])
        #expect(draft["callId"] as? String == callID)
        #expect(draft["failureReason"] as? String == "RETENTION_FAILURE_REASON_LONG_REVIEW")

        let file = try Self.run(
            ["file", "--call-id", callID, "--category", "billing/balance_desync", "--msisdn", Self.msisdn, "--description", "x", "--json"],
            port: port
        )
        let number = try #require(file.json?["claimNumber"] as? String)
        let filed = try Self.run(["contact", "get", callID], port: port)
        #expect(filed.lines.first == "contact \(callID): CLAIM_FILED")
        #expect(Self.rows(filed)["claim"] == number)
        #expect(!filed.stdout.contains("claimline file"))

        // An incident: the contact names it.
        let declare = try Self.run(
            ["incident", "declare", "--title", "Сбой АСР", "--region", "99", "--playbook-url", "https://portal/7"], port: port
        )
        #expect(declare.status == 0, "\(declare.stderr)")
        #expect(declare.lines == ["incident INC-000001 declared: Сбой АСР"])
        let playbook = try Self.run(
            ["escalate", "--call-id", "UCID-CLI-INC", "--msisdn", Self.msisdn, "--tier", "2", "--region", "99", "--category", "billing/migration"],
            port: port
        )
        #expect(
            playbook.lines == [
                "decision: FOLLOW_INCIDENT_PLAYBOOK (rule mass_incident); contact: FOLLOWING_PLAYBOOK",
                "incident INC-000001: Сбой АСР",
                "  playbook: https://portal/7",
                "if a claim is needed, file it with:",
                "  claimline file --call-id UCID-CLI-INC --category billing/migration --msisdn +79161234567 --description '<what happened>'",
            ])
        let following = try Self.run(["contact", "get", "UCID-CLI-INC"], port: port)
        rows = Self.rows(following)
        #expect(rows["incident"] == "INC-000001")
        #expect(rows["decision"] == "FOLLOW_INCIDENT_PLAYBOOK (rule mass_incident)")
        #expect(following.lines.suffix(2).first == "if a claim is needed, file it with:")

        let none = try Self.run(["contact", "get", "UCID-NOBODY"], port: port)
        #expect(none.status == 5)
        #expect(none.stderr == "error: NOT_FOUND: no contact with call id UCID-NOBODY\n")
        try await server.stop()
    }

    // MARK: - 10. claim list by category and department

    @Test("claim list --category GROUP[/CATEGORY] --department NAME")
    func listByCategoryAndDepartment() async throws {
        let server = try await TestServer.start()
        let port = server.port
        var numbers: [String: String] = [:]
        for (callID, category, place) in [
            ("UCID-CLI-L1", "contact_centre/improper_service", "MRKC-1"),
            ("UCID-CLI-L2", "contact_centre/confidentiality_breach", "MRKC-1"),
            ("UCID-CLI-L3", "shop/confidentiality_breach", "SHOP-1"),
            ("UCID-CLI-L4", "shop/incompetence", "SHOP-2"),
        ] {
            let file = try Self.run(
                ["file", "--call-id", callID, "--category", category, "--msisdn", Self.msisdn, "--place", place, "--description", "x", "--json"],
                port: port
            )
            numbers[callID] = try #require(file.json?["claimNumber"] as? String, "\(file.stderr)")
        }
        func listed(_ arguments: [String]) throws -> Set<String> {
            let run = try Self.run(["claim", "list"] + arguments, port: port)
            #expect(run.status == 0, "\(run.stderr)")
            let claims = run.lines.dropLast().map { String($0.prefix { $0 != " " }) }
            #expect(run.lines.last == (claims.count == 1 ? "1 claim" : "\(claims.count) claims"))
            return Set(claims)
        }
        #expect(try listed(["--category", "contact_centre"]) == [numbers["UCID-CLI-L1"]!, numbers["UCID-CLI-L2"]!])
        #expect(try listed(["--category", "shop/confidentiality_breach"]) == [numbers["UCID-CLI-L3"]!])
        #expect(try listed(["--department", "Служба информационной безопасности"]) == [numbers["UCID-CLI-L2"]!, numbers["UCID-CLI-L3"]!])
        #expect(try listed(["--category", "shop", "--department", "Служба информационной безопасности"]) == [numbers["UCID-CLI-L3"]!])
        #expect(try listed(["--department", "Нет такого отдела"]).isEmpty)
        #expect(try listed([]).count == 4)
        try await server.stop()
    }
}
