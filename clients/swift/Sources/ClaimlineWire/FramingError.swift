import ClaimlineCore

/// A fault in the byte stream itself: the connection cannot continue.
///
/// Every framing error is connection-level (PROTOCOL.md, "Faults"): after it the receiver
/// can no longer trust where the next frame starts, so it sends GOAWAY with ``goAwayCode`` and
/// ``goAwayReason`` and closes. Faults inside a well-framed REQUEST (bad protobuf, a bad field)
/// are stream-level and never reach this type.
public struct FramingError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// The first bytes are not `CLML`.
        case badPreface
        /// The magic is right but this build does not speak that major version.
        case unsupportedVersion(major: UInt8, minor: UInt8)
        /// The header announces more payload than the receiver accepts; nothing was buffered.
        case frameTooLarge(length: UInt32, limit: Int)
        /// A frame type this version does not define.
        case unknownFrameType(UInt8)
        /// A connection frame on a stream, or a call frame on stream 0.
        case invalidStreamID(type: FrameType, streamID: UInt32)
        /// A payload length the frame type does not allow (PING not 8, CANCEL not 0, REQUEST < 4).
        case invalidPayloadLength(type: FrameType, length: Int)
        /// A frame the sender's role may not send, or one out of the HELLO order.
        case unexpectedFrame(type: FrameType, expected: String)
        /// A REQUEST reused a stream id or went below the previous one.
        case streamIDNotIncreasing(streamID: UInt32, previous: UInt32)
        /// The connection ended in the middle of a frame.
        case truncatedFrame(bufferedBytes: Int)
    }

    public var kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    /// The reason GOAWAY carries, machine-readable.
    public var goAwayReason: String {
        switch self.kind {
        case .badPreface: Reason.badPreface
        case .unsupportedVersion: Reason.unsupportedVersion
        case .frameTooLarge: Reason.frameTooLarge
        case .unknownFrameType, .invalidStreamID, .invalidPayloadLength, .unexpectedFrame, .streamIDNotIncreasing,
            .truncatedFrame:
            Reason.protocolError
        }
    }

    /// The status code GOAWAY carries.
    public var goAwayCode: StatusCode {
        switch self.kind {
        case .unsupportedVersion: .unimplemented
        case .frameTooLarge: .resourceExhausted
        default: .internal  // as gRPC maps HTTP/2 protocol errors
        }
    }

    public var description: String {
        switch self.kind {
        case .badPreface: "bad connection preface: not a Claimline v1 client"
        case .unsupportedVersion(let major, let minor):
            "unsupported protocol version \(major).\(minor); this server speaks \(ProtocolVersion.major).x"
        case .frameTooLarge(let length, let limit): "frame payload of \(length) bytes exceeds the limit of \(limit)"
        case .unknownFrameType(let type): "unknown frame type 0x\(String(type, radix: 16))"
        case .invalidStreamID(let type, let streamID): "\(type.name) frame on stream \(streamID)"
        case .invalidPayloadLength(let type, let length): "\(type.name) frame with a \(length)-byte payload"
        case .unexpectedFrame(let type, let expected): "unexpected \(type.name) frame; expected \(expected)"
        case .streamIDNotIncreasing(let streamID, let previous):
            "REQUEST on stream \(streamID), not above the previous stream \(previous)"
        case .truncatedFrame(let bytes): "connection closed inside a frame (\(bytes) bytes buffered)"
        }
    }
}
