import Foundation

/// The figures of one idle run: how many connections got through, how the server's RSS
/// moved, and the headline, bytes of server memory per idle authenticated connection.
public struct IdleResult: Sendable {
    public var requested = 0
    public var established = 0
    /// Refused at HELLO by GOAWAY reason, plus `CLOSED` for a close with no GOAWAY.
    public var refused: [String: Int] = [:]
    /// Sockets that never connected, by error (`EMFILE` when out of file descriptors).
    public var connectFailures: [String: Int] = [:]
    /// Set when the harness ran out of file descriptors: what to do about it.
    public var fileDescriptorError: String?
    public var openSeconds = 0.0
    public var holdSeconds = 0.0
    /// Of the established ones, still open when the hold ended.
    public var stillOpen = 0
    public var closedDuringHold = 0
    public var goAwaysDuringHold: [String: Int] = [:]
    public var pingsAnswered = 0
    /// The server's VmRSS in KiB (0 without --server-pid).
    public var rssBeforeKB: UInt64 = 0
    public var rssAfterKB: UInt64 = 0
    public var rssEndKB: UInt64 = 0

    public init() {}

    /// (after − before) / established, after every connection's handshake; 0 when a sample
    /// is missing (no --server-pid, or /proc could not be opened: out of file descriptors).
    public var bytesPerConnection: Double {
        guard self.established > 0, self.rssBeforeKB > 0, self.rssAfterKB > 0 else { return 0 }
        return (Double(self.rssAfterKB) - Double(self.rssBeforeKB)) * 1024 / Double(self.established)
    }

    /// The same at the end of the hold (after keepalive PINGs, if the hold saw any).
    public var bytesPerConnectionAtEnd: Double {
        guard self.established > 0, self.rssBeforeKB > 0, self.rssEndKB > 0 else { return 0 }
        return (Double(self.rssEndKB) - Double(self.rssBeforeKB)) * 1024 / Double(self.established)
    }

    public var line: String {
        var text =
            "idle: \(self.established)/\(self.requested) established in " + String(format: "%.1f", self.openSeconds) + " s"
            + ", \(self.stillOpen) still open after " + String(format: "%.0f", self.holdSeconds) + " s"
        if !self.refused.isEmpty { text += ", refused \(Self.render(self.refused))" }
        if !self.connectFailures.isEmpty { text += ", connect failures \(Self.render(self.connectFailures))" }
        if self.rssBeforeKB > 0 {
            text +=
                "; server RSS \(self.rssBeforeKB / 1024) → \(self.rssAfterKB / 1024) → \(self.rssEndKB / 1024) MiB, "
                + String(format: "%.0f", self.bytesPerConnection) + " bytes per idle connection ("
                + String(format: "%.0f", self.bytesPerConnectionAtEnd) + " at the end)"
        }
        if let error = self.fileDescriptorError { text += "\n" + error }
        return text
    }

    public var json: [String: Any] {
        var figures: [String: Any] = [
            "connections": [
                "requested": self.requested, "established": self.established, "refused": self.refused,
                "connect_failures": self.connectFailures, "still_open_at_end": self.stillOpen,
                "closed_during_hold": self.closedDuringHold, "goaways_during_hold": self.goAwaysDuringHold,
            ],
            "open_seconds": self.openSeconds, "hold_seconds": self.holdSeconds, "pings_answered": self.pingsAnswered,
            "rss_kb": ["before": self.rssBeforeKB, "after_established": self.rssAfterKB, "end": self.rssEndKB],
            "bytes_per_idle_connection": self.bytesPerConnection.rounded(),
            "bytes_per_idle_connection_at_end": self.bytesPerConnectionAtEnd.rounded(),
        ]
        if let error = self.fileDescriptorError { figures["file_descriptor_error"] = error }
        return figures
    }

    public func writeJSON(to path: String) throws {
        try JSONSerialization.data(withJSONObject: self.json, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: path))
    }

    private static func render(_ counts: [String: Int]) -> String {
        counts.keys.sorted().map { "\($0) \(counts[$0] ?? 0)" }.joined(separator: ", ")
    }
}
