import ClaimlineClient
import ClaimlineWire

/// Everything a run needs, already checked: the CLI builds one from flags (and a scenario
/// file), the tests build one directly.
public struct LoadConfiguration: Sendable {
    /// The instances to drive: connection i goes to address i mod n. With several, a connection
    /// whose instance dies reconnects to another and carries on; with one, it ends (as a run
    /// against a single server always did).
    public var targets: [LoadTarget]
    /// PROTOCOL.md 8.1's settings for choosing addresses: how long one that refused or dropped
    /// a connection is skipped (`suspectBase`, doubling with each failure in a row up to
    /// `suspectMax`) and the pause when every one is (`backoffInitial`, `backoffMax`).
    public var failover = FailoverSettings()
    public var token: String
    /// TLS for every connection; nil for plain TCP.
    public var tls: ClaimlineTLS?
    public var clientName: String
    public var scenario: Scenario
    public var connections: Int
    /// Closed loop when set: calls kept outstanding per connection.
    public var inFlight: Int?
    /// The timeline: warm-up and measured segments; its rates drive the open loop.
    public var plan: RatePlan
    /// Closed loop: stop after this many measured calls (all connections together).
    public var requests: Int?
    /// Sent as every REQUEST's deadline; answers later than this count as DEADLINE_EXCEEDED.
    public var timeoutMs: UInt32
    public var seed: UInt64
    /// Goes into call ids and idempotency keys so reruns and parallel processes never collide.
    public var runTag: String
    /// Event-loop threads (one is plenty for most runs, and keeps the harness's CPU small).
    public var threads: Int
    public var profile: SyntheticProfile
    public var serverPID: Int32?
    /// Print the per-second line on stderr.
    public var live: Bool

    public init(
        host: String = "127.0.0.1", port: Int = 7400, token: String = "dev-admin-token", clientName: String = "claimline-load",
        scenario: Scenario = .escalate, connections: Int = 4, inFlight: Int? = 256, plan: RatePlan = .closedLoop(warmup: 2, duration: 30),
        requests: Int? = nil, timeoutMs: UInt32 = 2000, seed: UInt64 = 1, runTag: String = "run", threads: Int = 1,
        profile: SyntheticProfile = SyntheticProfile(), serverPID: Int32? = nil, live: Bool = true
    ) {
        self.targets = [LoadTarget(host: host, port: port)]
        self.token = token
        self.clientName = clientName
        self.scenario = scenario
        self.connections = connections
        self.inFlight = inFlight
        self.plan = plan
        self.requests = requests
        self.timeoutMs = timeoutMs
        self.seed = seed
        self.runTag = runTag
        self.threads = threads
        self.profile = profile
        self.serverPID = serverPID
        self.live = live
    }

    public var isOpenLoop: Bool { self.inFlight == nil }

    /// The first target's host; setting it changes the first target (single-server callers).
    public var host: String {
        get { self.targets.first?.host ?? "127.0.0.1" }
        set { self.setFirstTarget(LoadTarget(host: newValue, port: self.port)) }
    }

    /// The first target's port; setting it changes the first target (single-server callers).
    public var port: Int {
        get { self.targets.first?.port ?? 7400 }
        set { self.setFirstTarget(LoadTarget(host: self.host, port: newValue)) }
    }

    /// The targets as the report names them: `a:7400,b:7400`.
    public var targetText: String { self.targets.map(\.description).joined(separator: ",") }

    private mutating func setFirstTarget(_ target: LoadTarget) {
        if self.targets.isEmpty { self.targets = [target] } else { self.targets[0] = target }
    }

    public func validate() throws(LoadConfigurationError) {
        guard !self.targets.isEmpty else { throw LoadConfigurationError("--server: give at least one host:port") }
        guard self.connections > 0 else { throw LoadConfigurationError("--connections must be at least 1") }
        guard self.threads > 0 else { throw LoadConfigurationError("--threads must be at least 1") }
        if let inFlight = self.inFlight, inFlight <= 0 { throw LoadConfigurationError("--in-flight must be at least 1") }
        guard self.plan.measuredSegments.contains(where: { $0.duration > 0 }) else {
            throw LoadConfigurationError("nothing to measure: give a positive --duration or --step-duration")
        }
        if self.isOpenLoop {
            guard self.plan.segments.allSatisfy({ $0.fromRate >= 0 && $0.toRate >= 0 }),
                self.plan.totalCalls > 0
            else { throw LoadConfigurationError("an open loop needs a positive rate") }
        }
        guard self.timeoutMs > 0 else { throw LoadConfigurationError("--timeout must be positive") }
        try self.profile.validate()
    }
}
