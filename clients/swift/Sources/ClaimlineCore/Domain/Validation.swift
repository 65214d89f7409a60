/// Field checks of requests: stateless, so they run before anything touches the store, and
/// every violation is reported at once with its field path (INVALID_ARGUMENT).
public enum Validation {
    /// Characters of a description or note: Unicode scalar values, as the protocol counts them.
    public static let maxDescription = 4000
    /// Bytes of a description or note: 4,000 scalars of Cyrillic are 8,000 bytes, of CJK 12,000;
    /// a cap in bytes keeps a row's size bounded whatever the scalars are.
    public static let maxDescriptionBytes = 16000
    public static let maxIdentifier = 128

    /// Whether a scalar shows as something on a screen or in a log: not a control, format,
    /// separator (other than the space), private-use, surrogate or unassigned scalar.
    /// Identifiers must consist of these only.
    @inlinable
    public static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value < 0x7F { return scalar.value >= 0x20 }
        if scalar.value < 0xA0 { return false }  // DEL and the C1 controls
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return false
        default:
            return true
        }
    }

    /// An identifier's characters: printable, no control or invisible scalar (a newline in a
    /// call id would forge log lines and break the CTI systems that display it).
    @inlinable
    public static func isPrintableIdentifier(_ value: String) -> Bool {
        // Fast path: ASCII, the common case.
        var ascii = true
        for byte in value.utf8 {
            if byte >= 0x80 { ascii = false; break }
            if byte < 0x20 || byte == 0x7F { return false }
        }
        return ascii || value.unicodeScalars.allSatisfy(isPrintable)
    }

    /// E.164: a plus, then 8 to 15 digits, the first not 0.
    public static func isE164(_ msisdn: String) -> Bool {
        let bytes = Array(msisdn.utf8)
        guard bytes.count >= 9, bytes.count <= 16, bytes[0] == UInt8(ascii: "+"), bytes[1] != UInt8(ascii: "0") else {
            return false
        }
        return bytes.dropFirst().allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// The MSISDN as logs may show it: country code and the last two digits only.
    public static func redactedMSISDN(_ msisdn: String) -> String {
        let bytes = msisdn.utf8
        guard bytes.count > 6 else { return String(repeating: "*", count: msisdn.count) }
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        for (index, byte) in bytes.enumerated() {
            out.append(index < 2 || index >= bytes.count - 2 ? byte : UInt8(ascii: "*"))
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func escalate(_ request: EscalateRequest) -> [FieldViolation] {
        var out = Violations()
        out.write(idempotencyKey: request.idempotencyKey)
        out.identifier(request.callId, "call_id", required: true)
        out.subscriber(request.subscriber, "subscriber")
        out.category(request.category, "category")
        out.identifier(request.agentId, "agent_id", required: false)
        out.identifier(request.placeId, "place_id", required: false)
        return out.list
    }

    public static func retain(_ request: RetainRequest) -> [FieldViolation] {
        var out = Violations()
        out.write(idempotencyKey: request.idempotencyKey)
        out.identifier(request.callId, "call_id", required: true)
        switch request.outcome {
        case .retained, .declined:
            if request.failureReason != .unspecified {
                out.add("failure_reason", "only for the outcome IMPOSSIBLE")
            }
        case .impossible:
            if case .unrecognized = request.failureReason {
                out.add("failure_reason", "unknown value \(request.failureReason.rawValue)")
            } else if request.failureReason == .unspecified {
                out.add("failure_reason", "required when the outcome is IMPOSSIBLE")
            }
        case .unspecified: out.add("outcome", "required: RETAINED, DECLINED or IMPOSSIBLE")
        case .unrecognized(let value): out.add("outcome", "unknown value \(value)")
        }
        out.identifier(request.agentId, "agent_id", required: false)
        out.text(request.note, "note", max: maxDescription, required: false)
        return out.list
    }

    public static func fileComplaint(_ request: FileComplaintRequest) -> [FieldViolation] {
        var out = Violations()
        out.write(idempotencyKey: request.idempotencyKey)
        out.identifier(request.callId, "call_id", required: true)
        out.category(request.category, "category")
        out.subscriber(request.subscriber, "subscriber")
        if let group = request.category?.group, Taxonomy.requiresPlace(group) {
            out.identifier(request.placeId, "place_id", required: true, why: "a \(Taxonomy.groupKey(group)) claim names the place")
        } else {
            out.identifier(request.placeId, "place_id", required: false)
        }
        out.text(request.description, "description", max: maxDescription, required: true)
        out.enumValue(request.failureReason, "failure_reason")
        out.identifier(request.incidentId, "incident_id", required: false)
        out.identifier(request.agentId, "agent_id", required: false)
        return out.list
    }

    public static func updateClaimStatus(_ request: UpdateClaimStatusRequest) -> [FieldViolation] {
        var out = Violations()
        out.write(idempotencyKey: request.idempotencyKey)
        out.identifier(request.claimNumber, "claim_number", required: true)
        out.enumValue(request.status, "status", required: "required")
        out.text(request.note, "note", max: maxDescription, required: false)
        return out.list
    }

    public static func declareIncident(_ request: DeclareIncidentRequest) -> [FieldViolation] {
        var out = Violations()
        out.write(idempotencyKey: request.idempotencyKey)
        out.text(request.title, "title", max: 200, required: true)
        if request.regions.isEmpty && request.categories.isEmpty {
            out.add("regions", "an incident matches by region, category or both: give at least one")
        }
        for (index, region) in request.regions.enumerated() {
            out.identifier(region, "regions[\(index)]", required: true)
        }
        for (index, ref) in request.categories.enumerated() {
            let field = "categories[\(index)]"
            switch ref.group {
            case .unspecified: out.add(field + ".group", "required")
            case .unrecognized(let value): out.add(field + ".group", "unknown value \(value)")
            default:
                if ref.category != .unspecified && !Taxonomy.isValid(ref) {
                    out.add(field + ".category", "\(ref.category.protoName) is not a \(Taxonomy.groupKey(ref.group)) category")
                }
            }
        }
        if request.playbookUrl.isEmpty && request.playbookText.isEmpty {
            out.add("playbook_text", "an incident publishes its playbook: give a URL, a text or both")
        }
        out.text(request.playbookText, "playbook_text", max: 20000, required: false)
        out.text(request.playbookUrl, "playbook_url", max: 2000, required: false)
        return out.list
    }

    public static func withdrawIncident(_ request: WithdrawIncidentRequest) -> [FieldViolation] {
        var out = Violations()
        out.write(idempotencyKey: request.idempotencyKey)
        out.identifier(request.incidentId, "incident_id", required: true)
        out.text(request.note, "note", max: maxDescription, required: false)
        return out.list
    }

    public static func setSecondLineMode(_ request: SetSecondLineModeRequest) -> [FieldViolation] {
        var out = Violations()
        out.write(idempotencyKey: request.idempotencyKey)
        out.enumValue(request.mode, "mode", required: "required: NORMAL, DEGRADED or CLOSED")
        out.text(request.reason, "reason", max: maxDescription, required: false)
        return out.list
    }

    public static func reloadPolicy(_ request: ReloadPolicyRequest) -> [FieldViolation] {
        var out = Violations()
        out.write(idempotencyKey: request.idempotencyKey)
        return out.list
    }

    public static func listClaims(_ request: ListClaimsRequest) -> [FieldViolation] {
        var out = Violations()
        if !request.msisdn.isEmpty && !isE164(request.msisdn) { out.add("msisdn", "not an E.164 number") }
        out.enumValue(request.status, "status")
        if request.createdToMs != 0 && request.createdToMs <= request.createdFromMs {
            out.add("created_to_ms", "must be after created_from_ms")
        }
        if request.pageSize > 1000 { out.add("page_size", "at most 1000") }
        if let ref = request.category {
            switch ref.group {
            case .unspecified:
                if ref.category != .unspecified { out.add("category.group", "required with a category") }
            case .unrecognized(let value): out.add("category.group", "unknown value \(value)")
            default:
                if case .unrecognized(let value) = ref.category {
                    out.add("category.category", "unknown value \(value)")
                } else if ref.category != .unspecified && !Taxonomy.isValid(ref) {
                    out.add("category.category", "\(Taxonomy.categoryKey(ref.category)) is not a \(Taxonomy.groupKey(ref.group)) category")
                }
            }
        }
        out.text(request.department, "department", max: 200, required: false)
        return out.list
    }

    public static func getContact(_ request: GetContactRequest) -> [FieldViolation] {
        var out = Violations()
        out.identifier(request.callId, "call_id", required: true)
        return out.list
    }
}

/// Collects violations in request order.
struct Violations {
    var list: [FieldViolation] = []

    mutating func add(_ field: String, _ description: String) {
        self.list.append(FieldViolation(field: field, description: description))
    }

    /// An enum field: a number this build does not know is refused; 0 (unspecified) is refused
    /// with `required` when the field is required.
    mutating func enumValue<E: ProtoEnum & CaseIterable & Equatable>(_ value: E, _ field: String, required: String? = nil) {
        if value.rawValue == 0 {
            if let required { self.add(field, required) }
        } else if !E.allCases.contains(value) {
            self.add(field, "unknown value \(value.rawValue)")
        }
    }

    mutating func write(idempotencyKey: String) {
        self.identifier(idempotencyKey, "idempotency_key", required: true, why: "every write carries one, the same on each retry")
    }

    mutating func identifier(_ value: String, _ field: String, required: Bool, why: String = "required") {
        if value.isEmpty {
            if required { self.add(field, why) }
        } else if value.utf8.count > Validation.maxIdentifier {
            self.add(field, "at most \(Validation.maxIdentifier) bytes")
        } else if !Validation.isPrintableIdentifier(value) {
            self.add(field, "control or non-printable characters are not allowed")
        }
    }

    mutating func text(_ value: String, _ field: String, max: Int, required: Bool) {
        if value.isEmpty {
            if required { self.add(field, "required") }
            return
        }
        // Characters are Unicode scalar values (Cyrillic is one each, a combining mark one
        // more): a count a client computes the same way in every language, and one that a
        // "character" made of thousands of combining marks cannot slip under. Bytes are capped
        // too, at four per character.
        let bytes = value.utf8.count
        if bytes > max * 4 {
            self.add(field, "at most \(max) characters and \(max * 4) bytes, got \(bytes) bytes")
            return
        }
        let count = value.unicodeScalars.count
        if count > max { self.add(field, "at most \(max) characters, got \(count)") }
        // Line breaks and tabs are text; every other control (C0, DEL, C1) is not.
        if value.unicodeScalars.contains(where: {
            ($0.value < 0x20 && $0 != "\n" && $0 != "\r" && $0 != "\t") || ($0.value >= 0x7F && $0.value < 0xA0)
        }) {
            self.add(field, "control characters are not allowed")
        }
    }

    mutating func subscriber(_ subscriber: Subscriber?, _ field: String) {
        guard let subscriber else {
            self.add(field, "required")
            return
        }
        if subscriber.msisdn.isEmpty {
            self.add(field + ".msisdn", "required")
        } else if !Validation.isE164(subscriber.msisdn) {
            self.add(field + ".msisdn", "not an E.164 number (+ and 8 to 15 digits)")
        }
        self.enumValue(subscriber.valueTier, field + ".value_tier")
        self.identifier(subscriber.accountId, field + ".account_id", required: false)
        self.identifier(subscriber.region, field + ".region", required: false)
    }

    mutating func category(_ ref: CategoryRef?, _ field: String) {
        guard let ref else {
            self.add(field, "required")
            return
        }
        switch ref.group {
        case .unspecified:
            self.add(field + ".group", "required")
            return
        case .unrecognized(let value):
            self.add(field + ".group", "unknown value \(value)")
            return
        default: break
        }
        switch ref.category {
        case .unspecified: self.add(field + ".category", "required")
        case .unrecognized(let value): self.add(field + ".category", "unknown value \(value)")
        default:
            if !Taxonomy.isValid(ref) {
                self.add(field + ".category", "\(Taxonomy.categoryKey(ref.category)) is not a \(Taxonomy.groupKey(ref.group)) category")
            }
        }
    }
}
