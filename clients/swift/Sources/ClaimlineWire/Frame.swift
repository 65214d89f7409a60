import NIOCore

/// One frame: a fixed 12-byte header and its payload.
///
///     0                   1                   2                   3
///     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
///     +---------------------------------------------------------------+
///     |                  Payload length (32, big endian)              |
///     +---------------+---------------+-------------------------------+
///     |   Type (8)    |   Flags (8)   |          Method (16)          |
///     +---------------+---------------+-------------------------------+
///     |                        Stream id (32)                         |
///     +---------------------------------------------------------------+
///     |                  Payload (length bytes) ...
///     +---------------------------------------------------------------+
///
/// The length counts the payload only, so a receiver knows from 4 bytes how much to wait for
/// and can refuse an oversized frame before buffering any of it. The method travels in the
/// header (not in the payload) so a server can route, authorise and count a call without
/// decoding it. Flags are reserved in v1: senders send 0, receivers ignore them.
public struct Frame: Hashable, Sendable {
    public var type: FrameType
    public var flags: UInt8
    /// A ``ClaimlineCore/Method`` number on REQUEST, RESPONSE and ERROR; 0 elsewhere.
    public var method: UInt16
    /// 0 for connection frames; the call's stream id otherwise.
    public var streamID: UInt32
    public var payload: ByteBuffer

    public init(type: FrameType, flags: UInt8 = 0, method: UInt16 = 0, streamID: UInt32 = 0, payload: ByteBuffer = ByteBuffer()) {
        self.type = type
        self.flags = flags
        self.method = method
        self.streamID = streamID
        self.payload = payload
    }
}

extension Frame {
    /// The relative deadline of a REQUEST, in milliseconds; 0 means none.
    public var requestTimeoutMs: UInt32 {
        precondition(self.type == .request, "only REQUEST frames carry a timeout")
        return self.payload.getInteger(at: self.payload.readerIndex, as: UInt32.self) ?? 0
    }

    /// The message bytes of a REQUEST, after its timeout.
    public var requestMessage: ByteBuffer {
        precondition(self.type == .request, "only REQUEST frames carry a timeout")
        return self.payload.getSlice(
            at: self.payload.readerIndex + ProtocolLimits.requestTimeoutSize,
            length: self.payload.readableBytes - ProtocolLimits.requestTimeoutSize
        ) ?? ByteBuffer()
    }

    public static func ping(_ data: UInt64) -> Frame {
        var payload = ByteBuffer()
        payload.writeInteger(data)
        return Frame(type: .ping, payload: payload)
    }

    /// The PONG that answers `ping`, echoing its 8 bytes.
    public static func pong(answering ping: Frame) -> Frame {
        Frame(type: .pong, payload: ping.payload)
    }

    public static func cancel(streamID: UInt32) -> Frame {
        Frame(type: .cancel, streamID: streamID)
    }
}
