import ClaimlineCore
import ClaimlineWire
import NIOCore

/// The logic of one load connection: what to send when, and what each answer means. The NIO
/// handler only feeds it frames and clock readings and writes out the buffer it fills, so all
/// the bookkeeping is in one place and the buffer is flushed once per batch of sends.
///
/// Not Sendable: it lives on its connection's event loop.
public final class ConnectionDriver {
    public enum Mode: Sendable {
        /// Keep `inFlight` calls outstanding; stop after `quota` measured calls when set.
        case closed(inFlight: Int, quota: Int?)
        /// Send this connection's share of the fixed-rate timeline.
        case open(OpenLoopSchedule)
    }

    struct Pending {
        var method: Method
        var plan: ContactPlan
        var intended: UInt64
        var sent: UInt64
        /// Intended start of the contact's first call, and when that call actually went out.
        var contactIntended: UInt64
        var contactSent: UInt64
    }

    public let scenario: Scenario
    public private(set) var mode: Mode
    let writer: RequestWriter
    var data: DataGenerator
    let recorder: LoopRecorder
    let timeoutNanos: UInt64
    /// Stream ids, the calls out and their deadlines: the client connection machine the Swift
    /// client uses too.
    private var machine = ClientConnectionMachine<Pending>()
    private var t0: UInt64 = 0
    private var end: UInt64 = 0
    private var warmupEnd: UInt64 = 0
    private var measuredSends = 0
    /// No new calls (the run is over, the quota is reached, or the server said GOAWAY).
    public private(set) var stopped = false
    private var lost = false

    public init(scenario: Scenario, mode: Mode, data: DataGenerator, recorder: LoopRecorder, timeoutMs: UInt32) {
        self.scenario = scenario
        self.mode = mode
        self.data = data
        self.recorder = recorder
        self.writer = RequestWriter(timeoutMs: timeoutMs)
        self.timeoutNanos = UInt64(max(timeoutMs, 1)) * 1_000_000
    }

    public var inFlight: Int { self.machine.inFlight }
    public var isFinished: Bool { (self.stopped || self.lost) && self.machine.inFlight == 0 }

    /// Starts the run at `t0` (uptime ns); closed loop fills its window at once.
    public func start(t0: UInt64, now: UInt64, into out: inout ByteBuffer) {
        self.t0 = t0
        self.end = t0 + OpenLoopSchedule.nanos(self.recorder.plan.totalDuration)
        self.warmupEnd = t0 + OpenLoopSchedule.nanos(self.recorder.plan.warmup)
        if case .closed(let window, _) = self.mode {
            for _ in 0..<window where !self.stopped { self.startContact(intended: now, now: now, into: &out) }
        }
    }

    /// Open loop: sends every call already due; returns when the next one is due (uptime ns).
    public func sendDue(now: UInt64, into out: inout ByteBuffer) -> UInt64? {
        guard case .open(var schedule) = self.mode else { return nil }
        defer { self.mode = .open(schedule) }
        while !self.stopped, let due = schedule.nextDue, self.t0 + due <= now {
            _ = schedule.advance()
            self.startContact(intended: self.t0 + due, now: now, into: &out)
        }
        guard !self.stopped, let due = schedule.nextDue else {
            self.stop()
            return nil
        }
        return self.t0 + due
    }

    /// A RESPONSE or ERROR frame; may append the contact's next call (or, closed loop, a new one).
    public func answer(_ frame: Frame, now: UInt64, into out: inout ByteBuffer) {
        guard case .answered(_, let call, _) = self.machine.receive(frame) else { return }  // expired: discard
        var code: UInt32 = 0
        var decision = EscalateDecision.unspecified
        if frame.type == .error {
            code = self.writer.statusCode(of: frame.payload)
        } else if now > call.sent + self.timeoutNanos {
            code = StatusCode.deadlineExceeded.rawValue  // a late answer is a failed call for its caller
        } else if call.method == .escalate && self.scenario == .contact {
            decision = self.writer.decision(of: frame.payload)
        }
        self.finish(call, now: now, code: code, decision: decision, into: &out)
    }

