/// Durations as people type them on a command line: `30s`, `500ms`, `2m`, `1.5s`, or plain
/// seconds (`10`).
public enum DurationText {
    public static func seconds(_ text: String) throws(LoadConfigurationError) -> Double {
        let units: [(String, Double)] = [("ms", 0.001), ("us", 0.000_001), ("µs", 0.000_001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)), value >= 0 { return value * scale }
            break
        }
        if let value = Double(text), value >= 0 { return value }
        throw LoadConfigurationError("'\(text)' is not a duration (e.g. 30s, 500ms, 2m)")
    }
}
