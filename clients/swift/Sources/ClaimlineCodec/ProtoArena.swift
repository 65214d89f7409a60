import CProtobufC
import ClaimlineProtoC

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Scratch memory for one encode or one decode at a time (see `clm_arena.h`).
///
/// Encoding builds protoc-c's structs and NUL-terminated string copies here; decoding hands
/// it to `*_unpack` as the allocator. Either way the whole cycle is forgotten in one reset
/// instead of a `free` per field or a `free_unpacked` walk, and steady traffic allocates
/// nothing. Not `Sendable`: keep one per channel (or per thread).
public final class ProtoArena {
    @usableFromInline let raw: OpaquePointer
    let allocator: UnsafeMutablePointer<ProtobufCAllocator>

    /// `initialCapacity` covers a typical request; a larger message grows the arena once and
    /// the grown size is kept (up to 1 MiB).
    public init(initialCapacity: Int = 16 * 1024) {
        guard let raw = clm_arena_create(initialCapacity) else {
            fatalError("ProtoArena: out of memory creating a \(initialCapacity)-byte arena")
        }
        self.raw = raw
        self.allocator = clm_arena_allocator(raw)
    }

    deinit { clm_arena_destroy(self.raw) }

    /// Bytes handed out since the last reset (0 after every encode and decode).
    public var bytesInUse: Int { clm_arena_used(self.raw) }

    /// Chunks held; 1 in steady state.
    public var chunkCount: Int { clm_arena_chunks(self.raw) }

    func reset() { clm_arena_reset(self.raw) }

    func allocate<T>(_: T.Type, count: Int = 1) throws(CodecError) -> UnsafeMutablePointer<T> {
        guard let block = clm_arena_alloc(self.raw, MemoryLayout<T>.stride * count) else {
            throw CodecError(.outOfMemory)
        }
        return block.bindMemory(to: T.self, capacity: count)
    }
}

@available(*, unavailable)
extension ProtoArena: Sendable {}

// MARK: - Encoding: Swift values into C structs

extension ProtoArena {
    /// A NUL-terminated copy of `value` in the arena, or `nil` (which protobuf-c packs as "")
    /// when it is empty. A NUL inside the string is an error: C would cut the string there.
    /// The copy and the NUL search are one pass (`clm_copy_cstring`).
    func cString(_ value: String, field: StaticString) throws(CodecError) -> UnsafeMutablePointer<CChar>? {
        let count = value.utf8.count
        if count == 0 { return nil }
        let dst = try self.allocate(CChar.self, count: count + 1)
        var nul =
            value.utf8.withContiguousStorageIfAvailable { src in
                clm_copy_cstring(dst, src.baseAddress!, count)
            }
        if nul == nil {
            var contiguous = value
            contiguous.makeContiguousUTF8()
            nul = contiguous.utf8.withContiguousStorageIfAvailable { src in
                clm_copy_cstring(dst, src.baseAddress!, count)
            }
            precondition(nul != nil, "a contiguous UTF-8 string has contiguous storage")
        }
        if nul != 0 { throw CodecError(.embeddedNUL, field: "\(field)") }
        return dst
    }

    func cStrings(
        _ values: [String],
        field: StaticString
    ) throws(CodecError) -> (Int, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) {
        if values.isEmpty { return (0, nil) }
        let array = try self.allocate(UnsafeMutablePointer<CChar>?.self, count: values.count)
        for (index, value) in values.enumerated() {
            do {
                array[index] =
                    try self.cString(value, field: field)
                    ?? UnsafeMutablePointer(mutating: clm_empty_string())
            } catch {
                throw CodecError(error.kind, field: "\(field)[\(index)]")
            }
        }
        return (values.count, array)
    }

    func message<M: ProtobufCMessage>(
        _ value: M?,
        field: StaticString
    ) throws(CodecError) -> UnsafeMutablePointer<M.CMessage>? {
        guard let value else { return nil }
        let c = try self.allocate(M.CMessage.self)
        M.initialize(c)
        do {
            try value.fill(c, arena: self)
        } catch {
            throw error.nested(in: field)
        }
        return c
    }

    func messages<M: ProtobufCMessage>(
        _ values: [M],
        field: StaticString
    ) throws(CodecError) -> (Int, UnsafeMutablePointer<UnsafeMutablePointer<M.CMessage>?>?) {
        if values.isEmpty { return (0, nil) }
        let array = try self.allocate(UnsafeMutablePointer<M.CMessage>?.self, count: values.count)
        for (index, value) in values.enumerated() {
            let c = try self.allocate(M.CMessage.self)
            M.initialize(c)
            do {
                try value.fill(c, arena: self)
            } catch {
                throw error.nested(in: field, index: index)
            }
            array[index] = c
        }
        return (values.count, array)
    }

