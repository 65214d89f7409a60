// The codec benchmark: encode and decode of an Escalate and a FileComplaint request through
// libprotobuf-c and the Swift mapping, in ns and allocations per op. Run by `make bench`
// (release build); prints a Markdown table.
//
// Usage: claimline-codec-bench [--iterations N] [--rounds R] [--only SUBSTRING]
//
// Each case runs R rounds of N operations; the table shows the median and the best round
// (the best is the least disturbed by other work on a shared machine), the CPU time per op of
// the median round, and allocations per op counted by interposing malloc (CMallocCounter).
import CMallocCounter
import ClaimlineCodec
import ClaimlineCore
import ClaimlineProtoC
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

var iterations = 1_000_000
var rounds = 7
var only: String? = nil
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--iterations": iterations = Int(arguments.next() ?? "") ?? iterations
    case "--rounds": rounds = Int(arguments.next() ?? "") ?? rounds
    case "--only": only = arguments.next()  // a substring of the case name, for profiling
    default:
        print("usage: claimline-codec-bench [--iterations N] [--rounds R] [--only SUBSTRING]")
        exit(2)
    }
}

let subscriber = Subscriber(msisdn: "+79161234567", accountId: "ACC-0042", valueTier: .tier2, region: "77")
let escalate = EscalateRequest(
    idempotencyKey: "0b7e2d6c-58a1-4f0e-8d4b-3c2a1f0e9d8c",
    callId: "UCID-00001-1764000000",
    subscriber: subscriber,
    category: CategoryRef(group: .billing, category: .balanceDesync),
    agentId: "ivr-7"
)
let fileComplaint = FileComplaintRequest(
    idempotencyKey: "5f0c8a7e-1d2b-4c3d-9e8f-0a1b2c3d4e5f",
    callId: "UCID-00001-1764000000",
    category: CategoryRef(group: .contactCentre, category: .improperService),
    subscriber: subscriber,
    placeId: "MRKC-NSK",
    description: "Оператор прервал разговор и не перезвонил.",
    failureReason: .longReview,
    agentId: "agent-1024"
)

@inline(never)
func blackHole<T>(_ value: T) { withExtendedLifetime(value) {} }

func now(_ clock: clockid_t) -> UInt64 {
    var spec = timespec()
    clock_gettime(clock, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

struct Row {
    var name: String
    var bytes: Int
    var medianNs: Double
    var bestNs: Double
    var cpuNs: Double
    var allocations: Double
}

@MainActor
func measure(_ name: String, bytes: Int, _ body: () throws -> Void) rethrows -> Row? {
    if let only, !name.contains(only) { return nil }
    for _ in 0..<(iterations / 10) { try body() }  // warm-up: caches, arena growth
    var wall: [Double] = []
    var cpu: [Double] = []
    var allocations = 0.0
    for round in 0..<rounds {
        let mallocs = clm_malloc_count()
        let cpuStart = now(CLOCK_PROCESS_CPUTIME_ID)
        let start = now(CLOCK_MONOTONIC)
        for _ in 0..<iterations { try body() }
        let end = now(CLOCK_MONOTONIC)
        let cpuEnd = now(CLOCK_PROCESS_CPUTIME_ID)
        if round == 0 { allocations = Double(clm_malloc_count() - mallocs) / Double(iterations) }
        wall.append(Double(end - start) / Double(iterations))
        cpu.append(Double(cpuEnd - cpuStart) / Double(iterations))
    }
    let order = wall.indices.sorted { wall[$0] < wall[$1] }
    let median = order[order.count / 2]
    return Row(name: name, bytes: bytes, medianNs: wall[median], bestNs: wall[order[0]], cpuNs: cpu[median], allocations: allocations)
}

@MainActor
func run() throws -> [Row] {
    let arena = ProtoArena()
    var scratch = ByteBuffer()
    scratch.reserveCapacity(4096)
    var escalateBytes = ByteBuffer()
    try escalate.encode(into: &escalateBytes, arena: arena)
    var fileBytes = ByteBuffer()
    try fileComplaint.encode(into: &fileBytes, arena: arena)

    return [
        try measure("EscalateRequest encode", bytes: escalateBytes.readableBytes) {
            scratch.clear()
            try escalate.encode(into: &scratch, arena: arena)
        },
        try measure("EscalateRequest decode", bytes: escalateBytes.readableBytes) {
            blackHole(try EscalateRequest.decode(from: escalateBytes, arena: arena))
        },
        try measure("FileComplaintRequest encode", bytes: fileBytes.readableBytes) {
            scratch.clear()
            try fileComplaint.encode(into: &scratch, arena: arena)
        },
        try measure("FileComplaintRequest decode", bytes: fileBytes.readableBytes) {
            blackHole(try FileComplaintRequest.decode(from: fileBytes, arena: arena))
        },
        try measure("FileComplaintRequest round trip", bytes: fileBytes.readableBytes) {
            scratch.clear()
            try fileComplaint.encode(into: &scratch, arena: arena)
            blackHole(try FileComplaintRequest.decode(from: scratch, arena: arena))
        },
    ].compactMap { $0 } + cLibraryAlone(fileBytes)
}

/// The same FileComplaint through libprotobuf-c alone (pack from a ready C struct, unpack into
/// an arena), in the same run: what the Swift layer adds is the difference.
@MainActor
func cLibraryAlone(_ encoded: ByteBuffer) -> [Row] {
    let bytes = Array(encoded.readableBytesView)
    let keep = clm_arena_create(16 * 1024)!  // holds the struct that the pack loop reads
    let scratch = clm_arena_create(16 * 1024)!
    defer {
        clm_arena_destroy(keep)
        clm_arena_destroy(scratch)
    }
    let message = bytes.withUnsafeBufferPointer {
        claimline__v1__file_complaint_request__unpack(clm_arena_allocator(keep), $0.count, $0.baseAddress)!
    }
    var out = [UInt8](repeating: 0, count: 4096)
    let encode = measure("libprotobuf-c alone: FileComplaint size + pack", bytes: bytes.count) {
        out.withUnsafeMutableBufferPointer { buffer in
            let size = claimline__v1__file_complaint_request__get_packed_size(message)
            precondition(size <= buffer.count)
            blackHole(claimline__v1__file_complaint_request__pack(message, buffer.baseAddress))
        }
    }
    let decode = measure("libprotobuf-c alone: FileComplaint unpack (arena)", bytes: bytes.count) {
        bytes.withUnsafeBufferPointer {
            blackHole(claimline__v1__file_complaint_request__unpack(clm_arena_allocator(scratch), $0.count, $0.baseAddress))
        }
        clm_arena_reset(scratch)
    }
    return [encode, decode].compactMap { $0 }
}

func format(_ value: Double) -> String {
    let rounded = (value * 10).rounded() / 10
    return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
}

let rows = try run()
print("| operation | message bytes | ns/op (median) | ns/op (best) | CPU ns/op | allocations/op |")
print("|---|---:|---:|---:|---:|---:|")
for row in rows {
    print("| \(row.name) | \(row.bytes) | \(format(row.medianNs)) | \(format(row.bestNs)) | \(format(row.cpuNs)) | \(format(row.allocations)) |")
}
print("")
print("\(rounds) rounds of \(iterations) operations each; allocations counted in the first round.")
