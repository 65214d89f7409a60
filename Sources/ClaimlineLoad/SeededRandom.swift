/// SplitMix64: a tiny, fast, seedable generator, so the same `--seed` gives the same traffic
/// on every machine and Swift version (the standard library's generator promises neither).
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { self.state = seed }

    public mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(self.state)
    }

    /// The finalizer alone: a stateless hash (the preload's subscriber `k` is the same every time).
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 bits.
    public mutating func unit() -> Double { Double(self.next() >> 11) * 0x1.0p-53 }

    /// Uniform in 0..<bound.
    public mutating func below(_ bound: Int) -> Int { Int(self.next() % UInt64(bound)) }

    /// A seed for a sub-stream (one per connection), so connections do not share a sequence.
    public static func derive(_ seed: UInt64, _ stream: Int) -> UInt64 {
        var mixer = SeededRandom(seed: seed ^ (UInt64(stream) &* 0xD6E8_FEB8_6659_FD93))
        return mixer.next()
    }
}
