import ArgumentParser
import ClaimlineClient
import ClaimlineCore

struct Escalate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The first line could not satisfy the subscriber: what now?")

    @OptionGroup var global: GlobalOptions
    @Option(help: "The call id the CTI already has (e.g. a UCID).") var callId: String
    @Option(help: "The subscriber's number, E.164 (+79161234567).") var msisdn: String
    @Option(help: "Value tier, 1 to 4.") var tier: Int = 2
    @Option(help: "Region code.") var region: String = ""
    @Option(help: "group/category, e.g. billing/balance_desync.") var category: String
    @Option(help: "Shop id, contact-centre site or dealer id.") var place: String = ""
    @Option(help: "The first-line agent.") var agent: String = ""
    @Option(help: "Idempotency key (default: a new one).") var key: String = ""

    func run() async throws {
        let request = EscalateRequest(
            idempotencyKey: self.key, callId: self.callId,
            subscriber: Subscriber(msisdn: self.msisdn, valueTier: try Parse.tier(self.tier), region: self.region),
            category: try Parse.category(self.category), agentId: self.agent, placeId: self.place
        )
        try await self.global.run({ try await $0.escalate(request) }) { answer in
            "decision: \(answer.decision.protoName.dropFirst("ESCALATE_DECISION_".count)) (rule \(answer.rule))"
        }
    }
}

struct Retain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The second line reports its online-retention attempt.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "The call id.") var callId: String
    @Option(help: "retained, declined or impossible.") var outcome: String
    @Option(help: "When impossible: laborious_recalculation, long_review, cause_unknown, exceeds_authority.") var reason: String?
    @Option(help: "The second-line agent.") var agent: String = ""
    @Option(help: "A note.") var note: String = ""
    @Option(help: "Idempotency key (default: a new one).") var key: String = ""

    func run() async throws {
        let request = RetainRequest(
            idempotencyKey: self.key, callId: self.callId,
            outcome: try Parse.enumValue(self.outcome, RetentionOutcome.self, prefix: "RETENTION_OUTCOME_"),
            failureReason: try self.reason.map { try Parse.enumValue($0, RetentionFailureReason.self, prefix: "RETENTION_FAILURE_REASON_") } ?? .unspecified,
            agentId: self.agent, note: self.note
        )
        try await self.global.run({ try await $0.retain(request) }) { answer in
            answer.claimRequired ? "a claim is required: file it with `claimline file` (draft below)" : "contact ended: \(answer.state.protoName)"
        }
    }
}

struct File: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Register a claim, exactly once; prints the number to read aloud.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "The call id.") var callId: String
    @Option(help: "group/category, e.g. contact_centre/improper_service.") var category: String
    @Option(help: "The subscriber's number, E.164.") var msisdn: String
    @Option(help: "Value tier, 1 to 4.") var tier: Int = 2
    @Option(help: "Region code.") var region: String = ""
    @Option(help: "Shop id, contact-centre site or dealer id (required for shop, contact_centre, dealer).") var place: String = ""
    @Option(help: "What happened, 1 to 4000 characters.") var description: String
    @Option(help: "The retention failure reason, if any.") var reason: String?
    @Option(help: "The mass incident, if any.") var incident: String = ""
    @Option(help: "The agent filing it.") var agent: String = ""
    @Option(help: "Idempotency key: pass the same one to retry safely (default: a new one).") var key: String = ""

    func run() async throws {
        let request = FileComplaintRequest(
            idempotencyKey: self.key, callId: self.callId, category: try Parse.category(self.category),
            subscriber: Subscriber(msisdn: self.msisdn, valueTier: try Parse.tier(self.tier), region: self.region),
            placeId: self.place, description: self.description,
            failureReason: try self.reason.map { try Parse.enumValue($0, RetentionFailureReason.self, prefix: "RETENTION_FAILURE_REASON_") } ?? .unspecified,
            incidentId: self.incident, agentId: self.agent
        )
        try await self.global.run({ try await $0.fileComplaint(request) }) { answer in
            "claim \(answer.claimNumber) filed; department: \(answer.department); due: \(Parse.utc(answer.dueAtMs))"
        }
    }
}
