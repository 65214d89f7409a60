import ArgumentParser
import ClaimlineClient
import ClaimlineCore

struct ClaimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "claim", abstract: "Claims: get, list, move along TMF621.", subcommands: [Get.self, List.self, Status.self]
    )

    struct Get: AsyncParsableCommand {
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The claim number, e.g. 2026-000123.") var number: String

        func run() async throws {
            try await self.global.run({ try await $0.getClaim(GetClaimRequest(claimNumber: self.number)) }) { answer in
                guard let claim = answer.claim else { return "" }
                return "claim \(claim.claimNumber): \(claim.status.protoName), due \(Parse.utc(claim.dueAtMs))"
            }
        }
    }

    struct List: AsyncParsableCommand {
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this subscriber's claims.") var msisdn: String = ""
        @Option(help: "Only this status, e.g. acknowledged, in_progress.") var status: String?
        @Option(help: "Created at or after (Unix ms).") var from: Int64 = 0
        @Option(help: "Created before (Unix ms).") var to: Int64 = 0
        @Option(help: "Claims per page.") var pageSize: UInt32 = 20
        @Option(help: "The next_page_token of the previous page.") var pageToken: String = ""

        func run() async throws {
            let request = ListClaimsRequest(
                msisdn: self.msisdn,
                status: try self.status.map { try Parse.enumValue($0, ClaimStatus.self, prefix: "CLAIM_STATUS_") } ?? .unspecified,
                createdFromMs: self.from, createdToMs: self.to, pageSize: self.pageSize, pageToken: self.pageToken
            )
            try await self.global.run({ try await $0.listClaims(request) }) { answer in
                "\(answer.claims.count) claim(s)" + (answer.nextPageToken.isEmpty ? "" : "; more with --page-token \(answer.nextPageToken)")
            }
        }
    }

    struct Status: AsyncParsableCommand {
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The claim number.") var number: String
        @Option(help: "The new status: in_progress, pending, held, resolved, closed, rejected, cancelled.") var to: String
        @Option(help: "A note.") var note: String = ""

        func run() async throws {
            let request = UpdateClaimStatusRequest(
                claimNumber: self.number, status: try Parse.enumValue(self.to, ClaimStatus.self, prefix: "CLAIM_STATUS_"), note: self.note
            )
            try await self.global.run({ try await $0.updateClaimStatus(request) })
        }
    }
}

struct IncidentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incident", abstract: "Mass incidents: declare, withdraw, list.", subcommands: [Declare.self, Withdraw.self, List.self]
    )

    struct Declare: AsyncParsableCommand {
        @OptionGroup var global: GlobalOptions
        @Option(help: "A title.") var title: String
        @Option(help: "A region it affects (repeat for several).") var region: [String] = []
        @Option(help: "A group or group/category it affects (repeat for several).") var category: [String] = []
        @Option(help: "The playbook's page on the portal.") var playbookUrl: String = ""
        @Option(help: "The playbook's text.") var playbookText: String = ""

        func run() async throws {
            let categories = try self.category.map { text -> CategoryRef in
                guard let ref = Taxonomy.ref(key: text.lowercased()) else { throw ValidationError("unknown category '\(text)'") }
                return ref
            }
            let request = DeclareIncidentRequest(
                title: self.title, regions: self.region, categories: categories, playbookUrl: self.playbookUrl, playbookText: self.playbookText
            )
            try await self.global.run({ try await $0.declareIncident(request) }) { "incident \($0.incident?.incidentId ?? "") declared" }
        }
    }

    struct Withdraw: AsyncParsableCommand {
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The incident id, e.g. INC-000001.") var id: String
        @Option(help: "A note.") var note: String = ""

        func run() async throws {
            try await self.global.run({ try await $0.withdrawIncident(WithdrawIncidentRequest(incidentId: self.id, note: self.note)) })
        }
    }

    struct List: AsyncParsableCommand {
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Include withdrawn incidents.") var all = false

        func run() async throws {
            try await self.global.run({ try await $0.listIncidents(ListIncidentsRequest(includeWithdrawn: self.all)) }) {
                "\($0.incidents.count) incident(s)"
            }
        }
    }
}

struct SecondLine: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "second-line", abstract: "The second line's mode: get, set.", subcommands: [Get.self, Set.self]
    )

    struct Get: AsyncParsableCommand {
        @OptionGroup var global: GlobalOptions
        func run() async throws { try await self.global.run({ try await $0.getSecondLineMode() }) }
    }

    struct Set: AsyncParsableCommand {
        @OptionGroup var global: GlobalOptions
        @Argument(help: "normal, degraded or closed.") var mode: String
        @Option(help: "Why.") var reason: String = ""

        func run() async throws {
            let request = SetSecondLineModeRequest(mode: try Parse.enumValue(self.mode, SecondLineMode.self, prefix: "SECOND_LINE_MODE_"), reason: self.reason)
            try await self.global.run({ try await $0.setSecondLineMode(request) })
        }
    }
}

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Claims by group and category, retention outcomes by reason.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "From (Unix ms).") var from: Int64 = 0
    @Option(help: "To (Unix ms).") var to: Int64 = 0

    func run() async throws {
        try await self.global.run({ try await $0.getStats(GetStatsRequest(fromMs: self.from, toMs: self.to)) }) { stats in
            let attempts = stats.retained + stats.declined + stats.impossibleByReason.reduce(0) { $0 + $1.count }
            let rate = attempts == 0 ? "-" : String(Int((Double(stats.retained) / Double(attempts) * 100).rounded())) + " %"
            return "claims: \(stats.claimsTotal); escalations: \(stats.escalations); retention rate: \(rate)"
        }
    }
}
