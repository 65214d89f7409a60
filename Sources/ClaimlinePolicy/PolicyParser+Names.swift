import ClaimlineCore

/// The file spells enums as their .proto names without the prefix (`FILE_CLAIM`, `NORMAL`),
/// derived from the generated `protoName` so the two can never drift apart.
extension PolicyParser {
    static let decisionNames: [String] = EscalateDecision.allCases.filter { $0 != .unspecified }.map(name)
    static let modeNames: [String] = SecondLineMode.allCases.filter { $0 != .unspecified }.map(name)

    static func name(_ decision: EscalateDecision) -> String {
        String(decision.protoName.dropFirst("ESCALATE_DECISION_".count))
    }

    static func name(_ mode: SecondLineMode) -> String {
        String(mode.protoName.dropFirst("SECOND_LINE_MODE_".count))
    }

    static func decision(named name: String) -> EscalateDecision? {
        EscalateDecision.allCases.first { $0 != .unspecified && self.name($0) == name }
    }

    static func secondLineMode(named name: String) -> SecondLineMode? {
        SecondLineMode.allCases.first { $0 != .unspecified && self.name($0) == name }
    }
}
