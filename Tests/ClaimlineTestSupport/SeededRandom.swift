import ClaimlineLoad

extension SeededRandom {
    /// `count` random bytes, for the fuzz and property tests (the harness's seedable generator,
    /// so a failure can be replayed from its seed).
    public mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
    }
}
