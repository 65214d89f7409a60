import ArgumentParser
import ClaimlineClient
import ClaimlineCore

struct ClaimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "claim", abstract: "Claims: get, list, move along TMF621.", subcommands: [Get.self, List.self, Status.self]
    )

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One claim.")
        static let flags = FlagMap(["claim_number": "<number>"])

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The claim number, e.g. 2026-000123.") var number: String

        func run() async throws {
            try await self.global.run(flags: Self.flags, { try await $0.getClaim(GetClaimRequest(claimNumber: self.number)) }) {
                Show.claim($0.claim)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Claims, newest first, one line each; filters combine.",
            discussion: "Times are Unix milliseconds or UTC dates: 2026-03-01, 2026-03-01T14:30."
        )
        static let flags = FlagMap([
            "msisdn": "--msisdn", "status": "--status", "created_from_ms": "--from", "created_to_ms": "--until",
            "page_size": "--page-size", "page_token": "--page-token", "category": "--category", "department": "--department",
        ])

        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this subscriber's claims.") var msisdn: String = ""
        @Option(help: "Only this status, e.g. acknowledged, in_progress.") var status: String?
        @Option(help: "Only this group (e.g. billing) or group/category (e.g. billing/balance_desync).") var category: String?
        @Option(help: "Only this department, as `file` prints it.") var department: String = ""
        @Option(help: "Created at or after this time.") var from: String?
        @Option(help: "Created before this time.") var until: String?
        @Option(help: "Claims per page.") var pageSize: UInt32 = 20
        @Option(help: "The page token the previous page printed.") var pageToken: String = ""
        @Option(name: .customLong("to"), help: .hidden) var renamedTo: String?

        func validate() throws {
            if self.renamedTo != nil { throw ValidationError(Parse.renamedTo) }
            _ = try self.request()
        }

        func request() throws -> ListClaimsRequest {
            ListClaimsRequest(
                msisdn: self.msisdn,
                status: try self.status.map { try Parse.status($0) } ?? .unspecified,
                createdFromMs: try self.from.map { try Parse.time($0, flag: "--from") } ?? 0,
                createdToMs: try self.until.map { try Parse.time($0, flag: "--until") } ?? 0,
                pageSize: self.pageSize,
                pageToken: self.pageToken,
                category: try self.category.map { try Parse.category($0, groupAlone: true) },
                department: self.department
            )
        }

        func run() async throws {
            let request = try self.request()
            try await self.global.run(flags: Self.flags, { try await $0.listClaims(request) }) { answer in
                var lines = answer.claims.map(Show.claimLine)
                var footer = answer.claims.count == 1 ? "1 claim" : "\(answer.claims.count) claims"
                if !answer.nextPageToken.isEmpty { footer += "; more with --page-token \(Show.shellWord(answer.nextPageToken))" }
                lines.append(footer)
                return lines.joined(separator: "\n")
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move a claim to a new status.")
        static let flags = FlagMap([
            "idempotency_key": "--key", "claim_number": "<number>", "status": "--status", "note": "--note",
        ])

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The claim number.") var number: String
        @Option(help: "The new status: in_progress, pending, held, resolved, closed, rejected, cancelled.") var status: String
        @Option(help: "A note.") var note: String = ""
        @Option(help: "Idempotency key: pass the same one to retry safely (default: a new one).") var key: String = ""

        func validate() throws {
            _ = try Parse.status(self.status)
        }

        func run() async throws {
            let key = self.key.isEmpty ? ClaimlineClient.newIdempotencyKey() : self.key
            let request = UpdateClaimStatusRequest(
                idempotencyKey: key, claimNumber: self.number, status: try Parse.status(self.status), note: self.note
            )
            try await self.global.run(flags: Self.flags, key: key, { try await $0.updateClaimStatus(request) }) { answer in
                guard let claim = answer.claim else { return "" }
                return "claim \(claim.claimNumber): \(Show.status(claim.status)); due \(Show.utc(claim.dueAtMs))"
            }
        }
    }
}

struct IncidentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incident", abstract: "Mass incidents: declare, withdraw, list.", subcommands: [Declare.self, Withdraw.self, List.self]
    )

    struct Declare: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Declare a mass incident: escalations it matches follow its playbook.")
        static let flags = FlagMap([
            "idempotency_key": "--key", "title": "--title", "regions": "--region", "categories": "--category",
            "playbook_url": "--playbook-url", "playbook_text": "--playbook-text",
        ])

        @OptionGroup var global: GlobalOptions
        @Option(help: "A title.") var title: String
        @Option(help: "A region it affects (repeat for several).") var region: [String] = []
        @Option(help: "A group or group/category it affects (repeat for several).") var category: [String] = []
        @Option(help: "The playbook's page on the portal.") var playbookUrl: String = ""
        @Option(help: "The playbook's text.") var playbookText: String = ""
        @Option(help: "Idempotency key: pass the same one to retry safely (default: a new one).") var key: String = ""

        func validate() throws {
            for text in self.category { _ = try Parse.category(text, groupAlone: true) }
        }

        func run() async throws {
            let key = self.key.isEmpty ? ClaimlineClient.newIdempotencyKey() : self.key
            let request = DeclareIncidentRequest(
                idempotencyKey: key, title: self.title, regions: self.region,
                categories: try self.category.map { try Parse.category($0, groupAlone: true) },
                playbookUrl: self.playbookUrl, playbookText: self.playbookText
            )
            try await self.global.run(flags: Self.flags, key: key, { try await $0.declareIncident(request) }) { answer in
                guard let incident = answer.incident else { return "" }
                return "incident \(incident.incidentId) declared: \(incident.title)"
            }
        }
    }

    struct Withdraw: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Withdraw a mass incident.")
        static let flags = FlagMap(["idempotency_key": "--key", "incident_id": "<id>", "note": "--note"])

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The incident id, e.g. INC-000001.") var id: String
        @Option(help: "A note.") var note: String = ""
        @Option(help: "Idempotency key: pass the same one to retry safely (default: a new one).") var key: String = ""

        func run() async throws {
            let key = self.key.isEmpty ? ClaimlineClient.newIdempotencyKey() : self.key
            let request = WithdrawIncidentRequest(idempotencyKey: key, incidentId: self.id, note: self.note)
            try await self.global.run(flags: Self.flags, key: key, { try await $0.withdrawIncident(request) }) { answer in
                "incident \(answer.incident?.incidentId ?? self.id) withdrawn"
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Active incidents, one line each.")

        @OptionGroup var global: GlobalOptions
        @Flag(help: "Include withdrawn incidents.") var all = false

        func run() async throws {
            try await self.global.run(flags: FlagMap([:]), { try await $0.listIncidents(ListIncidentsRequest(includeWithdrawn: self.all)) }) {
                answer in
                (answer.incidents.map(Show.incident) + [answer.incidents.count == 1 ? "1 incident" : "\(answer.incidents.count) incidents"])
                    .joined(separator: "\n")
            }
        }
    }
}

