/// One connection's share of the open-loop timeline: calls `offset`, `offset + stride`, ...
/// of the global sequence, each with its intended send time in nanoseconds after t0.
///
/// The calls are dealt round-robin so that C connections together follow exactly the global
/// timeline `t0 + i/R`; each connection only ever asks "what is my next call, and when is
/// it due?", which keeps the event-loop side to one comparison per call.
public struct OpenLoopSchedule: Sendable {
    public let plan: RatePlan
    public let offset: Int
    public let stride: Int
    /// The next global call index this connection will send.
    public private(set) var nextIndex: Int
    private var hint = 0
    /// Intended offset (ns after t0) of `nextIndex`, nil once the timeline is over.
    public private(set) var nextDue: UInt64?

    public init(plan: RatePlan, offset: Int, stride: Int) {
        precondition(stride > 0 && offset >= 0 && offset < stride)
        self.plan = plan
        self.offset = offset
        self.stride = stride
        self.nextIndex = offset
        self.nextDue = nil
        self.nextDue = self.dueNanos(of: offset)
    }

    /// The intended offset of the current call, and moves to this connection's next one.
    public mutating func advance() -> (index: Int, due: UInt64)? {
        guard let due = self.nextDue else { return nil }
        let index = self.nextIndex
        self.nextIndex += self.stride
        self.nextDue = self.dueNanos(of: self.nextIndex)
        return (index, due)
    }

    private mutating func dueNanos(of index: Int) -> UInt64? {
        guard let seconds = self.plan.intendedOffset(ofCall: index, hint: &self.hint) else { return nil }
        return Self.nanos(seconds)
    }

    /// Seconds to whole nanoseconds, rounded to nearest: `i/R` for a single step is exact to 1 ns.
    public static func nanos(_ seconds: Double) -> UInt64 { UInt64((seconds * 1e9).rounded()) }
}
