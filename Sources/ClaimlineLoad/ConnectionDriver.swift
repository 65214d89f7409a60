import ClaimlineCore
import ClaimlineWire
import NIOCore

/// The logic of one load connection: what to send when, and what each answer means. The NIO
/// handler only feeds it frames and clock readings and writes out the buffer it fills, so all
/// the bookkeeping is in one place and the buffer is flushed once per batch of sends.
///
/// With ``failover`` on (a run against several instances) it outlives its TCP connection:
/// when the instance dies or says GOAWAY the driver pauses (the calls out on it end as errors
/// by code, new calls wait), and on the next connection's HELLO_ACK it resumes where it was —
/// the open-loop timeline keeps its intended times, so calls due during the outage go out late
/// and their latency counts from when they were due.
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
    /// Reconnect and carry on when the connection goes, instead of ending (several targets).
    public var failover = false
    /// The target index the current connection goes to: where its calls are counted.
    public var target = 0
    /// No connection to send on: lost (waiting for a reconnect) or draining after a GOAWAY.
    public private(set) var paused = false
    /// A contact's next call that came due while paused: sent first on the next connection.
    private var heldCalls: [(method: Method, plan: ContactPlan, intended: UInt64, contactIntended: UInt64, contactSent: UInt64)] = []
    /// When the last outage ended: calls due before it went out late because there was no
    /// connection, not because the harness fell behind, so their lag is not the scheduler's.
    private var outageEnd: UInt64 = 0
    private var started = false

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
    /// Paused after a GOAWAY with nothing left to wait for on this connection: close it, so
    /// that the next one is opened.
    public var isDrained: Bool { self.failover && self.paused && self.machine.inFlight == 0 }

    /// Starts the run at `t0` (uptime ns); closed loop fills its window at once (or, paused,
    /// holds it for the next connection).
    public func start(t0: UInt64, now: UInt64, into out: inout ByteBuffer) {
        self.started = true
        self.t0 = t0
        self.end = t0 + OpenLoopSchedule.nanos(self.recorder.plan.totalDuration)
        self.warmupEnd = t0 + OpenLoopSchedule.nanos(self.recorder.plan.warmup)
        if case .closed(let window, _) = self.mode {
            for _ in 0..<window where !self.stopped { self.startContact(intended: now, now: now, into: &out) }
        }
    }

    /// Open loop: sends every call already due; returns when the next one is due (uptime ns).
    /// Paused, it sends nothing and the due calls keep their intended times for ``resume``.
    public func sendDue(now: UInt64, into out: inout ByteBuffer) -> UInt64? {
        guard case .open(var schedule) = self.mode, !self.paused else { return nil }
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
    /// With failover the driver only pauses: the calls at or below it may still be answered,
    /// then the connection closes and the next one resumes.
    public func goAway(_ frame: Frame, lastStreamID: UInt32, now: UInt64) {
        if self.failover && !self.stopped { self.paused = true } else { self.stop() }
        var scratch = ByteBuffer()
        guard case .goingAway(let unprocessed) = self.machine.receive(frame, goAwayLastStreamID: lastStreamID) else { return }
        for (_, call) in unprocessed {
            self.finish(call, now: now, code: StatusCode.unavailable.rawValue, decision: .unspecified, into: &scratch)
        }
    }

    /// The connection closed: every call still out failed with UNAVAILABLE. With failover the
    /// driver pauses for the next connection; without, it is finished.
    public func connectionLost(now: UInt64) {
        guard !self.lost else { return }
        if self.failover && !self.stopped {
            self.paused = true
        } else {
            self.stop()
            self.lost = true
        }
        var scratch = ByteBuffer()
        for (_, call) in self.machine.closed() {
            self.finish(call, now: now, code: StatusCode.unavailable.rawValue, decision: .unspecified, into: &scratch)
        }
    }

    /// A new connection completed its handshake: fresh stream ids, nothing in flight on it.
    public func attach() {
        self.machine = ClientConnectionMachine()
        self.paused = false
    }

    /// After a reconnect mid-run: the contacts' held calls go first, the closed loop refills its
    /// window, and (through the handler's next tick) the open loop sends what came due.
    public func resume(now: UInt64, into out: inout ByteBuffer) {
        guard self.started, !self.stopped else { return }
        self.outageEnd = now
        let held = self.heldCalls
        self.heldCalls.removeAll()
        for call in held {
            self.send(
                call.method, plan: call.plan, intended: call.intended, contactIntended: call.contactIntended, contactSent: call.contactSent,
                now: now, into: &out)
        }
        if case .closed(let window, _) = self.mode {
            for _ in self.machine.inFlight..<max(window, self.machine.inFlight) where !self.stopped {
                self.startContact(intended: now, now: now, into: &out)
            }
        }
    }

    /// The run ended while this connection had none to send on: the calls the open-loop
    /// timeline had due meanwhile never went out. They count as UNAVAILABLE from their intended
    /// time, like the calls lost in flight, so an outage is not a gap in the report.
    public func abandonDue(now: UInt64) {
        guard self.started, case .open(var schedule) = self.mode else { return }
        let limit = min(now, self.end)
        while let due = schedule.nextDue, self.t0 + due <= limit {
            _ = schedule.advance()
            let plan = self.data.contact(for: self.scenario)
            let intended = self.t0 + due
            self.recorder.unsent(MetricKey(ContactFlow.first(plan)), intended: intended, now: now, code: StatusCode.unavailable.rawValue)
            if self.scenario == .contact {
                self.recorder.contactEnded(intended: intended, sent: intended, now: now, code: StatusCode.unavailable.rawValue)
            }
        }
        self.mode = .open(schedule)
        self.heldCalls.removeAll()
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
        // A call belongs to the run by when it was due, not when a tick got to it: on a busy
        // machine the last tick may run after the end, and the calls it finds due still go
        // out (late, their latency counted from when they were due) instead of vanishing.
        if intended >= self.end || self.lost { self.stop() }
        guard !self.stopped else { return }
        if self.paused {
            self.heldCalls.append((method, plan, intended, contactIntended, contactSent))
            return
        }
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
        self.recorder.sent(lag: now > intended && intended >= self.outageEnd ? now - intended : 0)
    }

    private func finish(_ call: Pending, now: UInt64, code: UInt32, decision: EscalateDecision, into out: inout ByteBuffer) {
        self.recorder.completed(MetricKey(call.method), intended: call.intended, sent: call.sent, now: now, code: code)
        self.recorder.served(target: self.target, code: code)
        let next = code == 0 ? ContactFlow.next(after: call.method, decision: decision, plan: call.plan) : nil
        if let next, self.scenario == .contact, !self.stopped {
            self.send(
                next, plan: ContactFlow.plan(after: call.method, decision: decision, plan: call.plan), intended: now,
                contactIntended: call.contactIntended, contactSent: call.contactSent, now: now, into: &out)
            return
        }
        if self.scenario == .contact {
            self.recorder.contactEnded(intended: call.contactIntended, sent: call.contactSent, now: now, code: code)
        }
        // Paused, a new contact would only be held: ``resume`` refills the window instead.
        if case .closed = self.mode, !self.stopped, !self.paused {
            self.startContact(intended: now, now: now, into: &out)
        }
    }
}
