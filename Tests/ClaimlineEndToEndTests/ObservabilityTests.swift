import ClaimlineClient
import ClaimlineCore
import ClaimlineServer
import ClaimlineStore
import Foundation
import Prometheus
import Testing

/// The admin listener over real TCP: /metrics counts exactly what happened, /healthz and
/// /readyz tell a supervisor and a load balancer what they need; and claimlined's JSON logs.
@Suite("Observability")
struct ObservabilityTests {
    /// A server whose metrics go to its own Prometheus registry, with an admin listener.
    static func start(backend: any ClaimStoreBackend = InMemoryStoreBackend()) async throws -> (TestServer, Int, PrometheusCollectorRegistry) {
        let registry = PrometheusCollectorRegistry()
        let admin = AdminEndpoint(host: "127.0.0.1", port: 0) {
            var bytes: [UInt8] = []
            registry.emit(into: &bytes)
            return bytes
        }
        let server = try await TestServer.start(backend: backend, admin: admin, metricsFactory: PrometheusMetricsFactory(registry: registry))
        let port = try #require(try await server.server.adminAddress()?.port)
        return (server, port, registry)
    }

    @Test("/metrics counts exactly the calls made, by method and code, and the domain's outcomes")
    func metricsCountExactly() async throws {
        let (server, adminPort, _) = try await Self.start()
        let connection = try await server.connect(.admin)
        for _ in 0..<7 {
            let callID = Requests.callID()
            _ = try await connection.escalate(Requests.escalate(callID: callID))
            _ = try await connection.retain(Requests.retain(callID: callID, .impossible, reason: .longReview))
        }
        for _ in 0..<3 {
            let refused = await rpcError { _ = try await connection.retain(Requests.retain(callID: Requests.callID(), .declined)) }
            #expect(refused?.code == .failedPrecondition)
        }
        await connection.close()
        let response = try HTTP.get(port: adminPort, path: "/metrics")
        #expect(response.status == 200)
        #expect(response.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
        let samples = PrometheusText.samples(response.body)
        #expect(samples[#"claimline_calls_total{method="Escalate",code="OK"}"#] == 7)
        #expect(samples[#"claimline_calls_total{method="Retain",code="OK"}"#] == 7)
        #expect(samples[#"claimline_calls_total{method="Retain",code="FAILED_PRECONDITION"}"#] == 3)
        #expect(samples[#"claimline_call_duration_seconds_count{method="Escalate"}"#] == 7)
        #expect(samples[#"claimline_call_duration_seconds_count{method="Retain"}"#] == 10)
        #expect(
            samples[
                #"claimline_escalate_decisions_total{decision="TRANSFER_TO_SECOND_LINE",rule="second_line_normal"}"#
            ] == 7
        )
        #expect(samples[#"claimline_retention_outcomes_total{outcome="IMPOSSIBLE",reason="LONG_REVIEW"}"#] == 7)
        #expect(samples["claimline_connections_accepted_total"] == 1)
        #expect(samples["claimline_connections_open"] == 0)
        #expect(samples["claimline_streams_in_flight"] == 0)
        // 17 writes went through the writer: 14 applied and the 3 it refused.
        #expect((samples["claimline_writer_batch_size_sum"] ?? 0) == 17)
        #expect((samples["claimline_writer_commit_seconds_count"] ?? 0) >= 1)
        #expect((samples["process_resident_memory_bytes"] ?? 0) > 1_000_000)
        #expect(samples["process_cpu_seconds_total"] != nil)
        // Never a caller's string as a label: no call id, no token, no number in any series.
        #expect(!response.body.contains("UCID-"))
        #expect(!response.body.contains("+7916"))
        #expect(!response.body.contains(TestServer.tokens[.admin]!))
        try await server.stop()
    }

    @Test("refused handshakes and connections are counted by reason")
    func handshakeFailures() async throws {
        let (server, adminPort, _) = try await Self.start()
        let refused = await rpcError {
            _ = try await ClaimlineConnection.connect(host: "127.0.0.1", port: server.port, token: "not-a-token-at-all", clientName: "x")
        }
        #expect(refused?.code == .unauthenticated)
        let samples = PrometheusText.samples(try HTTP.get(port: adminPort, path: "/metrics").body)
        #expect(samples[#"claimline_handshake_failures_total{reason="UNAUTHENTICATED"}"#] == 1)
        try await server.stop()
    }

    @Test("/healthz answers; /readyz is ready, then not ready once the store fail-stops")
    func readyUntilFailStop() async throws {
        let backend = SlowStoreBackend(InMemoryStoreBackend(), commitDelayMs: 0)
        let (server, adminPort, _) = try await Self.start(backend: backend)
        #expect(try HTTP.get(port: adminPort, path: "/healthz").status == 200)
        let ready = try HTTP.get(port: adminPort, path: "/readyz")
        #expect(ready.status == 200)
        #expect(ready.body == "ready\n")
        backend.failCommits.store(true, ordering: .relaxed)
        let connection = try await server.connect(.admin)
        let failed = await rpcError { _ = try await connection.escalate(Requests.escalate()) }
        #expect(failed?.reason == Reason.outcomeUnknown || failed?.reason == Reason.storeFailed)
        let notReady = try HTTP.get(port: adminPort, path: "/readyz")
        #expect(notReady.status == 503)
        #expect(notReady.body.contains("store failed"))
        #expect(try HTTP.get(port: adminPort, path: "/healthz").status == 200)  // alive: a restart is the supervisor's call
        let samples = PrometheusText.samples(try HTTP.get(port: adminPort, path: "/metrics").body)
        #expect(samples[#"claimline_store_failures_total{kind="batch"}"#] == 1)
        await connection.close()
        try await server.stop()
    }

    @Test("/readyz turns not ready while the server drains, and the call in flight still completes")
    func notReadyWhileDraining() async throws {
        let (server, adminPort, _) = try await Self.start(backend: SlowStoreBackend(InMemoryStoreBackend(), commitDelayMs: 1500))
        let connection = try await server.connect(.admin)
        let call = Task { try await connection.escalate(Requests.escalate()) }
        try await Task.sleep(for: .milliseconds(200))
        #expect(try HTTP.get(port: adminPort, path: "/readyz").status == 200)
        server.server.shutdown()
        let draining = try HTTP.get(port: adminPort, path: "/readyz")
        #expect(draining.status == 503)
        #expect(draining.body.contains("draining"))
        #expect(try await call.value.decision == .transferToSecondLine)
        try await server.stop()
    }

    @Test("the admin listener: unknown paths 404, other methods 405, keep-alive served")
    func adminRoutes() async throws {
        let (server, adminPort, _) = try await Self.start()
        #expect(try HTTP.get(port: adminPort, path: "/nope").status == 404)
        #expect(try HTTP.get(port: adminPort, path: "/metrics", method: "POST").status == 405)
        try await server.stop()
    }

    @Test("--log-format json: one JSON object per line; a refused call logged with its method, reason and masked number")
    func jsonLogs() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let logFile = directory.path + "/claimlined.log"
        let daemon = try Daemon(directory: directory, logFile: logFile, logLevel: "info", arguments: ["--log-format", "json"])
        try await daemon.start()
        let connection = try await daemon.connect()
        var request = Requests.file(callID: "UCID-LOG-1")
        request.subscriber = Subscriber(msisdn: "+79161234567")
        request.placeId = "\u{1}bad"  // refused, naming the field
        let refused = await rpcError { _ = try await connection.file(request) }
        #expect(refused?.code == .invalidArgument)
        await connection.close()
        _ = try await daemon.terminate()
        let lines = try String(contentsOfFile: logFile, encoding: .utf8).split(separator: "\n")
        #expect(lines.count >= 4)
        var objects: [[String: Any]] = []
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            objects.append(try #require(object, "not a JSON object: \(line)"))
        }
        let refusal = try #require(objects.first { $0["msg"] as? String == "call refused" })
        #expect(refusal["level"] as? String == "notice")
        #expect(refusal["rpc.method"] as? String == "FileComplaint")
        #expect(refusal["rpc.code"] as? String == "INVALID_ARGUMENT")
        #expect(refusal["call.id"] as? String == "UCID-LOG-1")
        #expect(refusal["subscriber.msisdn"] as? String == "+7********67")
        #expect(refusal["client.name"] as? String == "crash-admin")
        let closed = try #require(
            objects.first { $0["msg"] as? String == "connection closed" && $0["session.id"] as? String == refusal["session.id"] as? String }
        )
        #expect(closed["connection.calls"] as? String == "1")
        #expect(closed["connection.duration_ms"] != nil)
        #expect(objects.contains { $0["msg"] as? String == "connection opened" })
        let whole = try String(contentsOfFile: logFile, encoding: .utf8)
        #expect(!whole.contains("+79161234567"))
    }
}

/// A blocking HTTP/1.1 GET over a plain socket: enough for the admin listener's tests.
enum HTTP {
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: String
    }

    static func get(port: Int, path: String, method: String = "GET") throws -> Response {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HTTPError("socket") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw HTTPError("connect to \(port)") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &chunk, chunk.count, 0)
            if count <= 0 { break }
            data.append(contentsOf: chunk[0..<count])
        }
        let text = String(decoding: data, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw HTTPError("no response from \(path)") }
        let lines = text[..<split.lowerBound].split(separator: "\r\n")
        let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Response(status: status, headers: headers, body: String(text[split.upperBound...]))
    }

    struct HTTPError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

/// The samples of a Prometheus text exposition, by series (`name{labels}`) as written.
enum PrometheusText {
    static func samples(_ text: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            out[String(line[..<space])] = Double(line[line.index(after: space)...])
        }
        return out
    }
}
