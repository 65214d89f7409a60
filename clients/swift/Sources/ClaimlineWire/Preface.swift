import NIOCore

/// The 8 bytes a client sends first on every connection.
///
///     0       1       2       3       4       5       6       7
///     +-------+-------+-------+-------+-------+-------+-------+-------+
///     |  'C'  |  'L'  |  'M'  |  'L'  | major | minor |   reserved    |
///     |  0x43 |  0x4C |  0x4D |  0x4C |  0x01 |  0x00 |  0x00 |  0x00 |
///     +-------+-------+-------+-------+-------+-------+-------+-------+
///
/// The magic lets a server tell a Claimline client from a stray HTTP probe in one read; the
/// major version changes only when old clients cannot be served (the server answers an
/// unknown major with GOAWAY `UNSUPPORTED_VERSION`); a minor version only adds.
public struct Preface: Hashable, Sendable {
    public static let size = 8
    public static let magic: [UInt8] = [0x43, 0x4C, 0x4D, 0x4C]  // "CLML"

    public var major: UInt8
    public var minor: UInt8

    public init(major: UInt8 = ProtocolVersion.major, minor: UInt8 = ProtocolVersion.minor) {
        self.major = major
        self.minor = minor
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeBytes(Self.magic)
        buffer.writeMultipleIntegers(self.major, self.minor, UInt16(0))
    }

    /// Reads a preface, or returns nil (reading nothing) while fewer than 8 bytes are there.
    static func read(from buffer: inout ByteBuffer) throws(FramingError) -> Preface? {
        guard buffer.readableBytes >= Self.size else {
            // Refuse a wrong magic as soon as its first byte arrives, not only after 8.
            let view = buffer.readableBytesView.prefix(Self.magic.count)
            if !view.elementsEqual(Self.magic.prefix(view.count)) { throw FramingError(.badPreface) }
            return nil
        }
        let magic = buffer.readBytes(length: 4)!
        let (major, minor, _) = buffer.readMultipleIntegers(as: (UInt8, UInt8, UInt16).self)!
        guard magic == Self.magic else { throw FramingError(.badPreface) }
        guard major == ProtocolVersion.major else {
            throw FramingError(.unsupportedVersion(major: major, minor: minor))
        }
        return Preface(major: major, minor: minor)
    }
}

/// The protocol version this build speaks.
public enum ProtocolVersion {
    public static let major: UInt8 = 1
    public static let minor: UInt8 = 0
}
