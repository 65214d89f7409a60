import Foundation
import Testing

/// `proto/failover/scenarios.json`, PROTOCOL.md 8.1 as data, read the way a client in any
/// language reads it. Times are the table's milliseconds.
struct FailoverScenarioFile: Decodable {
    struct Settings: Decodable, Equatable {
        var attempt_timeout_ms: Int
        var connect_timeout_ms: Int
        var keepalive_interval_ms: Int
        var keepalive_timeout_ms: Int
        var idle_keepalive_ms: Int
        var suspect_base_ms: Int
        var suspect_max_ms: Int
        var backoff_initial_ms: Int
        var backoff_max_ms: Int
    }

    struct Status: Decodable {
        var code: UInt32
        var reason: String
    }

    struct Attempt: Decodable {
        var address: Int
        var at_ms: UInt64
        var timeout_ms: UInt64
        var outcome: String
        /// When it ends, after `at_ms`; absent for attempt_timeout (it ends after its timeout).
        var after_ms: UInt64?
        var retry_after_ms: UInt32?
        var status: Status?
    }

    struct Result: Decodable {
        var answer: Bool?
        var code: UInt32?
        var reason: String?
    }

    struct Call: Decodable {
        var kind: String
        var start_ms: UInt64
        var budget_ms: UInt64
        var attempts: [Attempt]
        var result: Result
    }

    struct Scenario: Decodable, CustomTestStringConvertible {
        var name: String
        var addresses: Int
        var about: String
        var calls: [Call]

        var testDescription: String { self.name }
    }

    var version: Int
    var settings: Settings
    var jitter: Double
    var scenarios: [Scenario]

    /// The repository's root: the first folder above this file that holds the table, so the
    /// test finds it wherever the checkout is.
    static let url: URL = {
        var folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while folder.path != "/" {
            let candidate = folder.appendingPathComponent("proto/failover/scenarios.json")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
            folder.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: "proto/failover/scenarios.json")
    }()

    static func load() throws -> FailoverScenarioFile {
        try JSONDecoder().decode(FailoverScenarioFile.self, from: Data(contentsOf: self.url))
    }
}
