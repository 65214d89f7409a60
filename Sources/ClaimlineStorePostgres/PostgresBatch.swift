import ClaimlineCore
import ClaimlineStore

/// One open batch of the PostgreSQL writer: what it fetched up front and what it wrote, kept in
/// the process until COMMIT so the whole batch's rows go to the database in one statement.
///
/// The hot tables (contact sessions, idempotency records, claims, audit) are buffered here and
/// read through it (a batch reads its own writes); rarely written ones (incidents, the mode, a
/// claim's status) are written at once inside the transaction.
struct PostgresBatch {
    /// Known rows by call id: fetched (nil = known absent) or written by this batch.
    var sessions: [String: ContactSession?] = [:]
    /// Known idempotency records by (scoped) key, fetched or written.
    var idempotency: [String: IdempotencyRecord?] = [:]
    /// Claims inserted by this batch, by number.
    var claims: [String: Claim] = [:]

    /// Call ids written, in first-write order (each once: the last version is what goes out).
    var writtenSessions: [String] = []
    var newIdempotency: [IdempotencyRecord] = []
    var newClaims: [String] = []
    var audit: [AuditRecord] = []
    /// A change other instances must hear about (incidents, the mode): NOTIFY with the commit.
    var notify = false

    var isEmpty: Bool {
        self.writtenSessions.isEmpty && self.newIdempotency.isEmpty && self.newClaims.isEmpty && self.audit.isEmpty
    }

    private var written: Set<String> = []

    mutating func writeSession(_ session: ContactSession) {
        if self.written.insert(session.callID).inserted { self.writtenSessions.append(session.callID) }
        self.sessions[session.callID] = .some(session)
    }
}

/// A stable 64-bit hash (FNV-1a) for advisory lock keys: every instance must map a key to the
/// same lock, which Swift's per-process seeded `Hasher` would not. Two keys sharing a hash only
/// serialize each other, never break anything.
enum LockKey {
    static func of(_ text: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }

    /// The keys of `footprint` (as ``keys(_:)``) and, for each, what it stands for, so that the
    /// keys another instance holds can be told back as the writes' own names.
    struct Named {
        var keys: [Int64]
        var idempotencyKeys: [Int64: [String]] = [:]
        var callIDs: [Int64: [String]] = [:]
        var locks: [Int64: [String]] = [:]

        /// What `held` (a subset of ``keys``) stands for.
        func busy(_ held: [Int64]) -> BusyKeys {
            var busy = BusyKeys()
            for key in held {
                busy.idempotencyKeys.formUnion(self.idempotencyKeys[key] ?? [])
                busy.callIDs.formUnion(self.callIDs[key] ?? [])
                busy.locks.formUnion(self.locks[key] ?? [])
            }
            return busy
        }
    }

    static func named(_ footprint: BatchFootprint) -> Named {
        var named = Named(keys: self.keys(footprint))
        for key in footprint.idempotencyKeys { named.idempotencyKeys[self.idempotency(key), default: []].append(key) }
        for callID in footprint.callIDs { named.callIDs[self.contact(callID), default: []].append(callID) }
        for lock in footprint.locks { named.locks[self.lock(lock), default: []].append(lock) }
        return named
    }

    static func idempotency(_ key: String) -> Int64 { self.of("k\u{1F}" + key) }
    static func contact(_ callID: String) -> Int64 { self.of("c\u{1F}" + callID) }
    static func lock(_ name: String) -> Int64 { self.of("l\u{1F}" + name) }

    /// Every key of `footprint`, hashed, sorted and without repeats: taking them in this order
    /// is what keeps two instances' batches from deadlocking on each other.
    static func keys(_ footprint: BatchFootprint) -> [Int64] {
        var keys: [Int64] = []
        keys.reserveCapacity(footprint.idempotencyKeys.count + footprint.callIDs.count + footprint.locks.count)
        for key in footprint.idempotencyKeys { keys.append(self.idempotency(key)) }
        for callID in footprint.callIDs { keys.append(self.contact(callID)) }
        for lock in footprint.locks { keys.append(self.lock(lock)) }
        keys.sort()
        var unique: [Int64] = []
        unique.reserveCapacity(keys.count)
        for key in keys where unique.last != key { unique.append(key) }
        return unique
    }
}
