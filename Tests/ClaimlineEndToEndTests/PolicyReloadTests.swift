import ClaimlineClient
import ClaimlineCore
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
