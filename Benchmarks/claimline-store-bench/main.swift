// The store benchmark: what one write costs the group-commit writer inside SQLite, by the
// statements the handlers issue, in batches like the writer's. Run by `make bench`.
//
// Usage: claimline-store-bench [--batches N] [--batch-size B]
//        claimline-store-bench preload --db PATH --claims N --sessions N [--seed N] (PreloadCommand)
import ClaimlineCore
import ClaimlineStore
import ClaimlineStoreSQLite
import Foundation

if CommandLine.arguments.dropFirst().first == "preload" {
    exit(PreloadCommand.run(Array(CommandLine.arguments.dropFirst(2))))
}

var batches = 50
var batchSize = 1000
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--batches": batches = Int(arguments.next() ?? "") ?? batches
    case "--batch-size": batchSize = Int(arguments.next() ?? "") ?? batchSize
    default:
        print("usage: claimline-store-bench [--batches N] [--batch-size B]")
        exit(2)
    }
}

func cpuNanos() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

func wallNanos() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

let directory = NSTemporaryDirectory() + "claimline-store-bench-" + UUID().uuidString
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: directory) }
let store = try SQLiteStoreBackend(path: directory + "/bench.db").openWriter()

let subscriber = Subscriber(msisdn: "+79161234567", accountId: "ACC-1", valueTier: .tier2, region: "77")
let response = [UInt8](repeating: 0x2A, count: 40)
var sequence = 0
var lookups = true
/// Writes so far: keys and call ids stay unique across the cases.
var written = 0

/// One escalate's statements: two lookups that miss, the session, the idempotency record, the audit.
@MainActor
func escalate(_ n: Int) throws {
    let key = "key-\(n)-6f1c2a3b-0000-4000-8000"
    let call = "UCID-\(n)-1764000000"
    if lookups {
        _ = try store.idempotencyRecord(key: key)
        _ = try store.contactSession(callID: call)
    }
    try store.upsertContactSession(
        ContactSession(
            callID: call, state: .withSecondLine, subscriber: subscriber, category: CategoryRef(group: .billing, category: .balanceDesync),
            decision: .transferToSecondLine, rule: "second_line_normal", createdAtMs: 1, updatedAtMs: 1, expiresAtMs: .max
        )
    )
    try store.insertIdempotencyRecord(IdempotencyRecord(key: key, method: 1, requestHash: UInt64(n), response: response, createdAtMs: 1))
    try store.appendAudit(
        AuditRecord(
            atMs: 1, sessionID: "s-1", clientName: "bench", role: "admin", method: "Escalate", idempotencyKey: key, callID: call,
            rule: "second_line_normal", outcome: "ESCALATE_DECISION_TRANSFER_TO_SECOND_LINE"))
}

/// One direct FileComplaint's statements: the lookups, the claim, the session, idempotency, audit.
@MainActor
func fileComplaint(_ n: Int) throws {
    let key = "fkey-\(n)-6f1c2a3b-0000-4000-8000"
    let call = "FCALL-\(n)-1764000000"
    _ = try store.idempotencyRecord(key: key)
    _ = try store.contactSession(callID: call)
    sequence += 1
    let number = "2026-" + String(sequence)
    try store.insertClaim(
        Claim(
            claimNumber: number, callId: call, category: CategoryRef(group: .contactCentre, category: .improperService), subscriber: subscriber,
            placeId: "MRKC-1", description: "Оператор прервал разговор и не перезвонил.", agentId: "agent-1", department: "Отдел качества",
            status: .acknowledged, createdAtMs: 1, dueAtMs: 2, updatedAtMs: 1
        )
    )
    try store.upsertContactSession(
        ContactSession(
            callID: call, state: .claimFiled, subscriber: subscriber, claimNumber: number, createdAtMs: 1, updatedAtMs: 1, expiresAtMs: .max)
    )
    try store.insertIdempotencyRecord(IdempotencyRecord(key: key, method: 3, requestHash: UInt64(n), response: response, createdAtMs: 1))
    try store.appendAudit(
        AuditRecord(
            atMs: 1, sessionID: "s-1", clientName: "bench", role: "admin", method: "FileComplaint", idempotencyKey: key, callID: call,
            claimNumber: number))
}

@MainActor
func measure(_ name: String, _ body: @MainActor (Int) throws -> Void) throws {
    let first = written
    var commitWall: UInt64 = 0
    let cpu0 = cpuNanos()
    let wall0 = wallNanos()
    for _ in 0..<batches {
        try store.begin()
        for _ in 0..<batchSize {
            written += 1
            try body(written)
        }
        let c0 = wallNanos()
        try store.commit()
        commitWall += wallNanos() - c0
    }
    let n = written - first
    let cpu = Double(cpuNanos() - cpu0) / Double(n) / 1000
    let wall = Double(wallNanos() - wall0) / Double(n) / 1000
    let commit = Double(commitWall) / Double(batches) / 1_000_000
    print(
        "| \(name) | \(batches) x \(batchSize) | \(String(format: "%.2f", cpu)) | \(String(format: "%.2f", wall)) | \(String(format: "%.2f", commit)) |"
    )
}

print("| writes | batches | CPU µs/write | wall µs/write | commit (fsync) ms/batch |")
print("|---|---:|---:|---:|---:|")
try measure("Escalate (2 lookups, 3 writes)", escalate)
lookups = false
try measure("Escalate without the lookups (3 writes)", escalate)
lookups = true
try measure("FileComplaint (2 lookups, 4 writes)", fileComplaint)
store.close()
