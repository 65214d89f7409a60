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

    /// Runs `body` with the message's protobuf-c descriptor (for diagnosing refused bytes).
    static func withDescriptor<R>(_ body: (UnsafePointer<ProtobufCMessageDescriptor>) -> R) -> R

    /// Copies a C struct (from `unpack` into an arena) out into a Swift value.
    init(_ c: UnsafePointer<CMessage>) throws(CodecError)

    /// Appends the encoded message to `buffer` (no length prefix); returns the bytes written.
    ///
    /// One size pass and one pack pass straight into the buffer's storage: no intermediate
    /// array. Steady state makes no malloc: C structs and string copies live in `arena`.
    @discardableResult
    func encode(into buffer: inout ByteBuffer, arena: ProtoArena) throws(CodecError) -> Int

    /// Decodes one message that fills `bytes` exactly.
    static func decode(from bytes: UnsafeRawBufferPointer, arena: ProtoArena) throws(CodecError) -> Self
}

extension ProtobufCMessage {
    /// Decodes the readable bytes of `buffer` (which must be exactly one message).
    @inlinable
    public static func decode(from buffer: ByteBuffer, arena: ProtoArena) throws(CodecError) -> Self {
        do {
            return try buffer.withUnsafeReadableBytes { bytes in try Self.decode(from: bytes, arena: arena) }
        } catch {
            // withUnsafeReadableBytes rethrows untyped; only a CodecError can come out of it.
            throw error as! CodecError
        }
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

/// The bodies of every message's `encode` and `decode`. Generated conformances call these with
/// their concrete type, inside this module, so the optimiser specialises them per message: a
/// caller in another module then runs no generic code (no metadata lookups) on the hot path.
enum ProtobufCCoding {
    static func encode<M: ProtobufCMessage>(_ message: M, into buffer: inout ByteBuffer, arena: ProtoArena) throws(CodecError) -> Int {
        defer { arena.reset() }
        let c: UnsafeMutablePointer<M.CMessage>
        do {
            c = try arena.allocate(M.CMessage.self)
            M.initialize(c)
            try message.fill(c, arena: arena)
        } catch {
            var error = error
            error.messageName = M.protoName
            throw error
        }
        let size = M.packedSize(c)
        guard size > 0 else { return 0 }
        return buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { out in
            M.pack(c, out.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
    }

    static func decode<M: ProtobufCMessage>(_: M.Type, from bytes: UnsafeRawBufferPointer, arena: ProtoArena) throws(CodecError) -> M {
        // protobuf-c reads nothing when the count is 0, but wants a pointer all the same.
        var empty: UInt8 = 0
        let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let unpacked = withUnsafePointer(to: &empty) { emptyPointer in
            M.unpack(arena.allocator, bytes.count, base ?? emptyPointer)
        }
        guard let c = unpacked else {
            arena.reset()
            throw CodecError(.malformed, messageName: M.protoName, field: Self.diagnose(M.self, bytes))
        }
        // No `defer` here: it made the optimiser copy the whole value out (a retain per string).
        do {
            let value = try M(c)
            arena.reset()
            return value
        } catch {
            arena.reset()
            var error = error
            error.messageName = M.protoName
            throw error
        }
    }
}

extension ProtobufCCoding {
    /// The field libprotobuf-c refused, when one is to blame (a wrong wire type, a length past
    /// the end): the error path only.
    static func diagnose<M: ProtobufCMessage>(_: M.Type, _ bytes: UnsafeRawBufferPointer) -> String {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return "" }
        var path = [CChar](repeating: 0, count: 256)
        let found = M.withDescriptor { descriptor in
            clm_wire_diagnose(descriptor, base, bytes.count, &path, path.count)
        }
        guard found != 0 else { return "" }
        return String(decoding: path.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Every message type by its protobuf name, for tools and tests that meet a name at run time
/// (the golden vectors). The table itself is generated.
public enum ProtobufCRegistry {}