struct SecondLine: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "second-line", abstract: "The second line's mode: get, set.", subcommands: [Get.self, Set.self]
    )

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The second line's mode.")

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await self.global.run(flags: FlagMap([:]), { try await $0.getSecondLineMode() }) { Show.secondLine($0) }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set the second line's mode: escalations decide by it.")
        static let flags = FlagMap(["idempotency_key": "--key", "mode": "<mode>", "reason": "--reason"])

        @OptionGroup var global: GlobalOptions
        @Argument(help: "normal, degraded or closed.") var mode: String
        @Option(help: "Why.") var reason: String = ""
        @Option(help: "Idempotency key: pass the same one to retry safely (default: a new one).") var key: String = ""

        func validate() throws {
            _ = try self.parsedMode()
        }

        func parsedMode() throws -> SecondLineMode {
            try Parse.enumValue(self.mode, SecondLineMode.self, prefix: "SECOND_LINE_MODE_", flag: "<mode>")
        }

        func run() async throws {
            let key = self.key.isEmpty ? ClaimlineClient.newIdempotencyKey() : self.key
            let request = SetSecondLineModeRequest(idempotencyKey: key, mode: try self.parsedMode(), reason: self.reason)
            try await self.global.run(flags: Self.flags, key: key, { try await $0.setSecondLineMode(request) }) { Show.secondLine($0) }
        }
    }
}

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "The escalation policy: reload it from its file (admin only).", subcommands: [Reload.self]
    )

    struct Reload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load the policy file again, as SIGHUP does: prints the new policy, or the error that kept the old one.",
            discussion: "Admin only; audited. Writes after the answer decide by the new policy."
        )
        static let flags = FlagMap(["idempotency_key": "--key"])

        @OptionGroup var global: GlobalOptions
        @Option(help: "Idempotency key: pass the same one to retry safely (default: a new one).") var key: String = ""

        func run() async throws {
            let key = self.key.isEmpty ? ClaimlineClient.newIdempotencyKey() : self.key
            try await self.global.run(flags: Self.flags, key: key, { try await $0.reloadPolicy(ReloadPolicyRequest(idempotencyKey: key)) }) {
                "policy \($0.policyName) \($0.policyVersion) (\($0.rules) rules) in force; was \($0.previousPolicyName) \($0.previousPolicyVersion)"
            }
        }
    }
}

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Claims by category, escalations by decision and rule, retention outcomes by reason.",
        discussion: "Times are Unix milliseconds or UTC dates: 2026-03-01, 2026-03-01T14:30. --json adds claims by group."
    )
    static let flags = FlagMap(["from_ms": "--from", "to_ms": "--until"])

    @OptionGroup var global: GlobalOptions
    @Option(help: "From this time.") var from: String?
    @Option(help: "Until this time.") var until: String?
    @Option(name: .customLong("to"), help: .hidden) var renamedTo: String?

    func validate() throws {
        if self.renamedTo != nil { throw ValidationError(Parse.renamedTo) }
        _ = try self.request()
    }

    func request() throws -> GetStatsRequest {
        GetStatsRequest(
            fromMs: try self.from.map { try Parse.time($0, flag: "--from") } ?? 0,
            toMs: try self.until.map { try Parse.time($0, flag: "--until") } ?? 0
        )
    }

    func run() async throws {
        let request = try self.request()
        try await self.global.run(flags: Self.flags, { try await $0.getStats(request) }) { Show.stats($0) }
    }
}
