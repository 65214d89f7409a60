import ArgumentParser
import ClaimlineClient
import ClaimlineCore

struct Escalate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The first line could not satisfy the subscriber: what now?")

    static let flags = FlagMap([
        "idempotency_key": "--key", "call_id": "--call-id", "subscriber": "--msisdn", "subscriber.msisdn": "--msisdn",
        "subscriber.value_tier": "--tier", "subscriber.region": "--region", "subscriber.account_id": "--account",
        "category": "--category", "agent_id": "--agent", "place_id": "--place",
    ])

    @OptionGroup var global: GlobalOptions
    @Option(help: "The call id the CTI already has (e.g. a UCID).") var callId: String
    @Option(help: "The subscriber's number, E.164 (+79161234567).") var msisdn: String
    @Option(help: "Value tier, 1 to 4 (it decides between consultation and transfer).") var tier: String
    @Option(help: "Region code (an incident may match it).") var region: String = ""
    @Option(help: "The subscriber's account id.") var account: String = ""
    @Option(help: "group/category, e.g. billing/balance_desync.") var category: String
    @Option(help: "Shop id, contact-centre site or dealer id.") var place: String = ""
    @Option(help: "The first-line agent.") var agent: String = ""
    @Option(help: "Idempotency key: pass the same one to retry safely (default: a new one).") var key: String = ""

    func validate() throws {
        _ = try Parse.tier(self.tier)
        _ = try Parse.category(self.category)
    }

    func run() async throws {
        let key = self.key.isEmpty ? ClaimlineClient.newIdempotencyKey() : self.key
        let subscriber = Subscriber(msisdn: self.msisdn, accountId: self.account, valueTier: try Parse.tier(self.tier), region: self.region)
        let category = try Parse.category(self.category)
        let request = EscalateRequest(
            idempotencyKey: key, callId: self.callId, subscriber: subscriber, category: category, agentId: self.agent, placeId: self.place
        )
        try await self.global.run(flags: Self.flags, key: key, callID: self.callId, { try await $0.escalate(request) }) { answer in
            var lines = ["decision: \(Show.decision(answer.decision)) (rule \(Show.or(answer.rule))); contact: \(Show.state(answer.state))"]
            if let incident = answer.incident { lines.append(Show.playbook(incident)) }
            if answer.state == .claimRequired || answer.state == .followingPlaybook {
                let draft = FileComplaintRequest(callId: self.callId, category: category, subscriber: subscriber)
                lines.append(answer.state == .claimRequired ? "a claim is required; file it with:" : "if a claim is needed, file it with:")
                lines.append("  " + Show.fileCommand(draft))
            }
            return lines.joined(separator: "\n")
        }
    }
}

struct Retain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The second line reports its online-retention attempt.")

    static let flags = FlagMap([
        "idempotency_key": "--key", "call_id": "--call-id", "outcome": "--outcome", "failure_reason": "--reason",
        "agent_id": "--agent", "note": "--note",
    ])

    @OptionGroup var global: GlobalOptions
    @Option(help: "The call id.") var callId: String
    @Option(help: "retained, declined or impossible.") var outcome: String
    @Option(help: "When impossible: laborious_recalculation, long_review, cause_unknown, exceeds_authority.") var reason: String?
    @Option(help: "The second-line agent.") var agent: String = ""
    @Option(help: "A note.") var note: String = ""
    @Option(help: "Idempotency key: pass the same one to retry safely (default: a new one).") var key: String = ""

    func validate() throws {
        _ = try Parse.outcome(self.outcome)
        _ = try self.reason.map(Parse.reason)
    }

    func run() async throws {
        let key = self.key.isEmpty ? ClaimlineClient.newIdempotencyKey() : self.key
        let request = RetainRequest(
            idempotencyKey: key, callId: self.callId, outcome: try Parse.outcome(self.outcome),
            failureReason: try self.reason.map(Parse.reason) ?? .unspecified, agentId: self.agent, note: self.note
        )
        try await self.global.run(flags: Self.flags, key: key, callID: self.callId, { try await $0.retain(request) }) { answer in
            var out = "contact \(self.callId): \(Show.state(answer.state))"
            if answer.claimRequired {
                out += "; a claim is required; file it with:"
                if let draft = answer.draft { out += "\n  " + Show.fileCommand(draft) }
            }
            return out
        }
    }
}

struct File: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Register a claim, exactly once; prints the number to read aloud.",
        discussion: """
            For an escalated call the server takes the tier, region, account, place, retention \
            reason and incident from the contact: leave them out, or give the same values (different ones are refused).
            """
    )

    static let flags = FlagMap([
        "idempotency_key": "--key", "call_id": "--call-id", "category": "--category", "subscriber": "--msisdn",
        "subscriber.msisdn": "--msisdn", "subscriber.value_tier": "--tier", "subscriber.region": "--region",
        "subscriber.account_id": "--account", "place_id": "--place", "description": "--description",
        "failure_reason": "--reason", "incident_id": "--incident", "agent_id": "--agent",
    ])

    @OptionGroup var global: GlobalOptions
    @Option(help: "The call id.") var callId: String
    @Option(help: "group/category, e.g. contact_centre/improper_service.") var category: String
    @Option(help: "The subscriber's number, E.164.") var msisdn: String
    @Option(help: "Value tier, 1 to 4 (default: the contact's).") var tier: String?
    @Option(help: "Region code (default: the contact's).") var region: String = ""
    @Option(help: "The subscriber's account id (default: the contact's).") var account: String = ""
    @Option(help: "Shop id, contact-centre site or dealer id (required for shop, contact_centre, dealer; default: the contact's).")
    var place: String = ""
    @Option(help: "What happened, 1 to 4000 characters.") var description: String
    @Option(help: "The retention failure reason (default: the one the second line recorded).") var reason: String?
    @Option(help: "The mass incident (default: the contact's).") var incident: String = ""
    @Option(help: "The agent filing it.") var agent: String = ""
    @Option(help: "Idempotency key: pass the same one to retry safely (default: a new one).") var key: String = ""

    func validate() throws {
        _ = try Parse.category(self.category)
        _ = try self.tier.map(Parse.tier)
        _ = try self.reason.map(Parse.reason)
    }

    func run() async throws {
        let key = self.key.isEmpty ? ClaimlineClient.newIdempotencyKey() : self.key
        let request = FileComplaintRequest(
            idempotencyKey: key, callId: self.callId, category: try Parse.category(self.category),
            subscriber: Subscriber(
                msisdn: self.msisdn, accountId: self.account, valueTier: try self.tier.map(Parse.tier) ?? .unspecified, region: self.region
            ),
            placeId: self.place, description: self.description, failureReason: try self.reason.map(Parse.reason) ?? .unspecified,
            incidentId: self.incident, agentId: self.agent
        )
        try await self.global.run(flags: Self.flags, key: key, callID: self.callId, { try await $0.fileComplaint(request) }) { answer in
            "claim \(answer.claimNumber) filed; department: \(Show.or(answer.department)); due: \(Show.utc(answer.dueAtMs))"
        }
    }
}

struct ContactCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contact", abstract: "Contacts (calls): where one stands.", subcommands: [Get.self]
    )

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Where a contact stands, what was decided, and the claim draft when a claim is required."
        )
        static let flags = FlagMap(["call_id": "<call-id>"])

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The call id, e.g. a UCID.") var callId: String

        func run() async throws {
            try await self.global.run(flags: Self.flags, { try await $0.getContact(GetContactRequest(callId: self.callId)) }) {
                Show.contact($0)
            }
        }
    }
}
