import ClaimlineCore
import Foundation

/// The compact text forms of answers: each figure once, names without their proto prefixes
/// (`TRANSFER_TO_SECOND_LINE`, `ACKNOWLEDGED`), categories as the flags take them
/// (`billing/balance_desync`). `--json` prints the whole answer instead.
enum Show {
    static func name<E: ProtoEnum>(_ value: E, _ prefix: String) -> String {
        guard value.rawValue != 0 else { return "-" }
        let name = value.protoName
        return name.hasPrefix(prefix) ? String(name.dropFirst(prefix.count)) : name
    }

    static func state(_ state: ContactState) -> String { name(state, "CONTACT_STATE_") }
    static func decision(_ decision: EscalateDecision) -> String { name(decision, "ESCALATE_DECISION_") }
    static func status(_ status: ClaimStatus) -> String { name(status, "CLAIM_STATUS_") }
    static func reason(_ reason: RetentionFailureReason) -> String { name(reason, "RETENTION_FAILURE_REASON_") }
    static func mode(_ mode: SecondLineMode) -> String { name(mode, "SECOND_LINE_MODE_") }

    static func category(_ ref: CategoryRef?) -> String {
        guard let ref, ref.group != .unspecified else { return "-" }
        return ref.category == .unspecified ? Taxonomy.groupKey(ref.group) : Taxonomy.key(ref)
    }

    /// `+79161234567, tier 2, region 77, account ACC-1`: what is known.
    static func subscriber(_ subscriber: Subscriber?) -> String {
        guard let subscriber else { return "-" }
        var parts = [subscriber.msisdn.isEmpty ? "-" : subscriber.msisdn]
        if subscriber.valueTier.rawValue != 0 { parts.append("tier \(subscriber.valueTier.rawValue)") }
        if !subscriber.region.isEmpty { parts.append("region \(subscriber.region)") }
        if !subscriber.accountId.isEmpty { parts.append("account \(subscriber.accountId)") }
        return parts.joined(separator: ", ")
    }

    static func or(_ text: String) -> String { text.isEmpty ? "-" : text }

    static func utc(_ ms: Int64) -> String {
        guard ms != 0 else { return "-" }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }

