import ClaimlineClient
import ClaimlineCore
import ClaimlinePolicy
import ClaimlineStore
import Foundation
import Testing

/// The policy is data: an operator edits the file and sends SIGHUP, and the next escalation
/// follows the new rules without a restart or a dropped connection.
@Suite("Policy reload", .serialized)
struct PolicyReloadTests {
    @Test("SIGHUP reloads the policy file; the open connection keeps working; a broken file is refused")
    func sighup() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let policy = directory.path + "/policy.json"
        let original = try String(contentsOfFile: GoldenPaths.repositoryRoot + "/config/policy.json", encoding: .utf8)
        try original.write(toFile: policy, atomically: true, encoding: .utf8)
        let daemon = try Daemon(directory: directory, policyFile: policy)
        try await daemon.start()
        let connection = try await daemon.connect()

        #expect(try await connection.escalate(Requests.escalate(tier: .tier3)).decision == .firstLineConsultation)

        // The operator decides tier 3 goes to the second line too.
        let edited = original.replacingOccurrences(of: "\"value_tiers\": [3, 4]", with: "\"value_tiers\": [4]")
        #expect(edited != original)
        try edited.write(toFile: policy, atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        var decision = EscalateDecision.unspecified
        for _ in 0..<100 {
            decision = try await connection.escalate(Requests.escalate(tier: .tier3)).decision
            if decision == .transferToSecondLine { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(decision == .transferToSecondLine, "the reloaded policy was not applied")

        // A broken file is logged and refused: the policy in force stays.
        try "{ not json".write(toFile: policy, atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await connection.escalate(Requests.escalate(tier: .tier3)).decision == .transferToSecondLine)
        #expect(try await connection.escalate(Requests.escalate(tier: .tier4)).decision == .firstLineConsultation)
        await connection.close()
        #expect(try await daemon.terminate() == 0)
    }
}

/// ReloadPolicy: the same reload by call, with an answer, a role check and an audit record.
@Suite("Policy reload by call")
struct PolicyReloadCallTests {
    /// A policy file in a temporary folder, the server reading it through its loader.
    static func start(_ directory: TemporaryDirectory, backend: InMemoryStoreBackend) async throws -> (TestServer, String, String) {
        let path = directory.path + "/policy.json"
        let original = try String(contentsOfFile: GoldenPaths.repositoryRoot + "/config/policy.json", encoding: .utf8)
        try original.write(toFile: path, atomically: true, encoding: .utf8)
        let policy = try Policy.parse(Array(original.utf8))
        let server = try await TestServer.start(
            backend: backend, policy: policy,
            policyLoader: { try Policy.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path)))) }
        )
        return (server, path, original)
    }

    @Test("an admin reloads: the answer names the new policy, the next escalation follows it, the audit says who")
    func reload() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let backend = InMemoryStoreBackend()
        let (server, path, original) = try await Self.start(directory, backend: backend)
        let admin = try await server.connect(.admin)
        #expect(try await admin.escalate(Requests.escalate(tier: .tier3)).decision == .firstLineConsultation)
        let edited = original.replacingOccurrences(of: "\"value_tiers\": [3, 4]", with: "\"value_tiers\": [4]")
            .replacingOccurrences(of: "\"version\": \"2026-11-25\"", with: "\"version\": \"2026-12-01\"")
        try edited.write(toFile: path, atomically: true, encoding: .utf8)
        let answer = try await admin.call(
            .reloadPolicy, ReloadPolicyRequest(idempotencyKey: Requests.key()), as: ReloadPolicyResponse.self
        )
        #expect(answer.policyVersion == "2026-12-01")
        #expect(answer.previousPolicyVersion == "2026-11-25")
        #expect(answer.rules > 0)
        #expect(try await admin.escalate(Requests.escalate(tier: .tier3)).decision == .transferToSecondLine)
        let audit = try #require(backend.auditRecords().last { $0.method == "ReloadPolicy" })
        #expect(audit.clientName == "test-admin")
        #expect(audit.outcome.hasSuffix("@2026-12-01"))
        #expect(audit.detail.contains("2026-11-25"))
        await admin.close()
        try await server.stop()
    }

    @Test("a file that does not load: FAILED_PRECONDITION POLICY_INVALID naming why, the policy in force stays; other roles may not reload")
    func refused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let backend = InMemoryStoreBackend()
        let (server, path, _) = try await Self.start(directory, backend: backend)
        try "{ not json".write(toFile: path, atomically: true, encoding: .utf8)
        let admin = try await server.connect(.admin)
        let broken = await rpcError {
            _ = try await admin.call(.reloadPolicy, ReloadPolicyRequest(idempotencyKey: Requests.key()), as: ReloadPolicyResponse.self)
        }
        #expect(broken?.code == .failedPrecondition)
        #expect(broken?.reason == Reason.policyInvalid)
        #expect(broken?.message.contains("policy in force stays") == true)
        #expect(try await admin.escalate(Requests.escalate(tier: .tier3)).decision == .firstLineConsultation)
        let audit = try #require(backend.auditRecords().last { $0.method == "ReloadPolicy" })
        #expect(audit.outcome == "refused")
        #expect(audit.reason == Reason.policyInvalid)
        #expect(audit.detail.hasPrefix("kept=default@2026-11-25"))
        #expect(audit.clientName == "test-admin")
        for role in [Role.ivr, .agent, .supervisor] {
            let connection = try await server.connect(role)
            let denied = await rpcError {
                _ = try await connection.call(.reloadPolicy, ReloadPolicyRequest(idempotencyKey: Requests.key()), as: ReloadPolicyResponse.self)
            }
            #expect(denied?.code == .permissionDenied, "\(role)")
            await connection.close()
        }
        await admin.close()
        try await server.stop()
    }

    @Test("claimline policy reload, against claimlined: the new policy, or exit status 9 with the reason")
    func cli() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let policy = directory.path + "/policy.json"
        let original = try String(contentsOfFile: GoldenPaths.repositoryRoot + "/config/policy.json", encoding: .utf8)
        try original.replacingOccurrences(of: "\"version\": \"2026-11-25\"", with: "\"version\": \"v-cli\"")
            .write(toFile: policy, atomically: true, encoding: .utf8)
        let daemon = try Daemon(directory: directory, policyFile: policy)
        try await daemon.start()
        try original.write(toFile: policy, atomically: true, encoding: .utf8)
        let reload = try CLITests.run(["policy", "reload"], port: daemon.port)
        #expect(reload.status == 0, "\(reload.stderr)")
        #expect(reload.lines.first?.contains("2026-11-25") == true, "\(reload.stdout)")
        #expect(reload.lines.first?.contains("was default v-cli") == true, "\(reload.stdout)")
        try "[]".write(toFile: policy, atomically: true, encoding: .utf8)
        let broken = try CLITests.run(["policy", "reload"], port: daemon.port)
        #expect(broken.status == 9)
        #expect(broken.stderr.contains("policy in force stays"), "\(broken.stderr)")
        #expect(try await daemon.terminate() == 0)
    }
}
