import ClaimlineCore
import Histogram

/// What one method (or whole contacts) did in one step: latency histograms and outcomes.
///
/// The histograms are the report's source of truth: every percentile printed, exported or
/// merged comes from them, never from pre-computed numbers, so merging processes is exact.
public struct MethodStats: Sendable, Codable, Equatable {
    /// `Escalate`, `Retain`, `FileComplaint`, or `Contact` (a whole contact, first call's
    /// intended start to last answer).
    public var name: String
    /// Latency from the intended send time (coordinated-omission corrected), µs.
    public var histogram: Histogram<UInt64>
    /// Latency from the actual send time, µs: the naive measure, for contrast.
    public var uncorrected: Histogram<UInt64>
    /// Calls answered (RESPONSE or ERROR) or given up on.
    public var count: UInt64
    public var ok: UInt64
    /// Failed calls by status code name (`DEADLINE_EXCEEDED`, `UNAVAILABLE`, ...).
    public var errors: [String: UInt64]

    public init(name: String) {
        self.name = name
        self.histogram = LatencyHistogram.make()
        self.uncorrected = LatencyHistogram.make()
        self.count = 0
        self.ok = 0
        self.errors = [:]
    }

    public var errorCount: UInt64 { self.count - self.ok }

    @inline(__always)
    public mutating func record(corrected: UInt64, uncorrected: UInt64, code: UInt32) {
        self.histogram.record(corrected)
        self.uncorrected.record(uncorrected)
        self.count += 1
        if code == 0 {
            self.ok += 1
        } else {
            self.errors[StatusCode(rawValue: code).name, default: 0] += 1
        }
    }

    /// Adds another process's or connection's numbers for the same method.
    public mutating func add(_ other: MethodStats) {
        self.histogram.add(other.histogram)
        self.uncorrected.add(other.uncorrected)
        self.count += other.count
        self.ok += other.ok
        for (code, n) in other.errors { self.errors[code, default: 0] += n }
    }

    /// Milliseconds at a percentile of the corrected histogram.
    public func ms(_ percentile: Double) -> Double { Double(self.histogram.valueAtPercentile(percentile)) / 1000 }
    public var maxMs: Double { Double(self.histogram.max) / 1000 }
}

/// The series a report has one ``MethodStats`` for, in report order.
public enum MetricKey: Int, CaseIterable, Sendable {
    case escalate, retain, fileComplaint, contact

    public init(_ method: Method) {
        switch method {
        case .escalate: self = .escalate
        case .retain: self = .retain
        default: self = .fileComplaint
        }
    }

    public var name: String {
        switch self {
        case .escalate: "Escalate"
        case .retain: "Retain"
        case .fileComplaint: "FileComplaint"
        case .contact: "Contact"
        }
    }
}
