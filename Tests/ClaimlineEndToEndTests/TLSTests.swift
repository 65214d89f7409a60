import ClaimlineClient
import ClaimlineCore
import ClaimlineLoad
import ClaimlineServer
import ClaimlineTestSupport
import Foundation
import NIOCore
import NIOPosix
import Prometheus
import Testing

/// TLS on the service port, end to end over real TCP, with a throwaway CA and certificates made
/// by the openssl command-line tool at test time (tools/tls/make-certs.sh).
@Suite("TLS")
struct TLSTests {
    /// A fresh CA and certificates in a temporary folder.
    struct Certificates {
        let directory: TemporaryDirectory
        func path(_ name: String) -> String { self.directory.path + "/" + name }

        init() throws {
            self.directory = try TemporaryDirectory()
            try TestPostgres.run(TestPostgres.repositoryRoot + "/tools/tls/make-certs.sh", [self.directory.path])
        }

        func client(_ name: String? = nil, ca: String = "ca.pem", verifyHostname: Bool = true) throws -> ClaimlineTLS {
            try ClaimlineTLS(
                caFile: self.path(ca), certificateFile: name.map { self.path("\($0).pem") },
                privateKeyFile: name.map { self.path("\($0).key") }, verifyHostname: verifyHostname
            )
        }
    }

    static func start(
        _ certificates: Certificates, clientCA: Bool = true, require: Bool = false, serverCertificate: String = "server",
        registry: PrometheusCollectorRegistry? = nil
    ) async throws -> TestServer {
        let configuration = TestServer.configuration { configuration in
            configuration.tls = .init(
                certificateFile: certificates.path("\(serverCertificate).pem"), privateKeyFile: certificates.path("\(serverCertificate).key"),
                clientCAFile: clientCA ? certificates.path("ca.pem") : nil, requireClientCertificate: require
            )
            configuration.clients.append(
                .init(name: "ops-console", token: nil, role: .admin, certificateSubject: "CN=ops-console,O=Claimline Test")
            )
            configuration.clients.append(.init(name: "ivr-gateway", token: nil, role: .ivr, certificateSubject: "CN=ivr-gateway"))
        }
        #expect(configuration.problems().isEmpty)
        return try await TestServer.start(configuration: configuration, metricsFactory: registry.map { PrometheusMetricsFactory(registry: $0) })
    }

    @Test("a whole contact over TLS with a token, through the pooled client")
    func contactOverTLS() async throws {
        let certificates = try Certificates()
        defer { certificates.directory.remove() }
        let server = try await Self.start(certificates)
        var configuration = ClaimlineClientConfiguration(port: server.port, token: TestServer.tokens[.admin]!)
        configuration.tls = try certificates.client()
        let client = ClaimlineClient(configuration: configuration)
        let callID = "TLS-\(UUID().uuidString.prefix(8))"
        let decision = try await client.escalate(Requests.escalate(callID: callID))
        #expect(decision.decision == .transferToSecondLine)
        let retention = try await client.retain(Requests.retain(callID: callID, .impossible, reason: .longReview))
        #expect(retention.claimRequired)
        var draft = try #require(retention.draft)
        draft.description = "Списание средств во время блокировки (по TLS)."
        draft.idempotencyKey = Requests.key()
        let filed = try await client.fileComplaint(draft)
        #expect(!filed.claimNumber.isEmpty)
        await client.close()
        try await server.stop()
    }