    /// `5 s`, `0.5 s`.
    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int64(value)) s" : "\(value) s"
    }

    /// Labelled lines, values aligned: `  label:  value`. Continuation lines of a multi-line
    /// value are indented under it.
    static func fields(_ rows: [(String, String)]) -> String {
        let width = rows.map { $0.0.count }.max() ?? 0
        return rows.map { label, value in
            let pad = String(repeating: " ", count: width - label.count)
            let indent = "\n" + String(repeating: " ", count: width + 5)
            return "  \(label):\(pad)  " + value.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: indent)
        }.joined(separator: "\n")
    }

    /// A value as one shell word.
    static func shellWord(_ value: String) -> String {
        let plain = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-./:@%=,")
        if !value.isEmpty && value.unicodeScalars.allSatisfy(plain.contains) { return value }
        return "'" + value.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// The command that files a draft: what the server cannot take from the contact (the call,
    /// the category, which may be refined within its group, the MSISDN) and the description
    /// still to write. Tier, region, account, place, retention reason and incident come from
    /// the contact.
    static func fileCommand(_ draft: FileComplaintRequest) -> String {
        var words = ["claimline", "file", "--call-id", shellWord(draft.callId)]
        if let category = draft.category { words += ["--category", shellWord(Self.category(category))] }
        if let msisdn = draft.subscriber?.msisdn, !msisdn.isEmpty { words += ["--msisdn", shellWord(msisdn)] }
        words += ["--description", draft.description.isEmpty ? "'<what happened>'" : shellWord(draft.description)]
        return words.joined(separator: " ")
    }

    // MARK: - Messages

    static func claim(_ claim: Claim?) -> String {
        guard let claim else { return "" }
        var rows: [(String, String)] = [
            ("category", category(claim.category)),
            ("subscriber", subscriber(claim.subscriber)),
            ("call", or(claim.callId)),
            ("department", or(claim.department)),
            ("created", utc(claim.createdAtMs)),
            ("due", utc(claim.dueAtMs)),
        ]
        if claim.updatedAtMs != claim.createdAtMs { rows.append(("updated", utc(claim.updatedAtMs))) }
        if !claim.placeId.isEmpty { rows.append(("place", claim.placeId)) }
        if claim.failureReason != .unspecified { rows.append(("retention failed", reason(claim.failureReason))) }
        if !claim.incidentId.isEmpty { rows.append(("incident", claim.incidentId)) }
        if !claim.agentId.isEmpty { rows.append(("agent", claim.agentId)) }
        rows.append(("description", claim.description))
        return "claim \(claim.claimNumber): \(status(claim.status))\n" + fields(rows)
    }

    /// One line per claim.
    static func claimLine(_ claim: Claim) -> String {
        [
            claim.claimNumber, status(claim.status), category(claim.category), or(claim.subscriber?.msisdn ?? ""),
            "due " + utc(claim.dueAtMs), or(claim.department),
        ].joined(separator: "  ")
    }

    static func contact(_ answer: GetContactResponse) -> String {
        guard let contact = answer.contact else { return "" }
        var rows: [(String, String)] = [
            ("subscriber", subscriber(contact.subscriber)),
            ("category", category(contact.category)),
            ("decision", contact.decision == .unspecified ? "- (no escalate)" : "\(decision(contact.decision)) (rule \(or(contact.rule)))"),
            ("incident", or(contact.incidentId)),
            ("failure reason", reason(contact.failureReason)),
            ("claim", or(contact.claimNumber)),
        ]
        if !contact.placeId.isEmpty { rows.append(("place", contact.placeId)) }
        if !contact.firstLineAgentId.isEmpty { rows.append(("first line", contact.firstLineAgentId)) }
        if !contact.secondLineAgentId.isEmpty { rows.append(("second line", contact.secondLineAgentId)) }
        rows.append(("updated", utc(contact.updatedAtMs)))
        rows.append(("forgotten after", utc(contact.expiresAtMs)))
        var out = "contact \(contact.callId): \(state(contact.state))\n" + fields(rows)
        if let draft = answer.draft {
            out += "\n" + (contact.state == .claimRequired ? "a claim is required; file it with:" : "if a claim is needed, file it with:")
            out += "\n  " + fileCommand(draft)
        }
        return out
    }

    static func incident(_ incident: Incident) -> String {
        var parts = [incident.incidentId, incident.active ? "active" : "withdrawn " + utc(incident.withdrawnAtMs), incident.title]
        if !incident.regions.isEmpty { parts.append("regions " + incident.regions.joined(separator: ",")) }
        if !incident.categories.isEmpty { parts.append("categories " + incident.categories.map { category($0) }.joined(separator: ",")) }
        parts.append("declared " + utc(incident.declaredAtMs) + (incident.declaredBy.isEmpty ? "" : " by \(incident.declaredBy)"))
        return parts.joined(separator: "  ")
    }

    /// The playbook an incident publishes, for the agent to follow.
    static func playbook(_ incident: Incident) -> String {
        var lines = ["incident \(incident.incidentId): \(incident.title)"]
        if !incident.playbookUrl.isEmpty { lines.append("  playbook: \(incident.playbookUrl)") }
        if !incident.playbookText.isEmpty {
            lines.append("  " + incident.playbookText.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n  "))
        }
        return lines.joined(separator: "\n")
    }

    static func secondLine(_ answer: SecondLineModeResponse) -> String {
        var out = "second line: \(mode(answer.mode))"
        var since: [String] = []
        if answer.changedAtMs != 0 { since.append("since " + utc(answer.changedAtMs)) }
        if !answer.changedBy.isEmpty { since.append("by " + answer.changedBy) }
        if !since.isEmpty { out += " (" + since.joined(separator: ", ") + ")" }
        if !answer.reason.isEmpty { out += ": " + answer.reason }
        return out
    }

    /// Claims by category, escalations by decision and rule, retention outcomes; each count once.
    static func stats(_ stats: GetStatsResponse) -> String {
        var lines = ["claims: \(stats.claimsTotal)"]
        for count in stats.claimsByCategory {
            lines.append("  \(category(count.category)): \(count.claims)")
        }
        lines.append("escalations: \(stats.escalations)")
        for count in stats.escalationsByDecision {
            lines.append("  \(decision(count.decision)) (rule \(or(count.rule))): \(count.escalations)")
        }
        let impossible = stats.impossibleByReason.reduce(0) { $0 + $1.count }
        let attempts = stats.retained + stats.declined + impossible
        var retention = "retention: \(stats.retained) retained, \(stats.declined) declined, \(impossible) impossible"
        if !stats.impossibleByReason.isEmpty {
            retention += " (" + stats.impossibleByReason.map { "\(reason($0.reason)) \($0.count)" }.joined(separator: ", ") + ")"
        }
        if attempts > 0 {
            retention += "; \(Int((Double(stats.retained) / Double(attempts) * 100).rounded())) % retained"
        }
        lines.append(retention)
        return lines.joined(separator: "\n")
    }
}
