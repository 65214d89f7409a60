import ClaimlineCore

/// What one instance did in a run against several: how many calls it took, how they ended,
/// and how its connections fared. With one instance dying mid-run, the survivor's figures show
/// the calls that carried on there.
public struct TargetStats: Codable, Sendable, Equatable {
    /// `host:port`.
    public var address: String
    /// Calls that ended on a connection to it, warm-up included (the steps' tables leave the
    /// warm-up out): answered there, or lost with its connection.
    public var calls: UInt64 = 0
    public var ok: UInt64 = 0
    /// Failed calls by status code name; calls lost with a connection count as `UNAVAILABLE`.
    public var errors: [String: UInt64] = [:]
    /// Handshakes completed with it: the first connections and every reconnect that landed there.
    public var connections: UInt64 = 0
    /// Its connections that closed under the run (the instance died, restarted or said GOAWAY).
    public var lost: UInt64 = 0
    /// Attempts to connect to it that failed (refused, unreachable, or refused at HELLO).
    public var connectFailures: UInt64 = 0

    public init(address: String) { self.address = address }

    @inline(__always)
    mutating func record(code: UInt32) {
        self.calls += 1
        if code == 0 {
            self.ok += 1
        } else {
            self.errors[StatusCode(rawValue: code).name, default: 0] += 1
        }
    }

    /// Adds the same instance's figures from another loop or process.
    public mutating func add(_ other: TargetStats) {
        self.calls += other.calls
        self.ok += other.ok
        for (code, count) in other.errors { self.errors[code, default: 0] += count }
        self.connections += other.connections
        self.lost += other.lost
        self.connectFailures += other.connectFailures
    }

    /// Per-address figures of several loops or processes, added by address, in first-seen order.
    public static func merge(_ lists: [[TargetStats]]) -> [TargetStats] {
        var out: [TargetStats] = []
        for list in lists {
            for stats in list {
                if let index = out.firstIndex(where: { $0.address == stats.address }) {
                    out[index].add(stats)
                } else {
                    out.append(stats)
                }
            }
        }
        return out
    }
}
