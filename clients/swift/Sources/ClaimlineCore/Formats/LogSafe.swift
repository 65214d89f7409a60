/// What a peer sent, made safe to put in a log line: a caller must not be able to forge log
/// lines (a newline followed by a fake entry), hide text (ESC sequences, bidi overrides) or
/// flood the log with one long value.
///
/// Printable ASCII passes as is; control, format and other invisible scalars become `\u{…}`;
/// the result is cut at `maxScalars` scalars with a trailing `…(N bytes)`.
public enum LogSafe {
    public static let defaultMaxScalars = 64

    public static func escape(_ value: String, maxScalars: Int = defaultMaxScalars) -> String {
        // Fast path: short printable ASCII, the common case for ids and client names.
        let utf8 = value.utf8
        if utf8.count <= maxScalars, utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") }) {
            return value
        }
        var out = ""
        var taken = 0
        for scalar in value.unicodeScalars {
            if taken == maxScalars {
                out += "…(\(utf8.count) bytes)"
                return out
            }
            taken += 1
            if scalar == "\\" {
                out += "\\\\"
            } else if Validation.isPrintable(scalar) {
                out.unicodeScalars.append(scalar)
            } else {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            }
        }
        return out
    }
}
