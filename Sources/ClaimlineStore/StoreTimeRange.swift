/// The `[fromMs, toMs)` range of ListClaims and GetStats as inclusive bounds, computed once so
/// every backend reads "0 means unbounded" the same way.
///
/// Inclusive bounds let SQL use `BETWEEN ? AND ?` with no special case for "no upper bound",
/// and keep a claim stamped at `Int64.max` (bad data, but possible) inside an unbounded range.
public struct StoreTimeRange: Hashable, Sendable {
    /// The first millisecond in the range.
    public var lowerMs: Int64
    /// The last millisecond in the range (inclusive).
    public var upperMs: Int64

    /// `fromMs` 0 means no lower bound; `toMs` is exclusive and 0 means no upper bound.
    public init(fromMs: Int64, toMs: Int64) {
        self.lowerMs = fromMs == 0 ? .min : fromMs
        if toMs == 0 {
            self.upperMs = .max
        } else if toMs == .min {
            // Nothing lies before Int64.min: an empty range (lower > upper).
            self.lowerMs = .max
            self.upperMs = .min
        } else {
            self.upperMs = toMs - 1
        }
    }

    public var isEmpty: Bool { self.lowerMs > self.upperMs }

    public func contains(_ ms: Int64) -> Bool { ms >= self.lowerMs && ms <= self.upperMs }
}

extension ClaimQuery {
    /// The largest page a store returns, whatever was asked: it bounds the memory of one reply.
    public static let maximumLimit = 10_000

    /// `limit` clamped to `1...maximumLimit`: a zero or negative limit returns one claim rather
    /// than trapping or returning an empty page with a cursor that never advances.
    public var effectiveLimit: Int { min(max(self.limit, 1), Self.maximumLimit) }

    public var createdRange: StoreTimeRange { StoreTimeRange(fromMs: self.createdFromMs, toMs: self.createdToMs) }
}
