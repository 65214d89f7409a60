import ClaimlineCore
import CoreMetrics
import NIOConcurrencyHelpers

/// Every metric claimlined records, made once through swift-metrics (whatever backend the
/// executable bootstrapped: Prometheus in claimlined, nothing in most tests).
///
/// Labels are few and fixed: method names, status codes, reasons and the policy's rule names,
/// all from the server's own tables, never from what a peer sends (an id, a token, a client
/// string or a phone number would make a series per caller). The hot path touches only
/// objects made here at start (an array index per method and code), never a dictionary.
public final class ServerMetrics: Sendable {
    /// Calls answered, by method and status code: `claimline_calls_total`.
    private let calls: [[Counter]]
    /// From the REQUEST frame read to the answer written: `claimline_call_duration_seconds`.
    private let durations: [Timer]
    /// Requests for a method number the server does not have.
    private let unknownMethodCalls: [Counter]
    let connectionsOpen: Meter
    let connectionsAccepted: Counter
    let streamsInFlight: Meter
    let batchSize: Recorder
    let commitDuration: Timer
    let queueDepth: Meter
    private let refusals: [String: Counter]
    private let handshakeFailures: [String: Counter]
    private let storeFailures: [String: Counter]
    private let claimsFiled: [ClaimGroup: Counter]
    /// By (outcome, reason): made at start, the enums are the server's.
    private let retentions: [RetentionKey: Counter]
    /// By (decision, rule): the rules come from the policy file, which a reload may change,
    /// so these are made on first use.
    private let decisions = NIOLockedValueBox([DecisionKey: Counter]())
    private let factory: any MetricsFactory