    @Test("a client certificate stands for its configured client: empty token, the certificate's role")
    func certificateIdentity() async throws {
        let certificates = try Certificates()
        defer { certificates.directory.remove() }
        let server = try await Self.start(certificates)
        let admin = try await ClaimlineConnection.connect(
            host: "127.0.0.1", port: server.port, token: "", clientName: "console", tls: try certificates.client("admin")
        )
        #expect(admin.helloAck.role == Role.admin.rawValue)
        _ = try await admin.call(.getStats, GetStatsRequest(), as: GetStatsResponse.self)
        await admin.close()
        let ivr = try await ClaimlineConnection.connect(
            host: "127.0.0.1", port: server.port, token: "", clientName: "gw", tls: try certificates.client("ivr")
        )
        #expect(ivr.helloAck.role == Role.ivr.rawValue)
        await ivr.close()
        // The ivr certificate with the admin's token: one connection, one identity.
        await #expect(throws: RPCError.self) {
            _ = try await ClaimlineConnection.connect(
                host: "127.0.0.1", port: server.port, token: TestServer.tokens[.admin]!, clientName: "gw", tls: try certificates.client("ivr")
            )
        }
        // A valid certificate no client is configured with: its token decides, and without one it is refused.
        let stranger = try await ClaimlineConnection.connect(
            host: "127.0.0.1", port: server.port, token: TestServer.tokens[.agent]!, clientName: "s", tls: try certificates.client("stranger")
        )
        #expect(stranger.helloAck.role == Role.agent.rawValue)
        await stranger.close()
        let refused = await Self.error {
            _ = try await ClaimlineConnection.connect(
                host: "127.0.0.1", port: server.port, token: "", clientName: "s", tls: try certificates.client("stranger")
            )
        }
        #expect(refused?.code == .unauthenticated)
        try await server.stop()
    }

    @Test("required client certificates: none, or one from another CA, fails the handshake")
    func requiredCertificate() async throws {
        let certificates = try Certificates()
        defer { certificates.directory.remove() }
        let registry = PrometheusCollectorRegistry()
        let server = try await Self.start(certificates, require: true, registry: registry)
        for name in [nil, "rogue"] as [String?] {
            let started = ContinuousClock.now
            let error = await Self.error {
                _ = try await ClaimlineConnection.connect(
                    host: "127.0.0.1", port: server.port, token: TestServer.tokens[.admin]!, clientName: "x",
                    connectTimeout: .seconds(5), tls: try certificates.client(name)
                )
            }
            #expect(error?.code == .unavailable, "\(name ?? "no certificate"): \(String(describing: error))")
            #expect(ContinuousClock.now - started < .seconds(4), "refused at the handshake, not by a timeout")
        }
        let admin = try await ClaimlineConnection.connect(
            host: "127.0.0.1", port: server.port, token: "", clientName: "console", tls: try certificates.client("admin")
        )
        #expect(admin.helloAck.role == Role.admin.rawValue)
        await admin.close()
        try await server.stop()
        // Both refusals counted as TLS handshake failures.
        var text: [UInt8] = []
        registry.emit(into: &text)
        #expect(PrometheusText.samples(String(decoding: text, as: UTF8.self))[#"claimline_handshake_failures_total{reason="TLS_HANDSHAKE"}"#] == 2)
    }

    @Test("a plain client on the TLS port is told TLS_REQUIRED at once; a TLS client on a plain port fails fast")
    func plainAgainstTLS() async throws {
        let certificates = try Certificates()
        defer { certificates.directory.remove() }
        let server = try await Self.start(certificates)
        let started = ContinuousClock.now
        let error = await Self.error {
            _ = try await ClaimlineConnection.connect(host: "127.0.0.1", port: server.port, token: TestServer.tokens[.admin]!, clientName: "plain")
        }
        #expect(error?.code == .failedPrecondition)
        #expect(error?.reason == Reason.tlsRequired)
        #expect(ContinuousClock.now - started < .seconds(2))
        try await server.stop()

        let plain = try await TestServer.start()
        let started2 = ContinuousClock.now
        let error2 = await Self.error {
            _ = try await ClaimlineConnection.connect(
                host: "127.0.0.1", port: plain.port, token: TestServer.tokens[.admin]!, clientName: "tls", tls: try certificates.client()
            )
        }
        #expect(error2?.code == .unavailable)
        #expect(ContinuousClock.now - started2 < .seconds(2))
        try await plain.stop()
    }

    @Test("the client verifies the server: another CA, or another name, is refused")
    func serverVerification() async throws {
        let certificates = try Certificates()
        defer { certificates.directory.remove() }
        let server = try await Self.start(certificates)
        let wrongCA = await Self.error {
            _ = try await ClaimlineConnection.connect(
                host: "127.0.0.1", port: server.port, token: TestServer.tokens[.admin]!, clientName: "x",
                tls: try certificates.client(ca: "rogue-ca.pem")
            )
        }
        #expect(wrongCA?.code == .unavailable)
        try await server.stop()
        // A certificate for the name localhost only (NIOSSL also accepts an IP address SAN that
        // matches the socket, whatever name was asked, so this one has none).
        let named = try await Self.start(certificates, serverCertificate: "named")
        let wrongName = await Self.error {
            _ = try await ClaimlineConnection.connect(
                host: "127.0.0.1", port: named.port, token: TestServer.tokens[.admin]!, clientName: "x",
                tls: try ClaimlineTLS(caFile: certificates.path("ca.pem"), serverName: "claimline.example")
            )
        }
        #expect(wrongName?.code == .unavailable)
        // localhost is in the certificate: verified by name too.
        let connection = try await ClaimlineConnection.connect(
            host: "127.0.0.1", port: named.port, token: TestServer.tokens[.admin]!, clientName: "x",
            tls: try ClaimlineTLS(caFile: certificates.path("ca.pem"), serverName: "localhost")
        )
        await connection.close()
        try await named.stop()
    }

    @Test("the CLI completes a contact over TLS, and with a client certificate needs no token")
    func cliOverTLS() async throws {
        let certificates = try Certificates()
        defer { certificates.directory.remove() }
        let server = try await Self.start(certificates)
        let tls = ["--tls-ca", certificates.path("ca.pem")]
        let callID = "UCID-TLS-CLI-\(UUID().uuidString.prefix(6))"
        let escalate = try CLITests.run(
            ["escalate", "--call-id", callID, "--msisdn", CLITests.msisdn, "--tier", "2", "--region", "77", "--category", "billing/balance_desync"]
                + tls,
            port: server.port
        )
        #expect(escalate.status == 0, "\(escalate.stderr)")
        let retain = try CLITests.run(["retain", "--call-id", callID, "--outcome", "impossible", "--reason", "long_review"] + tls, port: server.port)
        #expect(retain.status == 0, "\(retain.stderr)")
        let file = try CLITests.run(
            [
                "file", "--call-id", callID, "--category", "billing/balance_desync", "--msisdn", CLITests.msisdn,
                "--description", "Баланс не совпадает", "--reason", "long_review", "--json",
            ] + tls,
            port: server.port
        )
        #expect(file.status == 0, "\(file.stderr)")
        #expect((file.json?["claimNumber"] as? String)?.isEmpty == false)
        // mTLS: the certificate is the identity (admin), no token at all.
        let stats = try CLITests.run(
            ["stats"] + tls + ["--tls-cert", certificates.path("admin.pem"), "--tls-key", certificates.path("admin.key")], port: server.port,
            token: ""
        )
        #expect(stats.status == 0, "\(stats.stderr)")
        // Plain CLI on the TLS port: exit status 9 (FAILED_PRECONDITION), TLS_REQUIRED named.
        let plain = try CLITests.run(["stats"], port: server.port)
        #expect(plain.status == 9, "\(plain.stderr)")
        #expect(plain.stderr.contains("FAILED_PRECONDITION: this port speaks TLS"), "\(plain.stderr)")
        try await server.stop()
    }

    @Test("the load harness drives contacts over TLS")
    func harnessOverTLS() async throws {
        let certificates = try Certificates()
        defer { certificates.directory.remove() }
        let server = try await Self.start(certificates)
        var config = LoadConfiguration(
            token: TestServer.tokens[.admin]!, scenario: .contact, connections: 2, inFlight: 8,
            plan: .closedLoop(warmup: 0, duration: 30), requests: 400, timeoutMs: 5000, seed: 3,
            runTag: "tls-" + UUID().uuidString.prefix(8).lowercased(), live: false
        )
        config.targets = [LoadTarget(host: "127.0.0.1", port: server.port)]
        config.tls = try certificates.client()
        let result = try await LoadRunner(configuration: config).run()
        let calls = result.total.methods.reduce(0) { $0 + $1.count }
        let ok = result.total.methods.reduce(0) { $0 + $1.ok }
        #expect(calls >= 400)
        #expect(ok == calls, "\(result.total.methods.map { ($0.name, $0.errors) })")
        try await server.stop()
    }

    @Test("a configuration with a bad TLS file does not start, and says which file")
    func badFiles() throws {
        #expect(throws: TLSSetupError.self) {
            _ = try ServerTLS(.init(certificateFile: "/nonexistent/server.pem", privateKeyFile: "/nonexistent/server.key"))
        }
        var configuration = TestServer.configuration()
        configuration.clients.append(.init(name: "cert", token: nil, role: .admin, certificateSubject: "O=no common name"))
        #expect(configuration.problems().contains { $0.contains("certificateSubject") })
    }

    static func error(_ body: () async throws -> Void) async -> RPCError? { await rpcError(body) }
}
