import ClaimlineClient
import ClaimlineCore
import ClaimlineLoad
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Faults at one part that must not stall the rest (issue 21), each against a real claimlined
/// process over TCP: a greedy scraper on the admin port, too many admin connections, the
/// open-file limit, a caller that never reads small answers, a second process on one data
/// folder, a full disk. Bounded in time; run with the hostile-peer suite, alone (`make test`).
@Suite("Partial failures", .serialized)
struct PartialFailureTests {
    static let token = TestServer.tokens[.admin]!

    /// A daemon with its admin listener on a port of its own (``Daemon/adminPort`` once started).
    static func daemon(_ directory: TemporaryDirectory, limits: String = "", launcher: [String] = []) throws -> Daemon {
        try Daemon(directory: directory, limits: limits, arguments: ["--admin-listen", "127.0.0.1:0"], launcher: launcher)
    }

    @Test("A scraper pipelining GET /metrics and never reading: memory stays bounded, probes and calls are served")
    func greedyScraper() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let daemon = try Self.daemon(directory)
        try await daemon.start()
        let adminPort = try #require(daemon.adminPort)
        defer { daemon.kill() }
        let client = try await daemon.connect()
        for _ in 0..<20 { _ = try await client.escalate(Requests.escalate()) }
        _ = try HTTP.get(port: adminPort, path: "/metrics")
        try await Task.sleep(for: .milliseconds(300))
        let before = daemon.residentBytes()