    func array<T, C>(_ values: [T], _ transform: (T) -> C) -> (Int, UnsafeMutablePointer<C>?) {
        if values.isEmpty { return (0, nil) }
        guard let array = try? self.allocate(C.self, count: values.count) else { return (0, nil) }
        for (index, value) in values.enumerated() { array[index] = transform(value) }
        return (values.count, array)
    }
}

// MARK: - Decoding: C structs (in the arena) out into Swift values

extension ProtoArena {
    /// A Swift copy of a string that `*_unpack` put in the arena.
    ///
    /// The block's size is the wire length + 1 (`clm_arena.h`), so a NUL inside the wire bytes
    /// is seen, not silently cut at; the bytes must be valid UTF-8. Each byte is checked once:
    /// plain ASCII (ids, keys, numbers) by one C scan, anything else by the standard library's
    /// validator, and the `String` is then made by a plain copy that does not validate again.
    static func string(_ pointer: UnsafeMutablePointer<CChar>?, field: StaticString) throws(CodecError) -> String {
        // protoc-c points absent strings at its static empty string, which is not in the arena.
        guard let pointer, UnsafeRawPointer(pointer) != UnsafeRawPointer(clm_empty_string()) else { return "" }
        let count = clm_arena_block_size(pointer) - 1
        if count == 0 { return "" }
        let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: count)
        if #available(macOS 26.0, iOS 26.0, watchOS 26.0, tvOS 26.0, visionOS 26.0, *) {
            if clm_is_plain_ascii(pointer, count) != 0 {
                // Checked above: ASCII without NUL is valid UTF-8 as it stands.
                return String(copying: unsafe UTF8Span(unchecked: bytes.span, isKnownASCII: true))
            }
            if memchr(pointer, 0, count) != nil { throw CodecError(.embeddedNUL, field: "\(field)") }
            // `UTF8Span(validating:)` refuses what `String(decoding:as:)` would repair.
            guard let validated = try? UTF8Span(validating: bytes.span) else {
                throw CodecError(.invalidUTF8, field: "\(field)")
            }
            return String(copying: validated)
        }
        return try Self.stringRepairChecked(pointer, bytes, field: field)
    }

    /// ``string(_:field:)`` where `UTF8Span` is not available (before macOS 26): one repairing
    /// copy, and a compare with the wire bytes turns any repair into a refusal.
    private static func stringRepairChecked(
        _ pointer: UnsafeMutablePointer<CChar>,
        _ bytes: UnsafeBufferPointer<UInt8>,
        field: StaticString
    ) throws(CodecError) -> String {
        let count = bytes.count
        // Plain ASCII (ids, keys, numbers) is valid UTF-8 as it stands: one fast scan and in.
        if clm_is_plain_ascii(pointer, count) != 0 { return String(decoding: bytes, as: UTF8.self) }
        if memchr(pointer, 0, count) != nil { throw CodecError(.embeddedNUL, field: "\(field)") }
        var value = String(decoding: bytes, as: UTF8.self)
        let faithful =
            value.utf8.count == count
            && value.withUTF8 { memcmp($0.baseAddress!, pointer, count) == 0 }
        guard faithful else {
            throw CodecError(.invalidUTF8, field: "\(field)")
        }
        return value
    }

    static func strings(
        _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
        _ count: Int,
        field: StaticString
    ) throws(CodecError) -> [String] {
        guard let pointer, count > 0 else { return [] }
        var out: [String] = []
        out.reserveCapacity(count)
        for index in 0..<count {
            do {
                out.append(try Self.string(pointer[index], field: field))
            } catch {
                throw CodecError(error.kind, field: "\(field)[\(index)]")
            }
        }
        return out
    }

    static func message<M: ProtobufCMessage>(
        _ pointer: UnsafeMutablePointer<M.CMessage>?,
        as: M.Type,
        field: StaticString
    ) throws(CodecError) -> M? {
        guard let pointer else { return nil }
        do {
            return try M(pointer)
        } catch {
            throw error.nested(in: field)
        }
    }

    static func messages<M: ProtobufCMessage>(
        _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<M.CMessage>?>?,
        _ count: Int,
        as: M.Type,
        field: StaticString
    ) throws(CodecError) -> [M] {
        guard let pointer, count > 0 else { return [] }
        var out: [M] = []
        out.reserveCapacity(count)
        for index in 0..<count {
            guard let element = pointer[index] else { continue }
            do {
                out.append(try M(element))
            } catch {
                throw error.nested(in: field, index: index)
            }
        }
        return out
    }

    static func array<C, T>(_ pointer: UnsafeMutablePointer<C>?, _ count: Int, _ transform: (C) -> T) -> [T] {
        guard let pointer, count > 0 else { return [] }
        return UnsafeBufferPointer(start: pointer, count: count).map(transform)
    }
}
