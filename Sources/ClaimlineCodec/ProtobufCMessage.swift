import CProtobufC
import ClaimlineCore
import ClaimlineProtoC
import NIOCore

/// A message value type that maps to and from its protoc-c struct.
///
/// Conformances are generated (`tools/codegen/gen_swift.py`). They see C pointers only inside
/// ``fill(_:arena:)`` and ``init(_:)``, whose pointers all live in one ``ProtoArena`` cycle;
/// the public ``encode(into:arena:)`` and ``decode(from:arena:)`` let none escape.
public protocol ProtobufCMessage: Hashable, Sendable {
    associatedtype CMessage

    /// The full protobuf name, e.g. `claimline.v1.EscalateRequest`.
    static var protoName: String { get }

    static func initialize(_ c: UnsafeMutablePointer<CMessage>)
    static func packedSize(_ c: UnsafePointer<CMessage>) -> Int
    static func pack(_ c: UnsafePointer<CMessage>, _ out: UnsafeMutablePointer<UInt8>) -> Int
    static func unpack(
        _ allocator: UnsafeMutablePointer<ProtobufCAllocator>,
        _ count: Int,
        _ bytes: UnsafePointer<UInt8>
    ) -> UnsafeMutablePointer<CMessage>?

    /// Writes this value into an initialised C struct; strings and submessages go in `arena`.
    func fill(_ c: UnsafeMutablePointer<CMessage>, arena: ProtoArena) throws(CodecError)

    /// Copies a C struct (from `unpack` into an arena) out into a Swift value.
    init(_ c: UnsafePointer<CMessage>) throws(CodecError)
}

extension ProtobufCMessage {
    /// Appends the encoded message to `buffer` (no length prefix); returns the bytes written.
    ///
    /// One size pass and one pack pass straight into the buffer's storage: no intermediate
    /// array. Steady state makes no malloc: C structs and string copies live in `arena`.
    @discardableResult
    public func encode(into buffer: inout ByteBuffer, arena: ProtoArena) throws(CodecError) -> Int {
        defer { arena.reset() }
        let c: UnsafeMutablePointer<CMessage>
        do {
            c = try arena.allocate(CMessage.self)
            Self.initialize(c)
            try self.fill(c, arena: arena)
        } catch {
            var error = error
            error.messageName = Self.protoName
            throw error
        }
        let size = Self.packedSize(c)
        guard size > 0 else { return 0 }
        return buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { out in
            Self.pack(c, out.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// Decodes one message that fills `bytes` exactly.
    public static func decode(from bytes: UnsafeRawBufferPointer, arena: ProtoArena) throws(CodecError) -> Self {
        defer { arena.reset() }
        // protobuf-c reads nothing when the count is 0, but wants a pointer all the same.
        var empty: UInt8 = 0
        let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let unpacked = withUnsafePointer(to: &empty) { emptyPointer in
            Self.unpack(arena.allocator, bytes.count, base ?? emptyPointer)
        }
        guard let c = unpacked else {
            throw CodecError(.malformed, messageName: Self.protoName)
        }
        do {
            return try Self(c)
        } catch {
            var error = error
            error.messageName = Self.protoName
            throw error
        }
    }

    /// Decodes the readable bytes of `buffer` (which must be exactly one message).
    public static func decode(from buffer: ByteBuffer, arena: ProtoArena) throws(CodecError) -> Self {
        let result: Result<Self, CodecError> = buffer.withUnsafeReadableBytes { bytes in
            Result { () throws(CodecError) -> Self in try Self.decode(from: bytes, arena: arena) }
        }
        return try result.get()
    }

    /// Convenience for tests and tools: a fresh arena, bytes out.
    public func encodedBytes() throws(CodecError) -> [UInt8] {
        var buffer = ByteBuffer()
        try self.encode(into: &buffer, arena: ProtoArena())
        return Array(buffer.readableBytesView)
    }

    /// Convenience for tests and tools: a fresh arena.
    public static func decode(from bytes: [UInt8]) throws(CodecError) -> Self {
        let result: Result<Self, CodecError> = bytes.withUnsafeBytes { raw in
            Result { () throws(CodecError) -> Self in try Self.decode(from: raw, arena: ProtoArena()) }
        }
        return try result.get()
    }
}

/// Every message type by its protobuf name, for tools and tests that meet a name at run time
/// (the golden vectors). The table itself is generated.
public enum ProtobufCRegistry {}
