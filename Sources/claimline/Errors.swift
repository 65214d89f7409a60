import ClaimlineClient
import ClaimlineCore
import Foundation

/// A subcommand's flags by the request field each sets (`place_id` → `--place`), so that an
/// INVALID_ARGUMENT names what the user typed, not the protobuf path.
struct FlagMap: Sendable {
    let flags: [String: String]

    init(_ flags: [String: String]) { self.flags = flags }

    /// `subscriber.msisdn` → `--msisdn`; `categories[1].category` → `--category #2` (the
    /// second `--category` given); a path no flag sets → the path itself.
    func flag(for field: String) -> String {
        // Indexes of repeated fields: `regions[2]` is the third --region.
        var index: Int? = nil
        var path = ""
        var scanner = field[...]
        while let open = scanner.firstIndex(of: "[") {
            path += scanner[..<open]
            guard let close = scanner[open...].firstIndex(of: "]") else { break }
            if index == nil { index = Int(scanner[scanner.index(after: open)..<close]) }
            scanner = scanner[scanner.index(after: close)...]
        }
        path += scanner
        var candidate = path
        while true {
            if let flag = self.flags[candidate] {
                guard let index else { return flag }
                return "\(flag) #\(index + 1)"
            }
            guard let dot = candidate.lastIndex(of: ".") else { return field }
            candidate = String(candidate[..<dot])
        }
    }
}

extension FlagMap {
    /// A description that names another field (`must be after created_from_ms`) names its flag
    /// instead. Only names with `_` or `.` are replaced: plain words such as `status` are English too.
    func rewrite(_ description: String) -> String {
        var out = description
        for (field, flag) in self.flags.sorted(by: { $0.key.count > $1.key.count })
        where field.contains("_") || field.contains(".") {
            let pattern = #"(?<![A-Za-z0-9_.])"# + NSRegularExpression.escapedPattern(for: field) + #"(?![A-Za-z0-9_])"#
            out = out.replacingOccurrences(of: pattern, with: NSRegularExpression.escapedTemplate(for: flag), options: .regularExpression)
        }
        return out
    }
}

/// An error as the CLI shows it: the code, one line of text naming flags, and what the JSON
/// form carries.
struct ErrorReport {
    struct Violation {
        var flag: String
        var field: String
        var description: String
    }

    var code: StatusCode
    var reason: String
    var message: String
    var violations: [Violation] = []
    var currentState: String = ""
    var retryAfterMs: UInt32 = 0
    var claimNumber: String = ""
    var idempotencyKey: String = ""
    /// Exit status: the gRPC code, or 64 for a usage error.
    var exitStatus: Int32

    var flag: String { self.violations.first?.flag ?? "" }
    var codeName: String { self.exitStatus == 64 ? "USAGE" : self.code.name }

    /// Reasons the Swift client gives when a write may or may not have been applied.
    static let unknownOutcomes: Set<String> = ClientReason.outcomeUnknown

    /// - Parameter server: how to name the server(s): `host:port`, or `any of a:1, b:2`.
    init(_ error: any Error, flags: FlagMap, server: String, budget: String, key: String?) {
        guard let error = error as? RPCError else {
            // Not the client's own error type: keep its first line only.
            self.code = .unknown
            self.reason = ""
            self.message = String(describing: error).split(separator: "\n").first.map(String.init) ?? "unknown error"
            self.exitStatus = Int32(StatusCode.unknown.rawValue)
            return
        }
        self.code = error.code
        self.reason = error.reason
        self.message = error.message
        self.currentState = error.currentState
        self.retryAfterMs = error.retryAfterMs
        self.exitStatus = Int32(error.code.rawValue)
        self.violations = error.fieldViolations.map {
            Violation(flag: flags.flag(for: $0.field), field: $0.field, description: flags.rewrite($0.description))
        }
        if !self.violations.isEmpty {
            self.message = self.violations.map { "\($0.flag): \($0.description)" }.joined(separator: "; ")
        }
        switch error.reason {
        case ClientReason.connectFailed:
            self.message = "cannot connect to \(server) (\(Self.connectCause(error.message)))"
        case ClientReason.clientDeadline:
            self.message = "no answer within \(budget)"
        case Reason.outcomeUnknown where error.message.contains("; last: "):
            // The client's own summary of a write whose budget ran out after an attempt that
            // may have been applied (PROTOCOL.md 8.1); the retry advice follows with the key.
            self.message = "no answer within \(budget)"
        default:
            break
        }
        if !error.currentState.isEmpty && !self.message.contains(error.currentState) {
            self.message += " (the contact is \(error.currentState))"
        }
        if let key, Self.unknownOutcomes.contains(error.reason) {
            self.idempotencyKey = key
            self.message += "; the write may have been applied: retry with --key \(key)"
        }
    }

