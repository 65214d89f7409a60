import ClaimlineCore
import ClaimlinePolicy
import Testing

/// A document the parser must refuse, where, and with which words.
struct RefusedPolicy: Sendable, CustomTestStringConvertible {
    var name: String
    var json: String
    var path: String
    var message: String

    var testDescription: String { name }
}

private func rule(_ when: String, decision: String = "FILE_CLAIM", name: String = "r") -> String {
    #"{"rule": "\#(name)", "when": \#(when), "decision": "\#(decision)"}"#
}

private func routing(default entry: String = #"{"department": "D", "due_hours": 1}"#, extra: String = "") -> String {
    #"{"default": \#(entry)\#(extra)}"#
}

private let refused: [RefusedPolicy] = [
    // The document itself.
    .init(name: "malformed JSON", json: #"{"name": "x","#, path: "", message: "malformed JSON at line 1, column 14: unexpected end of input"),
    .init(name: "trailing comma", json: #"{"name": "x", }"#, path: "", message: "expected a member name"),
    .init(name: "duplicate key", json: "{\"name\": \"a\",\n \"name\": \"b\"}", path: "", message: "line 2, column 2: duplicate key 'name'"),
    .init(name: "text after document", json: document() + " {}", path: "", message: "unexpected text after the document"),
    .init(
        name: "leading zero", json: document(routing: routing(default: #"{"department": "D", "due_hours": 01}"#)), path: "", message: "malformed JSON"
    ),
    .init(name: "raw control character", json: "{\"name\": \"a\tb\"}", path: "", message: "control character"),
    .init(name: "lone surrogate", json: #"{"name": "\ud800x"}"#, path: "", message: "unpaired surrogate"),
    .init(name: "nesting too deep", json: #"{"name": "#, path: "", message: "nested deeper than 64"),
    .init(name: "not an object", json: "[]", path: "", message: "expected an object, found an array"),
    .init(
        name: "unknown top-level key",
        json: #"{"name": "a", "version": "1", "escalate": [\#(catchAllRule)], "routing": \#(minimalRouting), "comment": "x"}"#, path: "comment",
        message: "unknown key 'comment'"),
    .init(
        name: "missing name", json: #"{"version": "1", "escalate": [\#(catchAllRule)], "routing": \#(minimalRouting)}"#, path: "name",
        message: "missing required key 'name'"),
    .init(
        name: "missing version", json: #"{"name": "a", "escalate": [\#(catchAllRule)], "routing": \#(minimalRouting)}"#, path: "version",
        message: "missing required key 'version'"),
    .init(
        name: "empty name", json: #"{"name": "", "version": "1", "escalate": [\#(catchAllRule)], "routing": \#(minimalRouting)}"#, path: "name",
        message: "must not be empty"),
    .init(
        name: "missing routing", json: #"{"name": "a", "version": "1", "escalate": [\#(catchAllRule)]}"#, path: "routing",
        message: "missing required key 'routing'"),
    // Rules.
    .init(
        name: "empty escalate", json: #"{"name": "a", "version": "1", "escalate": [], "routing": \#(minimalRouting)}"#, path: "escalate",
        message: "at least one rule"),
    .init(
        name: "unknown decision", json: document(rules: rule("{}", decision: "ESCALATE_DECISION_FILE_CLAIM")), path: "escalate[0].decision",
        message: "unknown decision 'ESCALATE_DECISION_FILE_CLAIM'"),
    .init(
        name: "unknown group", json: document(rules: rule(#"{"groups": ["billing", "shopp"]}"#)), path: "escalate[0].when.groups[1]",
        message: "unknown group 'shopp'"),
    .init(
        name: "unknown category", json: document(rules: rule(#"{"categories": ["billing/rudeness"]}"#)), path: "escalate[0].when.categories[0]",
        message: "unknown category 'rudeness'"),
    .init(
        name: "category outside its group", json: document(rules: rule(#"{"categories": ["billing/improper_service"]}"#)),
        path: "escalate[0].when.categories[0]", message: "category 'improper_service' is not in group 'billing'"),
    .init(
        name: "unknown group in category key", json: document(rules: rule(#"{"categories": ["bill/migration"]}"#)),
        path: "escalate[0].when.categories[0]", message: "unknown group 'bill'"),
    .init(
        name: "unknown mode", json: document(rules: rule(#"{"second_line_modes": ["normal"]}"#)), path: "escalate[0].when.second_line_modes[0]",
        message: "unknown second-line mode 'normal'"),
    .init(
        name: "value tier 0", json: document(rules: rule(#"{"value_tiers": [0]}"#)), path: "escalate[0].when.value_tiers[0]",
        message: "value tier 0 is outside 1...4"),
    .init(
        name: "value tier 5", json: document(rules: rule(#"{"value_tiers": [3, 5]}"#)), path: "escalate[0].when.value_tiers[1]",
        message: "value tier 5 is outside 1...4"),
    .init(
        name: "fractional value tier", json: document(rules: rule(#"{"value_tiers": [3.5]}"#)), path: "escalate[0].when.value_tiers[0]",
        message: "expected a whole number, found 3.5"),
    .init(
        name: "value tier as text", json: document(rules: rule(#"{"value_tiers": ["3"]}"#)), path: "escalate[0].when.value_tiers[0]",
        message: "expected a whole number, found a string"),
    .init(
        name: "empty condition list", json: document(rules: rule(#"{"groups": []}"#)), path: "escalate[0].when.groups", message: "must not be empty"),
    .init(
        name: "empty region", json: document(rules: rule(#"{"regions": [""]}"#)), path: "escalate[0].when.regions[0]", message: "must not be empty"),
    .init(
        name: "incident not a boolean", json: document(rules: rule(#"{"incident": "yes"}"#)), path: "escalate[0].when.incident",
        message: "expected a boolean, found a string"),
    .init(
        name: "unknown key in when", json: document(rules: rule(#"{"value_tier": [3]}"#)), path: "escalate[0].when.value_tier",
        message: "unknown key 'value_tier'"),
    .init(
        name: "unknown key in rule", json: document(rules: #"{"rule": "r", "when": {}, "whne": {}, "decision": "FILE_CLAIM"}"#),
        path: "escalate[0].whne", message: "unknown key 'whne'"),
    .init(
        name: "rule without when", json: document(rules: #"{"rule": "r", "decision": "FILE_CLAIM"}"#), path: "escalate[0].when",
        message: "missing required key 'when'"),
    .init(
        name: "duplicate rule names", json: document(rules: rule(#"{"groups": ["shop"]}"#, name: "fallback")), path: "escalate[1].rule",
        message: "duplicate rule name 'fallback' (also escalate[0])"),
    .init(
        name: "last rule not a catch-all",
        json: #"{"name": "a", "version": "1", "escalate": [\#(rule(#"{"groups": ["shop"]}"#))], "routing": \#(minimalRouting)}"#,
        path: "escalate[0].when", message: "the last rule must be a catch-all"),
    .init(
        name: "catch-all before the end", json: document(rules: rule("{}", name: "early")), path: "escalate[1]", message: "unreachable: rule 'early'"),
    .init(
        name: "playbook without incident", json: document(rules: rule(#"{"groups": ["billing"]}"#, decision: "FOLLOW_INCIDENT_PLAYBOOK")),
        path: "escalate[0].when", message: "must require \"incident\": true"),
    .init(
        name: "playbook with incident false", json: document(rules: rule(#"{"incident": false}"#, decision: "FOLLOW_INCIDENT_PLAYBOOK")),
        path: "escalate[0].when", message: "must require \"incident\": true"),
    .init(
        name: "playbook as catch-all",
        json: #"{"name": "a", "version": "1", "escalate": [\#(rule("{}", decision: "FOLLOW_INCIDENT_PLAYBOOK"))], "routing": \#(minimalRouting)}"#,
        path: "escalate[0].when", message: "must require \"incident\": true"),
    // Routing.
    .init(
        name: "missing routing default", json: document(routing: #"{"groups": {}}"#), path: "routing.default",
        message: "missing required key 'default'"),
    .init(
        name: "unknown routing key", json: document(routing: routing(extra: #", "group": {}"#)), path: "routing.group", message: "unknown key 'group'"
    ),
    .init(
        name: "unknown routing group", json: document(routing: routing(extra: #", "groups": {"shopp": {"department": "D", "due_hours": 1}}"#)),
        path: "routing.groups.shopp", message: "unknown group 'shopp'"),
    .init(
        name: "routing category outside its group",
        json: document(routing: routing(extra: #", "categories": {"billing/improper_service": {"department": "D", "due_hours": 1}}"#)),
        path: "routing.categories.billing/improper_service", message: "is not in group 'billing'"),
    .init(
        name: "bare group in routing categories",
        json: document(routing: routing(extra: #", "categories": {"billing": {"department": "D", "due_hours": 1}}"#)),
        path: "routing.categories.billing", message: "expected 'group/category'"),
    .init(
        name: "zero due hours", json: document(routing: routing(default: #"{"department": "D", "due_hours": 0}"#)), path: "routing.default.due_hours",
        message: "due time must be positive, found 0"),
    .init(
        name: "negative due hours", json: document(routing: routing(default: #"{"department": "D", "due_hours": -24}"#)),
        path: "routing.default.due_hours", message: "due time must be positive, found -24"),
    .init(
        name: "zero due minutes", json: document(routing: routing(extra: #", "groups": {"billing": {"department": "D", "due_minutes": 0}}"#)),
        path: "routing.groups.billing.due_minutes", message: "must be positive"),
    .init(
        name: "overflowing due hours", json: document(routing: routing(default: #"{"department": "D", "due_hours": 9223372036854775807}"#)),
        path: "routing.default.due_hours", message: "too large"),
    .init(
        name: "both due units", json: document(routing: routing(default: #"{"department": "D", "due_hours": 1, "due_minutes": 60}"#)),
        path: "routing.default", message: "only one of due_hours and due_minutes"),
    .init(
        name: "no due time", json: document(routing: routing(default: #"{"department": "D"}"#)), path: "routing.default", message: "missing due time"),
    .init(
        name: "unknown key in routing entry", json: document(routing: routing(default: #"{"department": "D", "due_days": 7}"#)),
        path: "routing.default.due_days", message: "unknown key 'due_days'"),
    .init(
        name: "empty department", json: document(routing: routing(default: #"{"department": "", "due_hours": 1}"#)),
        path: "routing.default.department", message: "must not be empty"),
]

@Suite("Policy files that must be refused")
struct ParseErrorTests {
    @Test(arguments: refused)
    func refuses(_ bad: RefusedPolicy) {
        var json = bad.json
        if bad.name == "nesting too deep" { json += String(repeating: "[", count: 70) + String(repeating: "]", count: 70) + "}" }
        guard let error = parseError(json) else {
            Issue.record("accepted: \(bad.json)")
            return
        }
        #expect(error.path == bad.path, "\(error)")
        #expect(error.message.contains(bad.message), "\(error)")
        #expect(error.description == (bad.path.isEmpty ? error.message : "\(bad.path): \(error.message)"))
    }

    @Test func refusesInvalidUTF8() {
        var bytes = Array(document().utf8)
        let at = bytes.firstIndex(of: UInt8(ascii: "t"))!  // inside "test", the policy name
        bytes[at] = 0xFF
        #expect(throws: PolicyError.self) { try Policy.parse(bytes) }
        do {
            _ = try Policy.parse(bytes)
        } catch {
            #expect(error.message.contains("not valid UTF-8"), "\(error)")
        }
    }

    @Test func theBaseDocumentOfTheseCasesIsValid() throws {
        // Guards the table above: each case differs from an accepted document only by its mistake.
        _ = try parse(document())
        _ = try parse(document(rules: rule(#"{"groups": ["billing"], "value_tiers": [3, 4], "regions": ["77"]}"#)))
        _ = try parse(document(routing: routing(extra: #", "groups": {"billing": {"department": "D", "due_minutes": 5}}"#)))
    }
}