    public static let codes = (0...16).map { StatusCode(rawValue: UInt32($0)) }

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        let methods = Method.allCases
        let slots = Int(methods.map(\.rawValue).max() ?? 0) + 1
        var calls: [[Counter]] = Array(repeating: [], count: slots)
        var durations: [Timer] = []
        for slot in 0..<slots {
            let name = Method(rawValue: UInt16(slot))?.name ?? "unknown"
            calls[slot] = Self.codes.map {
                Counter(label: "claimline_calls_total", dimensions: [("method", name), ("code", $0.description)], factory: factory)
            }
            durations.append(Timer(label: "claimline_call_duration_seconds", dimensions: [("method", name)], factory: factory))
        }
        self.calls = calls
        self.durations = durations
        self.unknownMethodCalls = Self.codes.map {
            Counter(label: "claimline_calls_total", dimensions: [("method", "unknown"), ("code", $0.description)], factory: factory)
        }
        self.connectionsOpen = Meter(label: "claimline_connections_open", factory: factory)
        self.connectionsAccepted = Counter(label: "claimline_connections_accepted_total", factory: factory)
        self.streamsInFlight = Meter(label: "claimline_streams_in_flight", factory: factory)
        self.batchSize = Recorder(label: "claimline_writer_batch_size", factory: factory)
        self.commitDuration = Timer(label: "claimline_writer_commit_seconds", factory: factory)
        self.queueDepth = Meter(label: "claimline_writer_queue_depth", factory: factory)
        func table(_ label: String, _ name: String, _ values: [String]) -> [String: Counter] {
            Dictionary(uniqueKeysWithValues: values.map { ($0, Counter(label: label, dimensions: [(name, $0)], factory: factory)) })
        }
        self.refusals = table(
            "claimline_connections_refused_total", "reason",
            [
                Reason.tooManyConnections, Reason.tooManyConnectionsFromAddress, Reason.tooManyConnectionsForClient,
                Reason.handshakeEvicted,
            ]
        )
        self.handshakeFailures = table("claimline_handshake_failures_total", "reason", Self.handshakeReasons)
        self.storeFailures = table("claimline_store_failures_total", "kind", StoreFailure.allCases.map(\.rawValue))
        self.claimsFiled = Dictionary(
            uniqueKeysWithValues: ClaimGroup.allCases.filter { $0 != .unspecified }.map {
                ($0, Counter(label: "claimline_claims_filed_total", dimensions: [("group", Self.short($0.protoName))], factory: factory))
            }
        )
        var retentions: [RetentionKey: Counter] = [:]
        for outcome in RetentionOutcome.allCases where outcome != .unspecified {
            let reasons = outcome == .impossible ? RetentionFailureReason.allCases.filter { $0 != .unspecified } : [.unspecified]
            for reason in reasons {
                let reasonName = reason == .unspecified ? "" : Self.short(reason.protoName)
                retentions[RetentionKey(outcome: outcome, reason: reason)] = Counter(
                    label: "claimline_retention_outcomes_total",
                    dimensions: [("outcome", Self.short(outcome.protoName)), ("reason", reasonName)], factory: factory
                )
            }
        }
        self.retentions = retentions
    }

    /// Why a connection failed before HELLO_ACK.
    static let handshakeReasons = [
        Reason.unauthenticated, Reason.handshakeTimeout, Reason.badPreface, Reason.unsupportedVersion, Reason.protocolError,
        Reason.frameTooLarge, Reason.invalidClientName, Reason.tlsRequired, "TLS_HANDSHAKE",
    ]

    /// How the store failed.
    enum StoreFailure: String, CaseIterable {
        /// A batch rolled back (or a commit refused): writes refused until the store is back.
        case batch
        /// A commit's outcome is unknown (its sync failed or its answer was lost).
        case commitOutcomeUnknown = "commit_outcome_unknown"
        /// Reopening the store after a failure failed again.
        case reopen
        /// A read failed.
        case read
    }

    // MARK: - Recording

    /// One call answered (from the connection's event loop).
    @inline(__always)
    func call(method: UInt16, code: StatusCode, startedNanos: Int64, nowNanos: Int64) {
        let slot = Int(method)
        let codeIndex = Int(min(code.rawValue, 16))
        if slot < self.calls.count {
            self.calls[slot][codeIndex].increment()
            self.durations[slot].recordNanoseconds(max(0, nowNanos - startedNanos))
        } else {
            self.unknownMethodCalls[codeIndex].increment()
        }
    }

    func refused(_ reason: String) { self.refusals[reason]?.increment() }

    func handshakeFailed(_ reason: String) {
        (self.handshakeFailures[reason] ?? self.handshakeFailures[Reason.protocolError])?.increment()
    }

    func storeFailed(_ kind: StoreFailure) { self.storeFailures[kind.rawValue]?.increment() }

    /// The counters' keys: the enums themselves, so recording builds no string.
    private struct RetentionKey: Hashable {
        var outcome: RetentionOutcome
        /// `.unspecified` unless the outcome is IMPOSSIBLE.
        var reason: RetentionFailureReason
    }

    private struct DecisionKey: Hashable {
        var decision: EscalateDecision
        var rule: String
    }

    /// What the writes of a durable batch did in the domain: one lock for the batch's
    /// decisions, no string built per event.
    func record(_ events: [DomainEvent]) {
        for event in events {
            switch event {
            case .escalated:
                break
            case .retained(let outcome, let reason):
                self.retentions[RetentionKey(outcome: outcome, reason: outcome == .impossible ? reason : .unspecified)]?.increment()
            case .filed(let group):
                self.claimsFiled[group]?.increment()
            }
        }
        self.decisions.withLockedValue { table in
            for case .escalated(let decision, let rule) in events {
                let key = DecisionKey(decision: decision, rule: rule)
                if let counter = table[key] {
                    counter.increment()
                } else {
                    let counter = Counter(
                        label: "claimline_escalate_decisions_total",
                        dimensions: [("decision", Self.short(decision.protoName)), ("rule", rule)], factory: self.factory
                    )
                    table[key] = counter
                    counter.increment()
                }
            }
        }
    }

    /// An enum value's name without its type's prefix: `IMPOSSIBLE`, not `RETENTION_OUTCOME_IMPOSSIBLE`.
    static func short(_ protoName: String) -> String {
        for prefix in ["ESCALATE_DECISION_", "RETENTION_OUTCOME_", "RETENTION_FAILURE_REASON_", "CLAIM_GROUP_"]
        where protoName.hasPrefix(prefix) {
            return String(protoName.dropFirst(prefix.count))
        }
        return protoName
    }
}
