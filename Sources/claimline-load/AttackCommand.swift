import ArgumentParser
import ClaimlineLoad
import Foundation
import Synchronization

/// `claimline-load attack`: one hostile caller against a server, bounded in time and count,
/// with a well-behaved probe beside it and the server's RSS sampled throughout.
struct AttackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attack",
        abstract: "Run one hostile-caller attack (never-read, silent-sockets, read-flood, bad-hellos) and measure its effect.",
        discussion: "Loopback targets only. Prints one line; --json writes the figures."
    )

    @Option(name: .long, help: "claimlined's address.")
    var server = "127.0.0.1:7400"
    @Option(name: .long, help: "HELLO token of the attacker and the probe.")
    var token = "dev-admin-token"
    @Option(name: .long, help: "never-read | silent-sockets | read-flood | bad-hellos.")
    var kind: String
    @Option(name: .long, help: "How long the attack lasts.")
    var duration = "10s"
    @Option(name: .long, help: "The probe's calls before the attack, for the baseline.")
    var baseline = "5s"
    @Option(name: .long, help: "Sockets, calls in flight or HELLOs, by attack.")
    var count = 1024
    @Option(name: .long, help: "Loopback addresses to connect from, comma-separated.")
    var sources = "127.0.0.1"
    @Option(name: .long, help: "The probe reads this claim (GetClaim); without it, GetSecondLineMode.")
    var claim = ""
    @Option(name: .long, help: "The server's pid, to sample its RSS from /proc.")
    var serverPid: Int32?
    @Option(name: .long, help: "Write the figures as JSON.")
    var json: String?

    func run() async throws {
        guard let attack = HostileAttack(rawValue: self.kind) else {
            throw ValidationError("--kind: one of \(HostileAttack.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let colon = self.server.lastIndex(of: ":"), let port = Int(self.server[self.server.index(after: colon)...]) else {
            throw ValidationError("--server: host:port")
        }
        let host = String(self.server[..<colon])
        let duration = try DurationText.seconds(self.duration)
        let baseline = try DurationText.seconds(self.baseline)
        let probe = HostileProbe(host: host, port: port, token: self.token, claimNumber: self.claim)
        let rss = { self.serverPid.flatMap { ProcSampler.sample(pid: $0)?.rssKB } ?? 0 }

        let before = try await probe.measure(for: .nanoseconds(Int64(baseline * 1e9)))
        let rssBefore = rss()
        let settings = HostileAttack.Settings(
            host: host, port: port, token: self.token, duration: .nanoseconds(Int64(duration * 1e9)), count: self.count,
            sources: self.sources.split(separator: ",").map(String.init)
        )
        let finished = Flag()
        let attackTask = Task {
            defer { finished.set() }
            return try await attack.run(settings)
        }
        let probeTask = Task { try await probe.measure(for: .nanoseconds(Int64(duration * 1e9))) }
        var peak = rssBefore
        while !finished.isSet {
            peak = max(peak, rss())
            try await Task.sleep(for: .milliseconds(100))
        }
        let outcome = try await attackTask.value
        let during = try await probeTask.value
        peak = max(peak, rss())
        try await Task.sleep(for: .seconds(3))
        let rssAfter = rss()

        let figures: [String: Any] = [
            "kind": attack.rawValue, "duration_s": duration, "count": self.count,
            "rss_kb": ["before": rssBefore, "peak": peak, "after": rssAfter],
            "probe_before_ms": ["p50": before.p50, "p99": before.p99, "max": before.max, "calls": before.calls, "failures": before.failures],
            "probe_during_ms": ["p50": during.p50, "p99": during.p99, "max": during.max, "calls": during.calls, "failures": during.failures],
            "attacker": [
                "requests_sent": outcome.requestsSent, "answers_read": outcome.answersRead, "sockets_opened": outcome.socketsOpened,
                "sockets_closed_by_server": outcome.socketsClosedByServer, "goaway_reasons": outcome.goAwayReasons,
            ],
        ]
        print(
            "\(attack.rawValue): RSS \(rssBefore / 1024) → peak \(peak / 1024) → after \(rssAfter / 1024) MiB; probe p50/p99 "
                + String(
                    format: "%.2f/%.2f ms before, %.2f/%.2f ms during (%d failures)", before.p50, before.p99, during.p50, during.p99, during.failures)
        )
        if let json = self.json {
            try JSONSerialization.data(withJSONObject: figures, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: json))
        }
    }
}

/// Set once, read from any task.
private final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { self.value.store(true, ordering: .relaxed) }
    var isSet: Bool { self.value.load(ordering: .relaxed) }
}
