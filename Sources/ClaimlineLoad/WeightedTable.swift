/// A discrete distribution: values with relative weights, drawn by one uniform number.
///
/// Parsed from the flag syntax `key:weight,key:weight` (weights need not sum to 1; they are
/// normalised), so the testers can write `--tiers 1:0.1,2:0.4,3:0.3,4:0.2` as they think of it.
public struct WeightedTable<Value: Sendable & Hashable>: Sendable, Hashable {
    public private(set) var values: [Value]
    /// Cumulative normalised weights; the last is 1.
    public private(set) var thresholds: [Double]

    public init(_ entries: [(Value, Double)]) throws(LoadConfigurationError) {
        let kept = entries.filter { $0.1 > 0 }
        let total = kept.reduce(0) { $0 + $1.1 }
        guard !kept.isEmpty, total > 0, entries.allSatisfy({ $0.1 >= 0 && $0.1.isFinite }) else {
            throw LoadConfigurationError("a distribution needs at least one positive weight and no negative ones")
        }
        self.values = kept.map(\.0)
        var sum = 0.0
        self.thresholds = kept.map {
            sum += $0.1; return sum / total
        }
        self.thresholds[self.thresholds.count - 1] = 1
    }

    /// Equal weights.
    public init(uniform values: [Value]) {
        precondition(!values.isEmpty)
        self.values = values
        self.thresholds = values.indices.map { Double($0 + 1) / Double(values.count) }
    }

    /// The value for a uniform draw `u` in [0, 1).
    public func pick(_ u: Double) -> Value {
        for (index, threshold) in self.thresholds.enumerated() where u < threshold { return self.values[index] }
        return self.values[self.values.count - 1]
    }

    /// The normalised weight of each value, for reports.
    public var weights: [(Value, Double)] {
        var previous = 0.0
        return zip(self.values, self.thresholds).map { value, threshold in
            defer { previous = threshold }
            return (value, threshold - previous)
        }
    }

    /// Parses `key:weight,...`, turning each key into a value with `parse`.
    public static func parse(_ text: String, flag: String, _ parse: (String) -> Value?) throws(LoadConfigurationError) -> WeightedTable {
        var entries: [(Value, Double)] = []
        for item in text.split(separator: ",") {
            let parts = item.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let weight = Double(parts[1].trimmingWhitespace()) else {
                throw LoadConfigurationError("\(flag): '\(item)' is not key:weight")
            }
            guard let value = parse(String(parts[0].trimmingWhitespace())) else {
                throw LoadConfigurationError("\(flag): unknown key '\(parts[0])'")
            }
            entries.append((value, weight))
        }
        do {
            return try WeightedTable(entries)
        } catch {
            throw LoadConfigurationError("\(flag): \(error.message)")
        }
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while let first = s.first, first.isWhitespace { s.removeFirst() }
        while let last = s.last, last.isWhitespace { s.removeLast() }
        return s
    }
}

/// A configuration the harness refuses, with a message for the person who typed it.
public struct LoadConfigurationError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { self.message }
}
