import NIOCore

/// A stable 64-bit fingerprint (FNV-1a) of a request's bytes: "the same request" for
/// idempotency. Stable across processes and restarts, unlike `Hasher`.
enum RequestFingerprint {
    static func of(_ bytes: ByteBuffer) -> UInt64 {
        bytes.withUnsafeReadableBytes { raw in
            var hash: UInt64 = 0xCBF2_9CE4_8422_2325
            for byte in raw {
                hash ^= UInt64(byte)
                hash &*= 0x0000_0100_0000_01B3
            }
            return hash
        }
    }
}
