import ClaimlineCore
import ClaimlineStore
import ClaimlineStoreSQLite
import Foundation

/// Fills a fresh SQLite database with claims and contact sessions through the store's own
/// writer (`insertClaim`, `upsertContactSession` in large transactions), so the rows, their
/// encoding and the indexes are exactly what the server writes, without the wire's cost:
/// the "flat as it grows" benchmarks start a server on the result.
public struct Preloader {
    public struct Options: Sendable {
        public var path: String
        public var claims: Int
        public var sessions: Int
        /// Distinct subscribers the claims and sessions are spread over; 0: a quarter of the claims.
        public var subscribers: Int = 0
        public var seed: UInt64 = 14
        /// Rows per transaction.
        public var batchSize: Int = 50_000
        /// Claims are created over this many days before `nowMs`.
        public var claimDays: Int = 180
        /// Sessions are created over this many hours before `nowMs`.
        public var sessionHours: Int = 4
        /// How long after its last update a session expires. The server's own TTL is 4 hours, but
        /// sessions that expire during a benchmark would be purged by the writer (one DELETE of
        /// millions of rows), so by default they outlive it.
        public var sessionTTLMs: Int64 = 30 * 86_400_000
        public var nowMs: Int64 = Int64(Date().timeIntervalSince1970 * 1000)
        /// The store's own settings (``SQLiteStoreBackend``): how the WAL is checkpointed and
        /// synced while loading. They change the speed, never the rows. By default each commit
        /// checkpoints (no background thread): under nonstop writes the background checkpointer
        /// never lets the WAL start over, and 10M claims left an 11 GB WAL behind them.
        public var checkpointIntervalMs = 0
        public var walAutocheckpointPages: Int32 = 1_000
        public var pipelinedSync = true

        public init(path: String, claims: Int, sessions: Int) {
            self.path = path
            self.claims = claims
            self.sessions = sessions
        }
    }

    public struct Summary: Sendable {
        public var claims: Int
        public var sessions: Int
        public var seconds: Double
        public var databaseBytes: Int64
        public var walBytes: Int64
        /// The highest claim sequence written per year: what `lastClaimSequence` must return.
        public var lastSequences: [Int: Int]

        public var rows: Int { self.claims + self.sessions }
        public var totalBytes: Int64 { self.databaseBytes + self.walBytes }

        /// One line for scripts: `key=value` pairs.
        public var line: String {
            let perClaim = self.claims > 0 ? Double(self.totalBytes) / Double(self.claims) : 0
            let perRow = self.rows > 0 ? Double(self.totalBytes) / Double(self.rows) : 0
            return "preload claims=\(self.claims) sessions=\(self.sessions) rows=\(self.rows) seconds="
                + String(format: "%.1f", self.seconds) + " db_bytes=\(self.databaseBytes) wal_bytes=\(self.walBytes)"
                + " total_bytes=\(self.totalBytes) bytes_per_claim=" + String(format: "%.0f", perClaim)
                + " bytes_per_row=" + String(format: "%.0f", perRow)
        }
    }

    public let options: Options

    public init(_ options: Options) {
        self.options = options
    }

    /// Writes everything; `progress` gets a line now and then (the command prints it to stderr).
    public func run(progress: (String) -> Void = { _ in }) throws -> Summary {
        let options = self.options
        guard !FileManager.default.fileExists(atPath: options.path) else {
            throw StoreError("preload", "\(options.path) exists: preload fills a fresh database only")
        }
        let started = Date()
        var rows = PreloadRows(
            claims: options.claims, sessions: options.sessions,
            subscribers: options.subscribers > 0 ? options.subscribers : max(1, options.claims / 4), seed: options.seed,
            claimsFromMs: options.nowMs - Int64(options.claimDays) * 86_400_000, claimsToMs: options.nowMs,
            sessionsFromMs: options.nowMs - Int64(options.sessionHours) * 3_600_000, sessionsToMs: options.nowMs,
            sessionTTLMs: options.sessionTTLMs
        )
        let store = try SQLiteStoreBackend(
            path: options.path, walAutocheckpointPages: options.walAutocheckpointPages,
            checkpointIntervalMs: options.checkpointIntervalMs, pipelinedSync: options.pipelinedSync
        ).openWriter()
        defer { store.close() }
        let batch = max(1, options.batchSize)
        var lastReport = Date()
        func report(_ what: String, _ done: Int, _ total: Int) {
            let now = Date()
            guard done == total || now.timeIntervalSince(lastReport) >= 5 else { return }
            lastReport = now
            let elapsed = now.timeIntervalSince(started)
            progress(
                "preload: \(what) \(done)/\(total) after " + String(format: "%.0f", elapsed) + " s, "
                    + Self.megabytes(Self.size(options.path) + Self.size(options.path + "-wal")) + " on disk")
        }
        var i = 0
        while i < options.claims {
            let end = min(options.claims, i + batch)
            try store.begin()
            while i < end {
                try store.insertClaim(rows.claim(i))
                i += 1
            }
            try store.commit()
            report("claims", i, options.claims)
        }
        i = 0
        while i < options.sessions {
            let end = min(options.sessions, i + batch)
            try store.begin()
            while i < end {
                try store.upsertContactSession(rows.session(i))
                i += 1
            }
            try store.commit()
            report("sessions", i, options.sessions)
        }
        store.close()
        return Summary(
            claims: options.claims, sessions: options.sessions, seconds: Date().timeIntervalSince(started),
            databaseBytes: Self.size(options.path), walBytes: Self.size(options.path + "-wal"), lastSequences: rows.lastSequences
        )
    }

    static func size(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    static func megabytes(_ bytes: Int64) -> String {
        String(format: "%.0f MB", Double(bytes) / 1_000_000)
    }
}
