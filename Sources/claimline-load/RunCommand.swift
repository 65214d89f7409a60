import ArgumentParser
import ClaimlineClient
import ClaimlineLoad
import Foundation

/// Drives load at a claimlined and reports what it measured.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a load test (the default command)."
    )

    @Option(
        name: .long,
        help: ArgumentHelp(
            "claimlined's address, host:port; or several instances, comma-separated (a:7400,b:7400).",
            discussion: "Connection i goes to address i mod n; when an instance dies its connections reconnect to the next address and carry on."
        )
    )
    var server = "127.0.0.1:7400"
    @Option(
        name: .long,
        help: ArgumentHelp(
            "With several --server addresses: how long one that refused or dropped a connection is first skipped.",
            discussion: "PROTOCOL.md 8.1's suspect_base: it doubles with each failure in a row, up to 5 s."
        )
    )
    var failoverBackoff = "0.5s"
    @Option(name: .long, help: "TLS: the CA file (PEM) the server's certificate must chain to; turns TLS on.")
    var tlsCa: String?

    @Option(name: .long, help: "TLS: a client certificate (PEM) for mTLS (with --tls-key; --token may then be empty).")
    var tlsCert: String?

    @Option(name: .long, help: "TLS: the client certificate's key (PEM).")
    var tlsKey: String?

    @Option(name: .long, help: "TLS: verify the server as this name instead of --server's host.")
    var tlsServerName: String?

    @Option(name: .long, help: "HELLO token (its role must allow the scenario's methods).")
    var token = "dev-admin-token"
    @Option(name: .long, help: "escalate | contact | file.")
    var scenario: String?
    @Option(name: .long, help: "JSON scenario file (docs/LOAD.md); flags override it.")
    var scenarioFile: String?

    @Option(name: .long, help: "TCP connections.")
    var connections = 4
    @Option(name: .long, help: "Closed loop: calls kept outstanding per connection.")
    var inFlight: Int?
    @Option(name: .long, help: "Open loop: calls (contacts) per second, spread over the connections.")
    var rate: Double?
    @Option(name: .long, help: "Open loop in steps, e.g. 10000,20000,40000 (each --step-duration long).")
    var rateSteps: String?
    @Option(name: .long, help: "Open loop ramp FROM:TO over --duration, reported in --step-duration pieces.")
    var ramp: String?
    @Option(name: .long, help: "Length of each rate step or ramp piece.")
    var stepDuration = "10s"
    @Option(name: .long, help: "Measured duration (after the warm-up).")
    var duration = "30s"
    @Option(name: .long, help: "Measured calls instead of a duration.")
    var requests: Int?
    @Option(name: .long, help: "Warm-up, excluded from every figure.")
    var warmup = "2s"
    @Option(name: .long, help: "Per-call deadline, sent with each REQUEST; later answers are DEADLINE_EXCEEDED.")
    var timeout = "2s"
    @Option(name: .long, help: "Seed of the synthetic data.")
    var seed: UInt64?
    @Option(name: .long, help: "Tag in call ids and idempotency keys (default: time and pid, unique per run).")
    var runId: String?
    @Option(name: .long, help: "Event-loop threads.")
    var threads = 1

    @Option(name: .long, help: "Value tiers, e.g. 1:0.1,2:0.4,3:0.3,4:0.2.")
    var tiers: String?
    @Option(name: .long, help: "Regions, e.g. 77:0.5,50:0.3,54:0.2.")
    var regions: String?
    @Option(name: .long, help: "Categories, e.g. billing/balance_desync:0.3,shop:0.2 (a bare group spreads over its categories).")
    var categories: String?
    @Option(name: .long, help: "Contact scenario: share of retentions that are IMPOSSIBLE (a claim follows).")
    var retainImpossible: Double?
    @Option(name: .long, help: "Contact scenario: share of retentions the subscriber DECLINED.")
    var retainDeclined: Double?
    @Option(name: .long, help: "Contact scenario: share of contacts that are QoS claims filed directly.")
    var directFile: Double?

    @Option(name: .long, help: "Sample this server process's CPU and RSS (/proc) over the measured window.")
    var serverPid: Int32?
    @Flag(name: .long, help: "No per-second line on stderr.")
    var quiet = false
    @OptionGroup var outputs: OutputOptions

    /// The work; main.swift calls it (an async `run()` lost its witness to the sync default).
    func execute() async throws {
        let config: LoadConfiguration
        do {
            config = try self.makeConfiguration()
            try config.validate()
        } catch let error as LoadConfigurationError {
            throw ValidationError(error.message)
        }
        let runner = LoadRunner(configuration: config) { printError($0) }
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT)
        source.setEventHandler {
            printError("interrupted: stopping, the report covers what was measured")
            runner.requestStop()
        }
        source.resume()
        let result = try await runner.run()
        source.cancel()
        print(result.table(), terminator: "")
        try outputs.write(result)
    }

    func makeConfiguration() throws -> LoadConfiguration {
        let file = try scenarioFile.map { try ScenarioFile.load(path: $0) }
        var profile = try (file ?? ScenarioFile()).apply(to: SyntheticProfile())
        if let tiers { profile.tiers = try SyntheticProfile.parseTiers(tiers) }
        if let regions { profile.regions = try SyntheticProfile.parseRegions(regions) }
        if let categories {
            profile.categories = try SyntheticProfile.parseCategories(categories)
            profile.directCategories = SyntheticProfile.qualityOfService(from: profile.categories)
        }
        if let retainImpossible { profile.retainImpossible = retainImpossible }
        if let retainDeclined { profile.retainDeclined = retainDeclined }
        if let directFile { profile.directFile = directFile }

        let scenarioName = scenario ?? file?.scenario ?? "escalate"
        guard let scenario = Scenario(rawValue: scenarioName) else {
            throw LoadConfigurationError("--scenario must be escalate, contact or file, not '\(scenarioName)'")
        }
        let targets: [LoadTarget]
        do {
            targets = try LoadTarget.list(self.server)
        } catch {
            throw LoadConfigurationError("--server: expected host:port or a comma-separated list of them: \(error)")
        }
        let backoff = try DurationText.seconds(self.failoverBackoff)

        let warmup = try DurationText.seconds(self.warmup)
        var duration = try DurationText.seconds(self.duration)
        let step = try DurationText.seconds(self.stepDuration)
        let openModes = [rate != nil, rateSteps != nil, ramp != nil].filter { $0 }.count
        guard openModes <= 1 else { throw LoadConfigurationError("give one of --rate, --rate-steps, --ramp") }
        guard openModes == 0 || inFlight == nil else { throw LoadConfigurationError("--in-flight is closed loop; --rate and friends are open loop") }

        let plan: RatePlan
        var inFlight: Int? = self.inFlight
        var requests: Int? = nil
        if let rate {
            if let count = self.requests { duration = Double(count) / rate }
            plan = .steps([rate], stepDuration: duration, warmup: warmup)
        } else if let rateSteps {
            let rates = rateSteps.split(separator: ",").compactMap { Double($0) }
            guard !rates.isEmpty, rates.count == rateSteps.split(separator: ",").count else {
                throw LoadConfigurationError("--rate-steps: a comma-separated list of rates")
            }
            plan = .steps(rates, stepDuration: step, warmup: warmup)
        } else if let ramp {
            let ends = ramp.split(separator: ":").compactMap { Double($0) }
            guard ends.count == 2 else { throw LoadConfigurationError("--ramp FROM:TO, e.g. 10000:60000") }
            plan = .ramp(from: ends[0], to: ends[1], duration: duration, pieceDuration: step, warmup: warmup)
        } else {
            inFlight = inFlight ?? 256
            if let count = self.requests {
                requests = count
                duration = max(duration, 24 * 3600)  // the quota ends the run
            }
            plan = .closedLoop(warmup: warmup, duration: duration)
        }
        let timeoutSeconds = try DurationText.seconds(self.timeout)
        var configuration = LoadConfiguration(
            token: token, scenario: scenario, connections: connections, inFlight: inFlight,
            plan: plan, requests: requests, timeoutMs: UInt32(max(1, (timeoutSeconds * 1000).rounded())),
            seed: seed ?? file?.seed ?? 1,
            runTag: runId ?? String(UInt64(Date().timeIntervalSince1970 * 1000), radix: 36) + "p\(getpid())",
            threads: threads, profile: profile, serverPID: serverPid, live: !quiet
        )
        configuration.targets = targets
        if self.tlsCa != nil || self.tlsCert != nil || self.tlsServerName != nil {
            guard (self.tlsCert == nil) == (self.tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
            do {
                configuration.tls = try ClaimlineTLS(
                    caFile: self.tlsCa, certificateFile: self.tlsCert, privateKeyFile: self.tlsKey, serverName: self.tlsServerName
                )
            } catch {
                throw ValidationError("--tls: \(error)")
            }
        }
        configuration.failover.suspectBase = .milliseconds(Int64(max(0, min(Double(UInt32.max), (backoff * 1000).rounded()))))
        configuration.failover.suspectMax = max(configuration.failover.suspectMax, configuration.failover.suspectBase)
        return configuration
    }
}
