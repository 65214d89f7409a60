import ClaimlineClient
import ClaimlineCodec
import ClaimlineCore
import Testing

/// Each role against each method: allowed ones get past authorisation (whatever they answer
/// next), the others get PERMISSION_DENIED on their stream and the connection lives.
@Suite("Roles", .serialized)
struct AuthorizationTests {
    @Test("The role matrix of PROTOCOL.md 3.2", arguments: Role.allCases)
    func matrix(role: Role) async throws {
        let server = try await TestServer.start()
        let connection = try await server.connect(role)
        for method in Method.allCases {
            let error = await rpcError {
                _ = try await connection.callRaw(method.rawValue, timeout: .seconds(2)) { _, _ in 0 }
            }
            if role.mayCall(method) {
                #expect(error?.code != .permissionDenied, "\(role) should be allowed \(method.name)")
            } else {
                #expect(error?.code == .permissionDenied, "\(role) should be denied \(method.name)")
            }
        }
        // Still usable after the refusals.
        _ = try await connection.call(.getSecondLineMode, GetSecondLineModeRequest(), as: SecondLineModeResponse.self)
        await connection.close()
        try await server.stop()
    }

    @Test("The matrix itself: ivr escalates, agents retain and file, supervisors steer, admin does all")
    func expectations() {
        #expect(Role.ivr.mayCall(.escalate) && !Role.ivr.mayCall(.fileComplaint))
        #expect(Role.agent.mayCall(.retain) && Role.agent.mayCall(.fileComplaint) && !Role.agent.mayCall(.escalate))
        #expect(Role.supervisor.mayCall(.declareIncident) && Role.supervisor.mayCall(.updateClaimStatus) && !Role.supervisor.mayCall(.fileComplaint))
        #expect(Method.allCases.allSatisfy { Role.admin.mayCall($0) })
        for role in Role.allCases { #expect(role.mayCall(.getClaim) && role.mayCall(.getStats)) }
    }
}
