/// SplitMix64: the preload's only source of randomness, so a seed gives the same database
/// byte for byte (rows, not page layout) and the tests can regenerate what was written.
public struct PreloadRandom: Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        self.state = seed
    }

    public mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(self.state)
    }

    /// Uniform in `0..<bound` (the tiny modulo bias does not matter for synthetic data).
    public mutating func below(_ bound: Int) -> Int {
        Int(self.next() % UInt64(max(1, bound)))
    }

    /// Uniform in [0, 1).
    public mutating func unit() -> Double {
        Double(self.next() >> 11) * 0x1.0p-53
    }

    /// The finalizer alone: a stateless hash, so subscriber `k` is the same every time it calls.
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