    /// Gives up on calls unanswered past their timeout (plus a grace for the server's own
    /// DEADLINE_EXCEEDED to arrive): CANCEL, count DEADLINE_EXCEEDED, and move on.
    public func expire(now: UInt64, into out: inout ByteBuffer) {
        for (streamID, call) in self.machine.expire(now: now) {
            out.writeFrame(Frame.cancel(streamID: streamID))
            self.finish(call, now: now, code: StatusCode.deadlineExceeded.rawValue, decision: .unspecified, into: &out)
        }
    }

    /// GOAWAY: no new calls; calls above `lastStreamId` were never processed (UNAVAILABLE).
    public func goAway(_ frame: Frame, lastStreamID: UInt32, now: UInt64) {
        self.stop()
        var scratch = ByteBuffer()
        guard case .goingAway(let unprocessed) = self.machine.receive(frame, goAwayLastStreamID: lastStreamID) else { return }
        for (_, call) in unprocessed {
            self.finish(call, now: now, code: StatusCode.unavailable.rawValue, decision: .unspecified, into: &scratch)
        }
    }

    /// The connection closed: every call still out failed with UNAVAILABLE.
    public func connectionLost(now: UInt64) {
        guard !self.lost else { return }
        self.stop()
        self.lost = true
        var scratch = ByteBuffer()
        for (_, call) in self.machine.closed() {
            self.finish(call, now: now, code: StatusCode.unavailable.rawValue, decision: .unspecified, into: &scratch)
        }
    }

    /// Stops new calls (at the end of the run, or on Ctrl-C); calls out may still finish.
    public func stop() {
        if !self.stopped {
            self.stopped = true
            self.recorder.finishedConnections += 1
        }
    }

    // MARK: Sending

    private func startContact(intended: UInt64, now: UInt64, into out: inout ByteBuffer) {
        let plan = self.data.contact(for: self.scenario)
        self.send(ContactFlow.first(plan), plan: plan, intended: intended, contactIntended: intended, contactSent: now, now: now, into: &out)
    }

    private func send(
        _ method: Method, plan: ContactPlan, intended: UInt64, contactIntended: UInt64, contactSent: UInt64,
        now: UInt64, into out: inout ByteBuffer
    ) {
        if now >= self.end || self.lost { self.stop() }
        guard !self.stopped else { return }
        if case .closed(_, let quota?) = self.mode, now >= self.warmupEnd {
            guard self.measuredSends < quota else {
                self.stop()
                return
            }
            self.measuredSends += 1
        }
        let call = Pending(
            method: method, plan: plan, intended: intended, sent: now, contactIntended: contactIntended, contactSent: contactSent)
        // Given up past its timeout plus a grace for the server's own DEADLINE_EXCEEDED.
        guard let streamID = self.machine.start(call, deadline: now + self.timeoutNanos + 100_000_000) else { return }
        do {
            try self.writer.write(method, plan: plan, streamID: streamID, data: &self.data, into: &out)
        } catch {
            _ = self.machine.cancel(streamID: streamID)
            return  // the generator only makes valid messages; nothing to send
        }
        self.recorder.sent(lag: now > intended ? now - intended : 0)
    }

    private func finish(_ call: Pending, now: UInt64, code: UInt32, decision: EscalateDecision, into out: inout ByteBuffer) {
        self.recorder.completed(MetricKey(call.method), intended: call.intended, sent: call.sent, now: now, code: code)
        let next = code == 0 ? ContactFlow.next(after: call.method, decision: decision, plan: call.plan) : nil
        if let next, self.scenario == .contact, !self.stopped {
            self.send(
                next, plan: call.plan, intended: now, contactIntended: call.contactIntended, contactSent: call.contactSent,
                now: now, into: &out)
            return
        }
        if self.scenario == .contact {
            self.recorder.contactEnded(intended: call.contactIntended, sent: call.contactSent, now: now, code: code)
        }
        if case .closed = self.mode, !self.stopped {
            self.startContact(intended: now, now: now, into: &out)
        }
    }
}
