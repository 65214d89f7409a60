import ClaimlineCore
import ClaimlineWire

/// The three renderings of the catalogue: `proto/vectors/v1.json` (rich, for every language),
/// `proto/vectors/v1.tsv` (flat columns, for C and shell) and PROTOCOL.md's appendix.
/// Hand-written JSON keeps the output byte-stable across Foundation versions.
extension GoldenVectors {
    public static func renderJSON() -> String {
        var out = "{\n  \"protocol\": \"claimline\",\n  \"version\": \"\(ProtocolVersion.major).\(ProtocolVersion.minor)\",\n"
        out += "  \"vectors\": [\n"
        out += all.map { vector -> String in
            var fields: [(String, String)] = [
                ("name", json(vector.name)), ("summary", json(vector.summary)),
                ("kind", json(vector.kind.rawValue)), ("hex", json(hex(vector.bytes))),
            ]
            if let frame = vector.frame {
                var header: [(String, String)] = [
                    ("type", json(frame.type.name)), ("type_code", "\(frame.type.rawValue)"),
                    ("flags", "\(frame.flags)"), ("method", "\(frame.method)"),
                ]
                if let method = Method(rawValue: frame.method) { header.append(("method_name", json(method.name))) }
                header += [("stream_id", "\(frame.streamID)"), ("payload_length", "\(frame.payload.readableBytes)")]
                if let timeout = vector.timeoutMs { header.append(("timeout_ms", "\(timeout)")) }
                fields.append(("frame", object(header, indent: "      ")))
            }
            if let name = vector.messageName, let bytes = vector.messageBytes, let text = vector.messageText {
                let message = [("type", json(name)), ("hex", json(hex(bytes))), ("text", json(text))]
                fields.append(("message", object(message, indent: "      ")))
            }
            return "    " + object(fields, indent: "    ")
        }.joined(separator: ",\n")
        out += "\n  ]\n}\n"
        return out
    }

    /// Columns: name, kind, hex, frame type, flags, method, stream id, timeout ms, message type,
    /// message hex. Empty where a column does not apply.
    public static func renderTSV() -> String {
        var out = "# Claimline protocol \(ProtocolVersion.major).\(ProtocolVersion.minor) golden vectors; see PROTOCOL.md.\n"
        out += "# name\tkind\thex\tframe_type\tflags\tmethod\tstream_id\ttimeout_ms\tmessage_type\tmessage_hex\n"
        for vector in all {
            var columns: [String] = [vector.name, vector.kind.rawValue, hex(vector.bytes)]
            if let frame = vector.frame {
                columns += [frame.type.name, String(frame.flags), String(frame.method), String(frame.streamID)]
            } else {
                columns += ["", "", "", ""]
            }
            columns.append(vector.timeoutMs.map { String($0) } ?? "")
            columns.append(vector.messageName ?? "")
            columns.append(vector.messageBytes.map { hex($0) } ?? "")
            out += columns.joined(separator: "\t") + "\n"
        }
        return out
    }

    /// PROTOCOL.md's appendix: every vector with its header broken out and its message as text.
    public static func renderMarkdown() -> String {
        var out = ""
        for vector in all {
            out += "#### `\(vector.name)`\n\n\(vector.summary)\n\n```\n"
            guard let frame = vector.frame else {
                out += hexLines(vector.bytes, label: "preface") + "```\n\n"
                continue
            }
            let method = Method(rawValue: frame.method).map { " (\($0.name))" } ?? ""
            out += "header   " + spaced(Array(vector.bytes[0..<12]))
            out += "   length \(frame.payload.readableBytes), \(frame.type.name), flags \(frame.flags), "
            out += "method \(frame.method)\(method), stream \(frame.streamID)\n"
            var payload = Array(vector.bytes[12...])
            if let timeout = vector.timeoutMs {
                out += "timeout  " + spaced(Array(payload[0..<4])) + "   \(timeout) ms\n"
                payload.removeFirst(4)
            }
            if let name = vector.messageName {
                out += "message  \(name), \(payload.count) bytes\n"
            }
            if !payload.isEmpty { out += hexLines(payload, label: "") }
            out += "```\n\n"
            if let text = vector.messageText, !text.isEmpty {
                out += "```protobuf\n" + text + "```\n\n"
            }
        }
        return out
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func spaced(_ bytes: [UInt8]) -> String {
        bytes.map { hex([$0]) }.joined(separator: " ")
    }

    private static func hexLines(_ bytes: [UInt8], label: String) -> String {
        stride(from: 0, to: bytes.count, by: 16).map { start in
            let prefix = start == 0 && !label.isEmpty ? label.padding(8) : "  " + String(start, radix: 16).leftPad(4) + "  "
            return prefix + " " + spaced(Array(bytes[start..<min(start + 16, bytes.count)])) + "\n"
        }.joined()
    }

    private static func object(_ fields: [(String, String)], indent: String) -> String {
        "{\n" + fields.map { "\(indent)  \(json($0.0)): \($0.1)" }.joined(separator: ",\n") + "\n\(indent)}"
    }

    static func json(_ value: String) -> String { JSONWriter.quoted(value) }
}

extension String {
    fileprivate func leftPad(_ width: Int) -> String {
        String(repeating: "0", count: max(0, width - self.count)) + self
    }

    fileprivate func padding(_ width: Int) -> String {
        self + String(repeating: " ", count: max(0, width - self.count))
    }
}

extension GoldenVectors {
    public static let appendixBegin = "<!-- vectors:begin (generated by `make vectors`; do not edit) -->"
    public static let appendixEnd = "<!-- vectors:end -->"

    /// `document` with its appendix replaced by ``renderMarkdown()``; nil without the markers.
    public static func spliceAppendix(into document: String) -> String? {
        let parts = document.split(separator: appendixBegin, maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let rest = parts[1].split(separator: appendixEnd, maxSplits: 1, omittingEmptySubsequences: false)
        guard rest.count == 2 else { return nil }
        return parts[0] + appendixBegin + "\n\n" + renderMarkdown() + appendixEnd + rest[1]
    }
}
