import ClaimlineCore

/// What a write answered the first time, kept so a retry with the same key gets the same
/// answer (and never a second claim) for at least 24 hours.
public struct IdempotencyRecord: Hashable, Sendable {
    public var key: String
    /// The method number: the same key on another method is a conflict too.
    public var method: UInt16
    /// Fingerprint of the request message bytes (``RequestFingerprint``).
    public var requestHash: UInt64
    /// The encoded response message, replayed byte for byte.
    public var response: [UInt8]
    public var createdAtMs: Int64

    public init(key: String, method: UInt16, requestHash: UInt64, response: [UInt8], createdAtMs: Int64) {
        self.key = key
        self.method = method
        self.requestHash = requestHash
        self.response = response
        self.createdAtMs = createdAtMs
    }
}

/// One audited write: who, when, what.
public struct AuditRecord: Hashable, Sendable {
    public var atMs: Int64
    public var sessionID: String
    public var clientName: String
    public var role: String
    /// The method name, e.g. `FileComplaint`.
    public var method: String
    public var idempotencyKey: String
    public var callID: String
    public var claimNumber: String
    public var incidentID: String
    /// The policy rule that decided, for Escalate.
    public var rule: String
    /// What happened: the decision, the retention outcome, the new status or mode.
    public var outcome: String
    /// The retention failure reason, when there was one.
    public var reason: String
    /// Anything else worth keeping, as text (no subscriber number in full).
    public var detail: String

    public init(
        atMs: Int64, sessionID: String, clientName: String, role: String, method: String,
        idempotencyKey: String = "", callID: String = "", claimNumber: String = "", incidentID: String = "",
        rule: String = "", outcome: String = "", reason: String = "", detail: String = ""
    ) {
        self.atMs = atMs
        self.sessionID = sessionID
        self.clientName = clientName
        self.role = role
        self.method = method
        self.idempotencyKey = idempotencyKey
        self.callID = callID
        self.claimNumber = claimNumber
        self.incidentID = incidentID
        self.rule = rule
        self.outcome = outcome
        self.reason = reason
        self.detail = detail
    }
}

/// A page of ListClaims, newest first.
public struct ClaimQuery: Hashable, Sendable {
    public var msisdn: String
    public var status: ClaimStatus
    public var createdFromMs: Int64
    /// Exclusive; 0 for no upper bound.
    public var createdToMs: Int64
    public var limit: Int
    /// Resume after this claim (the last one of the previous page), nil for the first page.
    public var after: ClaimCursor?
    /// Unspecified: any group.
    public var group: ClaimGroup
    /// Unspecified: any category (of `group`).
    public var category: Category
    /// Empty: any department.
    public var department: String

    public init(
        msisdn: String = "", status: ClaimStatus = .unspecified, createdFromMs: Int64 = 0, createdToMs: Int64 = 0, limit: Int = 50,
        after: ClaimCursor? = nil, group: ClaimGroup = .unspecified, category: Category = .unspecified, department: String = ""
    ) {
        self.group = group
        self.category = category
        self.department = department
        self.msisdn = msisdn
        self.status = status
        self.createdFromMs = createdFromMs
        self.createdToMs = createdToMs
        self.limit = limit
        self.after = after
    }
}

/// Where a page ended: claims are ordered by (created_at_ms DESC, claim_number DESC).
public struct ClaimCursor: Hashable, Sendable {
    public var createdAtMs: Int64
    public var claimNumber: String

    public init(createdAtMs: Int64, claimNumber: String) {
        self.createdAtMs = createdAtMs
        self.claimNumber = claimNumber
    }
}

public struct ClaimPage: Hashable, Sendable {
    public var claims: [Claim]
    /// Set when more claims may follow.
    public var next: ClaimCursor?

    public init(claims: [Claim], next: ClaimCursor?) {
        self.claims = claims
        self.next = next
    }
}

/// Why the store failed. A store error on the write path fails the batch: what was not
/// committed was not acknowledged. A local store then stops writing until restarted; a
/// database server's store reconnects (``ClaimStoreBackend/recoversFromFailures``).
public struct StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    public var operation: String
    public var message: String
    /// The backend's own code (e.g. SQLite's extended result code), 0 if none.
    public var code: Int32
    /// The store lost its answer to a COMMIT (the connection broke while it was under way): the
    /// batch may or may not be durable, so its callers must be told "outcome unknown".
    public var commitOutcomeUnknown: Bool

    public init(_ operation: String, _ message: String, code: Int32 = 0, commitOutcomeUnknown: Bool = false) {
        self.operation = operation
        self.message = message
        self.code = code
        self.commitOutcomeUnknown = commitOutcomeUnknown
    }

    public var description: String { "\(self.operation): \(self.message)" + (self.code != 0 ? " (\(self.code))" : "") }
}

/// What a store shared by several writers could not lock for a batch within its bound
/// (another instance holds it: busy, or frozen with its transaction open). The writes touching
/// any of it are not applied (UNAVAILABLE `CONTACT_BUSY`, retry); the rest of the batch goes on.
public struct BusyKeys: Hashable, Sendable {
    public var idempotencyKeys: Set<String> = []
    public var callIDs: Set<String> = []
    public var locks: Set<String> = []

    public init(idempotencyKeys: Set<String> = [], callIDs: Set<String> = [], locks: Set<String> = []) {
        self.idempotencyKeys = idempotencyKeys
        self.callIDs = callIDs
        self.locks = locks
    }

    public var isEmpty: Bool { self.idempotencyKeys.isEmpty && self.callIDs.isEmpty && self.locks.isEmpty }

    /// Whether a write with this key, contact and locks touches anything busy.
    public func touches(idempotencyKey: String, callID: String, locks: [String]) -> Bool {
        self.idempotencyKeys.contains(idempotencyKey) || (!callID.isEmpty && self.callIDs.contains(callID))
            || locks.contains { self.locks.contains($0) }
    }
}

/// What one batch of writes will read and change, known before any of it runs (from the
/// requests alone), so a store that several writers share can lock it all at once, in one
/// order (no deadlock between writers), and fetch it in one round trip.
public struct BatchFootprint: Hashable, Sendable {
    /// The (scoped) idempotency keys of the batch's writes.
    public var idempotencyKeys: [String] = []
    /// The contact sessions the writes read or change.
    public var callIDs: [String] = []
    /// Other things a write reads and then changes: `claim:<number>`, `incidents`, `mode`.
    public var locks: [String] = []

    public init(idempotencyKeys: [String] = [], callIDs: [String] = [], locks: [String] = []) {
        self.idempotencyKeys = idempotencyKeys
        self.callIDs = callIDs
        self.locks = locks
    }
}
