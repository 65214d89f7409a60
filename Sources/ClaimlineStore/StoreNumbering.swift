/// Reads the sequence out of claim numbers (`2026-000123`) and incident ids (`INC-000042`).
///
/// The store keeps the sequence as a number beside the text key, because the text does not sort
/// by value once a sequence outgrows six digits (`2026-1000000` sorts before `2026-999999`).
/// Both backends parse with these functions, so they agree on what a malformed key means:
/// no sequence (it never counts towards the highest one).
public enum StoreNumbering {
    /// `(2026, 123)` for `2026-000123`; nil unless it is digits, one dash, digits.
    public static func claimNumber(_ number: String) -> (year: Int, sequence: Int)? {
        let utf8 = number.utf8
        guard let dash = utf8.firstIndex(of: UInt8(ascii: "-")) else { return nil }
        guard let year = digits(utf8[utf8.startIndex..<dash]),
            let sequence = digits(utf8[utf8.index(after: dash)...])
        else { return nil }
        return (year, sequence)
    }

    /// 42 for `INC-000042`; nil unless it is `INC-` and digits.
    public static func incidentSequence(_ id: String) -> Int? {
        let utf8 = id.utf8
        let prefix = "INC-".utf8
        guard utf8.starts(with: prefix) else { return nil }
        return digits(utf8.dropFirst(prefix.count))
    }

    /// The value of a non-empty run of ASCII digits, nil if anything else is there or it
    /// would overflow (bad data must never trap).
    private static func digits<S: Collection>(_ bytes: S) -> Int? where S.Element == UInt8 {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var value = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }
}
