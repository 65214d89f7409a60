import ArgumentParser
import ClaimlineLoad
import Foundation

/// `claimline-load idle`: opens N authenticated connections that then stay idle, and reports
/// the server's memory per idle connection. A load run beside it (another process, started
/// once --ready-file appears) shows what the idle set does to active calls' latency.
struct IdleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "idle",
        abstract: "Hold N idle authenticated connections and measure the server's RSS per connection.",
        discussion: """
            Handshakes run --handshakes at a time, below the server's maxPendingHandshakes (and
            maxPendingHandshakesPerAddress per --sources address). Idle connections answer the
            server's keepalive PINGs and send nothing else; the server closes them after
            limits.idleTimeoutMs (config/bench-10k.json raises it). Loopback targets only.

            With a load run beside it:
              claimline-load idle --connections 10000 --duration 60s --server-pid PID --ready-file /tmp/idle.ready &
              while [ ! -e /tmp/idle.ready ]; do sleep 0.2; done
              claimline-load --scenario escalate --connections 4 --in-flight 256 --duration 20s
            """
    )

    @Option(name: .long, help: "claimlined's address.")
    var server = "127.0.0.1:7400"
    @Option(name: .long, help: "HELLO token.")
    var token = "dev-admin-token"
    @Option(name: .long, help: "Connections to open.")
    var connections = 1000
    @Option(name: .long, help: "How long to hold them once all are open.")
    var duration = "30s"
    @Option(name: .long, help: "Loopback addresses to connect from, comma-separated (e.g. 127.0.0.1,127.0.0.2).")
    var sources = "127.0.0.1"
    @Option(name: .long, help: "Handshakes in flight at once, over all sources.")
    var handshakes = 128
    @Option(name: .long, help: "The server's pid, to sample its RSS from /proc.")
    var serverPid: Int32?
    @Option(name: .long, help: "Written once every connection is open (for a load run beside it).")
    var readyFile: String?
    @Option(name: .long, help: "Write the figures as JSON.")
    var json: String?

    func run() async throws {
        guard let colon = self.server.lastIndex(of: ":"), let port = Int(self.server[self.server.index(after: colon)...]) else {
            throw ValidationError("--server: host:port")
        }
        guard self.connections > 0 else { throw ValidationError("--connections: at least 1") }
        let hold = try DurationText.seconds(self.duration)
        var settings = IdleHolder.Settings(
            host: String(self.server[..<colon]), port: port, token: self.token, connections: self.connections,
            hold: .nanoseconds(Int64(hold * 1e9))
        )
        settings.sources = self.sources.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        settings.handshakesInFlight = self.handshakes
        settings.serverPID = self.serverPid
        settings.readyFile = self.readyFile
        if let ready = self.readyFile { try? FileManager.default.removeItem(atPath: ready) }
        let result = try await IdleHolder(settings).run { line in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        print(result.line)
        if let json = self.json { try result.writeJSON(to: json) }
        // The line above already says why (EMFILE and the limits): no usage text after it.
        if result.fileDescriptorError != nil { throw ExitCode(1) }
    }
}
