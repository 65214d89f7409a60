import ClaimlineCodec
import ClaimlineCore
import ClaimlineWire
import NIOCore

/// One byte-exact example of the protocol: what PROTOCOL.md shows and every client's tests read.
public struct GoldenVector: Sendable {
    public enum Kind: String, Sendable { case preface, frame }

    public var name: String
    public var summary: String
    public var kind: Kind
    /// The bytes exactly as on the wire: the preface, or one whole frame (header and payload).
    public var bytes: [UInt8]
    /// For frames: the header fields.
    public var frame: Frame?
    /// For REQUEST frames: the timeout in front of the message.
    public var timeoutMs: UInt32?
    /// For frames whose payload is a protobuf message: its full name, bytes and text format.
    public var messageName: String?
    public var messageBytes: [UInt8]?
    public var messageText: String?
}

extension GoldenVector {
    static func preface() -> GoldenVector {
        var buffer = ByteBuffer()
        Preface().write(to: &buffer)
        return GoldenVector(
            name: "preface",
            summary: "The 8 bytes a client sends first: \"CLML\", version 1.0, reserved zeros.",
            kind: .preface,
            bytes: Array(buffer.readableBytesView)
        )
    }

    /// A frame whose payload is `message` (after a timeout on REQUEST frames).
    static func frame<M: ProtobufCMessage & TextFormatWritable>(
        _ name: String,
        _ summary: String,
        type: FrameType,
        method: Method? = nil,
        streamID: UInt32 = 0,
        timeoutMs: UInt32? = nil,
        message: M
    ) -> GoldenVector {
        let messageBytes = try! message.encodedBytes()
        var payload = ByteBuffer()
        if let timeoutMs { payload.writeInteger(timeoutMs) }
        payload.writeBytes(messageBytes)
        let frame = Frame(type: type, method: method?.rawValue ?? 0, streamID: streamID, payload: payload)
        return GoldenVector(
            name: name,
            summary: summary,
            kind: .frame,
            bytes: Self.wire(frame),
            frame: frame,
            timeoutMs: timeoutMs,
            messageName: M.protoName,
            messageBytes: messageBytes,
            messageText: message.textFormat
        )
    }

    /// A frame whose payload is not a protobuf message (PING, PONG, CANCEL).
    static func rawFrame(_ name: String, _ summary: String, _ frame: Frame) -> GoldenVector {
        GoldenVector(name: name, summary: summary, kind: .frame, bytes: Self.wire(frame), frame: frame)
    }

    private static func wire(_ frame: Frame) -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeFrame(frame)
        return Array(buffer.readableBytesView)
    }
}