        let request = Array("GET /metrics HTTP/1.1\r\nHost: scraper\r\n\r\n".utf8)
        let burst = Array((0..<64).map { _ in request }.joined())
        let scrapers = try (0..<4).map { _ in try PlainSocket(port: adminPort) }
        let end = ContinuousClock.now + .seconds(10)
        let attack = Self.onThread {
            var sent = 0
            while ContinuousClock.now < end {
                for scraper in scrapers { sent += scraper.send(burst) }
            }
            return sent
        }
        var peak = before
        var probes = 0
        var calls = 0
        while ContinuousClock.now < end {
            if try HTTP.get(port: adminPort, path: "/readyz").status == 200 { probes += 1 }
            _ = try await client.escalate(Requests.escalate())
            calls += 1
            peak = max(peak, daemon.residentBytes())
            try await Task.sleep(for: .milliseconds(100))
        }
        let sent = try await attack.value
        print("greedy scraper: \(sent) bytes of requests sent; RSS \(before >> 20) → peak \(peak >> 20) MiB; \(probes) probes, \(calls) calls")
        // Four connections, each holding at most its write buffer and one answer; before the
        // fix the same attack took +2.9 GB in 20 s.
        #expect(peak - before <= 48 << 20, "RSS grew by \((peak - before) >> 20) MiB")
        #expect(sent > 100_000)
        #expect(probes == calls)
        await client.close()
    }

    @Test("Admin connections past the cap are answered 503 and closed; the first ones and the service port are served")
    func adminConnectionCap() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let daemon = try Self.daemon(directory, limits: #""maxAdminConnections": 4"#)
        try await daemon.start()
        let adminPort = try #require(daemon.adminPort)
        defer { daemon.kill() }
        // Four keep-alive connections take the cap (each served before the next is made).
        var idle: [PlainSocket] = []
        for _ in 0..<4 {
            let socket = try PlainSocket(port: adminPort)
            socket.send(Array("GET /healthz HTTP/1.1\r\nHost: idle\r\n\r\n".utf8))
            #expect(String(decoding: socket.receive(until: "\r\n\r\nok\n"), as: UTF8.self).hasPrefix("HTTP/1.1 200"))
            idle.append(socket)
        }
        let refused = try PlainSocket(port: adminPort)
        let answer = String(decoding: refused.receiveAll(), as: UTF8.self)
        #expect(answer.hasPrefix("HTTP/1.1 503"), "\(answer)")
        #expect(answer.contains("too many admin connections (limit 4)"))
        let client = try await daemon.connect()
        _ = try await client.escalate(Requests.escalate())
        // One of the four leaves: a new one is served.
        idle.removeLast()
        try await Self.waitUntil { (try? HTTP.get(port: adminPort, path: "/healthz").status) == 200 }
        await client.close()
    }

    @Test("With 256 open files allowed, a flood of authenticated connections pauses accepting; the store keeps its reserve")
    func openFileLimit() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let daemon = try Self.daemon(directory, launcher: ["/usr/bin/prlimit", "--nofile=256:256", "--"])
        try await daemon.start()
        let adminPort = try #require(daemon.adminPort)
        defer { daemon.kill() }
        let client = try await daemon.connect()
        let filed = try await client.file(Requests.file())
        // 400 sockets that all send HELLO at once: more than the descriptors allow.
        let hello = PlainSocket.hello(token: Self.token)
        var flood: [PlainSocket] = []
        for _ in 0..<400 {
            guard let socket = try? PlainSocket(port: daemon.port) else { break }
            socket.send(hello)
            flood.append(socket)
        }
        try await Task.sleep(for: .seconds(1))
        let open = Self.openDescriptors(daemon.pid)
        print("open-file limit 256: \(flood.count) sockets made, the daemon holds \(open) descriptors")
        #expect(open <= 256 - 64, "the daemon holds \(open) of 256 descriptors")
        // The store still has what it needs: writes, and a read on a reader opened only now.
        for _ in 0..<20 { _ = try await client.escalate(Requests.escalate()) }
        #expect(try await client.getClaim(filed.claimNumber)?.claimNumber == filed.claimNumber)
        // The flood leaves: new connections are accepted again.
        flood.removeAll()
        try await Self.waitUntil { (try? HTTP.get(port: adminPort, path: "/readyz").status) == 200 }
        let fresh = try await daemon.connect()
        _ = try await fresh.escalate(Requests.escalate())
        await fresh.close()
        await client.close()
    }

    @Test("A caller that pipelines small reads and never reads the answers: memory stays bounded")
    func neverReadsSmallAnswers() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let daemon = try Daemon(directory: directory)
        try await daemon.start()
        defer { daemon.kill() }
        let client = try await daemon.connect()
        _ = try await client.call(.getSecondLineMode, GetSecondLineModeRequest(), as: SecondLineModeResponse.self)
        try await Task.sleep(for: .milliseconds(300))
        let before = daemon.residentBytes()
        let end = ContinuousClock.now + .seconds(10)
        let attack = Self.onThread {
            var requests = 0
            var sockets: [PlainSocket] = []
            for _ in 0..<4 {
                let socket = try PlainSocket(port: daemon.port)
                socket.send(PlainSocket.hello(token: Self.token))
                sockets.append(socket)
            }
            // One request per write with a pause between rounds, as a caller calling in a loop
            // does: the server reads them one by one and answers each on its own.
            var stream: UInt32 = 1
            while ContinuousClock.now < end {
                var request: [UInt8] = []
                for _ in 0..<8 {
                    request += PlainSocket.request(.getSecondLineMode, streamID: stream, GetSecondLineModeRequest())
                    stream += 2
                }
                for socket in sockets where socket.send(request) == request.count { requests += 8 }
                usleep(200)
            }
            return requests
        }
        var peak = before
        var calls = 0
        while ContinuousClock.now < end {
            _ = try await client.call(.getSecondLineMode, GetSecondLineModeRequest(), as: SecondLineModeResponse.self)
            calls += 1
            peak = max(peak, daemon.residentBytes())
            try await Task.sleep(for: .milliseconds(100))
        }
        let requests = try await attack.value
        print("never-read small answers: \(requests) requests sent; RSS \(before >> 20) → peak \(peak >> 20) MiB; \(calls) calls served")
        // 4 connections × 1 MiB of answers each, plus the allocator's margin; before the fix each
        // such caller cost 77-98 MB.
        #expect(peak - before <= 40 << 20, "RSS grew by \((peak - before) >> 20) MiB")
        #expect(requests > 20_000)
        await client.close()
    }

    @Test("A request whose connection the client reset while the server was frozen is never applied")
    func resetWhileFrozen() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let daemon = try Daemon(directory: directory)
        try await daemon.start()
        defer { daemon.kill() }
        let socket = try PlainSocket(port: daemon.port)
        socket.send(PlainSocket.hello(token: Self.token))
        #expect(socket.receive(atLeast: 12).count >= 12)  // HELLO_ACK
        let callID = Requests.callID()
        daemon.signal(SIGSTOP)
        var thawed = false
        defer { if !thawed { daemon.signal(SIGCONT) } }
        // The request waits in the frozen server's socket; the caller gives up and resets.
        socket.send(PlainSocket.request(.escalate, streamID: 1, timeoutMs: 5000, Requests.escalate(callID: callID)))
        try await Task.sleep(for: .milliseconds(200))
        socket.reset()
        try await Task.sleep(for: .milliseconds(200))
        daemon.signal(SIGCONT)
        thawed = true
        // The server wakes, reads the request and the reset together: it must not apply it.
        let client = try await daemon.connect()
        try await Task.sleep(for: .milliseconds(500))
        let missing = await rpcError {
            _ = try await client.call(.getContact, GetContactRequest(callId: callID), as: GetContactResponse.self)
        }
        #expect(missing?.reason == Reason.contactNotFound, "the reset request was applied: \(String(describing: missing))")
        // The server serves the next caller as usual.
        _ = try await client.escalate(Requests.escalate(callID: callID))
        await client.close()
    }

    @Test("A second claimlined on the same data folder exits 73 at once, naming the first; the first is untouched")
    func oneProcessPerDataFolder() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = try Daemon(directory: directory)
        try await first.start()
        defer { first.kill() }
        let client = try await first.connect()
        let before = try await client.file(Requests.file())

        let second = Process()
        second.executableURL = URL(fileURLWithPath: Daemon.binary)
        second.arguments = [
            "--listen", "127.0.0.1:0", "--data-dir", directory.path + "/data",
            "--config", directory.path + "/claimline.json",
        ]
        let errors = Pipe()
        second.standardError = errors
        second.standardOutput = FileHandle.nullDevice
        try second.run()
        let exited = ContinuousClock.now + .seconds(20)
        while second.isRunning && ContinuousClock.now < exited { try await Task.sleep(for: .milliseconds(20)) }
        if second.isRunning { second.terminate() }
        second.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(second.terminationStatus == 73)
        #expect(message.contains("in use by another claimlined (pid \(first.pid ?? 0)"), "\(message)")
        // The first goes on numbering claims as before.
        let after = try await client.file(Requests.file())
        #expect(after.claimNumber > before.claimNumber)
        #expect(try await client.getClaim(before.claimNumber) != nil)
        await client.close()
    }

    @Test("A full disk refuses writes as not applied; they flow again once space is back, without a restart, and nothing acknowledged is lost")
    func diskFull() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let data = directory.path + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try Self.shell("mount -t tmpfs -o size=24m claimline-test \(data)")
        defer { try? Self.shell("umount -l \(data)") }
        // Ballast that leaves the store a few MiB; removed to bring the space back.
        let ballast = data + "/ballast"
        try Self.shell("dd if=/dev/zero of=\(ballast) bs=1M count=17 status=none")
        let daemon = try Self.daemon(directory)
        try await daemon.start()
        let adminPort = try #require(daemon.adminPort)
        defer { daemon.kill() }
        let client = try await daemon.connect()
        let description = String(repeating: "Абонент недоволен списанием средств. ", count: 100)
        var acknowledged: [String] = []
        var refused: RPCError?
        while refused == nil && acknowledged.count < 50_000 {
            do {
                acknowledged.append(try await client.file(Requests.file(description: description)).claimNumber)
            } catch let error as RPCError {
                refused = error
            }
        }
        let error = try #require(refused, "the disk never filled")
        #expect(error.code == .unavailable)
        #expect(error.reason == Reason.storeUnavailable, "\(error)")
        try await Self.waitUntil { (try? HTTP.get(port: adminPort, path: "/readyz").status) == 503 }

        try FileManager.default.removeItem(atPath: ballast)
        // Writes flow again by themselves.
        var recovered: FileComplaintResponse?
        let deadline = ContinuousClock.now + .seconds(20)
        while recovered == nil && ContinuousClock.now < deadline {
            recovered = try? await client.file(Requests.file())
            if recovered == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(recovered != nil)
        try await Self.waitUntil { (try? HTTP.get(port: adminPort, path: "/readyz").status) == 200 }
        await client.close()
        // Every acknowledged claim is there, after a restart too.
        #expect(try await daemon.terminate() == 0)
        try await daemon.start()
        let reader = try await daemon.connect()
        for number in acknowledged + [recovered?.claimNumber].compactMap({ $0 }) {
            #expect(try await reader.getClaim(number)?.claimNumber == number)
        }
        await reader.close()
    }

    // MARK: - Helpers

    /// Runs `body` on a thread of its own: a peer that blocks on its sockets for seconds must
    /// not hold one of the few threads Swift's concurrency runs every test's tasks on.
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) -> Task<T, any Error> {
        Task {
            try await withCheckedThrowingContinuation { continuation in
                Thread { continuation.resume(with: Result { try body() }) }.start()
            }
        }
    }

    static func waitUntil(timeout: Duration = .seconds(10), _ condition: () throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("condition not met within \(timeout)")
    }

    /// Descriptors the process holds (entries of /proc/PID/fd).
    static func openDescriptors(_ pid: Int32?) -> Int {
        guard let pid else { return 0 }
        return (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
    }

    @discardableResult
    static func shell(_ command: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw HTTP.HTTPError("\(command): exit \(process.terminationStatus)") }
        return String(decoding: data, as: UTF8.self)
    }
}