    /// A usage error, as ArgumentParser found it (or a command's `validate()` threw it).
    init(usage message: String) {
        self.code = .invalidArgument
        self.reason = "USAGE"
        self.message = message
        self.exitStatus = 64
        // The flag at fault: ours start with it (`--tier: ...`); ArgumentParser's name it
        // somewhere (`Missing expected argument '--tier <tier>'`).
        if let range = message.range(of: #"--[a-z][a-z0-9-]*"#, options: .regularExpression) {
            let flag = String(message[range])
            let description = message.hasPrefix(flag + ": ") ? String(message.dropFirst(flag.count + 2)) : message
            self.violations = [Violation(flag: flag, field: "", description: description)]
        }
    }

    /// The refusal of a call on a contact whose claim is filed: which claim, for which call.
    mutating func claimFiled(_ number: String, callID: String) {
        self.claimNumber = number
        let what = "claim \(number) was already filed for \(callID)"
        let stateSuffix = "; the contact is \(self.currentState)"
        if let range = self.message.range(of: stateSuffix) {
            self.message.replaceSubrange(range, with: "; " + what)
        } else if let range = self.message.range(of: " (the contact is \(self.currentState))") {
            self.message.replaceSubrange(range, with: "; " + what)
        } else {
            self.message += "; " + what
        }
    }

    /// `Connection refused (errno: 111)` deep in NIO's description → `connection refused`.
    static func connectCause(_ message: String) -> String {
        if let range = message.range(of: #"errno: [0-9]+"#, options: .regularExpression),
            let number = Int32(message[range].dropFirst("errno: ".count))
        {
            let text = String(cString: strerror(number))
            return text.prefix(1).lowercased() + text.dropFirst()
        }
        if message.contains("DNS error") { return "cannot resolve the host name" }
        if message.contains("HELLO_ACK") { return "no answer to HELLO in time" }
        if message.contains("connectTimeout") || message.lowercased().contains("timed out") { return "timed out" }
        return "connection failed"
    }

    /// One line: `error: CODE: message`.
    var line: String {
        "error: \(self.code.name): \(Self.oneLine(self.message))"
    }

    /// One JSON object, always with the same keys (empty values when they do not apply).
    var json: String {
        let violations = self.violations.map {
            "{\"flag\":\(JSONWriter.quoted($0.flag)),\"field\":\(JSONWriter.quoted($0.field)),\"description\":\(JSONWriter.quoted($0.description))}"
        }
        return "{"
            + "\"code\":\(JSONWriter.quoted(self.codeName)),"
            + "\"codeNumber\":\(self.exitStatus),"
            + "\"reason\":\(JSONWriter.quoted(self.reason)),"
            + "\"message\":\(JSONWriter.quoted(self.message)),"
            + "\"flag\":\(JSONWriter.quoted(self.flag)),"
            + "\"violations\":[\(violations.joined(separator: ","))],"
            + "\"currentState\":\(JSONWriter.quoted(self.currentState)),"
            + "\"claimNumber\":\(JSONWriter.quoted(self.claimNumber)),"
            + "\"idempotencyKey\":\(JSONWriter.quoted(self.idempotencyKey)),"
            + "\"retryAfterMs\":\(self.retryAfterMs)"
            + "}"
    }

    /// Line breaks and other controls from the server's text cannot split the line.
    static func oneLine(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += " "
            case _ where scalar.value < 0x20 || (scalar.value >= 0x7F && scalar.value < 0xA0):
                out += "\\u{\(String(scalar.value, radix: 16))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

enum ErrorOutput {
    /// Whether `--json` is on the command line (before a `--`), for errors found before the
    /// options were parsed.
    static var jsonRequested: Bool {
        CommandLine.arguments.dropFirst().prefix { $0 != "--" }.contains("--json")
    }

    static func write(_ report: ErrorReport, json: Bool) {
        self.stderr(json ? report.json : report.line)
    }

    /// A usage error: `error: <message>` and the subcommand's usage; with `--json`, one JSON
    /// object, code `USAGE`, number 64.
    static func usage(message: String, fullText: String, json: Bool) {
        if json {
            self.stderr(ErrorReport(usage: message).json)
            return
        }
        var text = fullText
        if text.hasPrefix("Error: ") { text = "error: " + text.dropFirst("Error: ".count) }
        self.stderr(text)
    }

    static func stderr(_ text: String) {
        FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
    }
}
