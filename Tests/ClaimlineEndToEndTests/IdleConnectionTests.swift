import ClaimlineLoad
import Foundation
import Testing

/// `claimline-load idle` (issue 14) against a real server over TCP: the connections it opens
/// authenticate, answer keepalive PINGs and stay open for the hold; refusals are counted by
/// their GOAWAY reason; the JSON carries every figure the bench scripts read.
@Suite("Idle connections", .serialized)
struct IdleConnectionTests {
    static func settings(port: Int, connections: Int, hold: Duration) -> IdleHolder.Settings {
        var settings = IdleHolder.Settings(
            host: "127.0.0.1", port: port, token: TestServer.tokens[.admin]!, connections: connections, hold: hold)
        settings.serverPID = getpid()
        settings.handshakesInFlight = 8
        return settings
    }

    @Test("20 idle connections are all established and stay open through PINGs; the JSON has the fields")
    func twentyStayOpen() async throws {
        let server = try await TestServer.start(
            configuration: TestServer.configuration {
                $0.limits.keepaliveIntervalMs = 300
                $0.limits.idleTimeoutMs = 60_000
            })
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var settings = Self.settings(port: server.port, connections: 20, hold: .seconds(2))
        settings.readyFile = directory.path + "/ready"
        let result = try await IdleHolder(settings).run()
        try await server.stop()

        #expect(result.requested == 20)
        #expect(result.established == 20)
        #expect(result.refused.isEmpty)
        #expect(result.connectFailures.isEmpty)
        #expect(result.stillOpen == 20)
        #expect(result.closedDuringHold == 0)
        #expect(result.pingsAnswered >= 20)
        #expect(result.holdSeconds >= 1.9)
        #expect(result.rssBeforeKB > 0 && result.rssAfterKB > 0 && result.rssEndKB > 0)
        #expect(try String(contentsOfFile: settings.readyFile!, encoding: .utf8) == "20\n")

        let path = directory.path + "/idle.json"
        try result.writeJSON(to: path)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        let connections = try #require(json["connections"] as? [String: Any])
        #expect(connections["requested"] as? Int == 20)
        #expect(connections["established"] as? Int == 20)
        #expect(connections["still_open_at_end"] as? Int == 20)
        #expect(connections["refused"] is [String: Any])
        let rss = try #require(json["rss_kb"] as? [String: Any])
        #expect(rss["before"] != nil && rss["after_established"] != nil && rss["end"] != nil)
        #expect(json["bytes_per_idle_connection"] is Double || json["bytes_per_idle_connection"] is Int)
    }

    @Test("Past maxConnections the rest are refused, counted by GOAWAY reason")
    func refusalsByReason() async throws {
        let server = try await TestServer.start(configuration: TestServer.configuration { $0.limits.maxConnections = 5 })
        let result = try await IdleHolder(Self.settings(port: server.port, connections: 8, hold: .milliseconds(200))).run()
        try await server.stop()
        #expect(result.established == 5)
        #expect(result.refused == ["TOO_MANY_CONNECTIONS": 3])
        #expect(result.stillOpen == 5)
    }
}
