import ClaimlineCodec
import ClaimlineStore

/// What a read handler may touch: a reader of committed state, the arena its answer is
/// encoded with, and the largest answer the peer takes. Lent by the reader pool to one
/// thread at a time.
struct ReadContext {
    let reader: any ClaimStoreReader
    let arena: ProtoArena
    /// The advertised max_frame_size: list answers are cut to fit.
    let maxAnswerBytes: Int
}
