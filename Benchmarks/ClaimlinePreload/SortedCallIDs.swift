import ClaimlineLoad

/// Call ids in UUID form (`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`, lowercase) that are spread
/// uniformly over the key space like random ones, yet come out in ascending order.
///
/// Random ids inserted in random order make every insert land on a random B-tree page, which
/// for ten million rows costs far more than the rows themselves; the finished tree would look
/// the same as one built from sorted input. So the i-th of `count` ids takes the i-th slice of
/// the 64-bit space (`i * (2^64 / count)`) plus a seeded jitter inside its slice, and the
/// tree is built by appends.
public struct SortedCallIDs: Sendable {
    public let count: Int
    private let slot: UInt64
    private var random: SeededRandom

    public init(count: Int, seed: UInt64) {
        self.count = max(1, count)
        self.slot = UInt64.max / UInt64(self.count)
        self.random = SeededRandom(seed: seed)
    }

    /// The id of index `i`, called with `i` = 0, 1, 2, ... in order (the jitter is a stream).
    public mutating func next(_ i: Int) -> String {
        let high = UInt64(i) &* self.slot &+ self.random.next() % self.slot
        let low = self.random.next()
        return Self.format(high: high, low: low)
    }

    /// The top 60 bits of `high` decide the order (the version nibble replaces the low 4 bits):
    /// slices are far wider than 16, so neighbours never tie there.
    static func format(high: UInt64, low: UInt64) -> String {
        let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
        var bytes = [UInt8](repeating: UInt8(ascii: "-"), count: 36)
        var position = 0
        func put(_ value: UInt64, _ nibbles: Int) {
            for k in stride(from: nibbles - 1, through: 0, by: -1) {
                bytes[position] = hexDigits[Int(value >> (UInt64(k) * 4) & 0xF)]
                position += 1
            }
        }
        put(high >> 32, 8)
        position += 1
        put(high >> 16 & 0xFFFF, 4)
        position += 1
        bytes[position] = UInt8(ascii: "4")
        position += 1
        put(high >> 4 & 0xFFF, 3)
        position += 1
        put(0x8 | (low >> 62), 1)
        put(low >> 50 & 0xFFF, 3)
        position += 1
        put(low & 0xFFFF_FFFF_FFFF, 12)
        return String(decoding: bytes, as: UTF8.self)
    }
}
