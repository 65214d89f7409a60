import ClaimlineCore
import Foundation
import Logging

/// `--log-format json`: one JSON object per line on standard error, for log shippers
/// (`{"ts":"2026-11-30T10:00:00.123Z","level":"notice","logger":"claimlined","msg":"call refused",
/// "rpc.method":"Escalate",...}`). Metadata keys become members; values are strings. Every
/// string is JSON-escaped, so nothing a peer sent can break a line or forge a member.
struct JSONLogHandler: LogHandler {
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private static let lock = NSLock()

    init(label: String) {
        self.label = label
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    func log(
        level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String,
        line: UInt
    ) {
        var merged = self.metadata
        if let provided = self.metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let metadata { merged.merge(metadata) { _, new in new } }
        var out = "{\"ts\":\"" + Self.timestamp() + "\",\"level\":\"" + level.rawValue + "\",\"logger\":" + Self.quote(self.label)
        out += ",\"msg\":" + Self.quote(message.description)
        for key in merged.keys.sorted() where !["ts", "level", "logger", "msg"].contains(key) {
            out += "," + Self.quote(key) + ":" + Self.quote("\(merged[key]!)")
        }
        out += "}\n"
        let bytes = Array(out.utf8)
        Self.lock.lock()
        defer { Self.lock.unlock() }
        // One write(2) per line: lines from several threads never interleave.
        bytes.withUnsafeBufferPointer { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped (the same
    /// writer as the CLI's `--json`).
    static func quote(_ value: String) -> String { JSONWriter.quoted(value) }

    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour,
            parts.tm_min, parts.tm_sec, now.tv_nsec / 1_000_000
        )
    }
}
