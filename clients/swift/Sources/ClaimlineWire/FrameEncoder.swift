import NIOCore

/// Writes ``Frame``s; the NIO face of ``ByteBuffer/writeFrame(_:)``.
public struct FrameEncoder: MessageToByteEncoder, Sendable {
    public typealias OutboundIn = Frame

    public init() {}

    public func encode(data frame: Frame, out: inout ByteBuffer) {
        out.writeFrame(frame)
    }
}

extension ByteBuffer {
    /// Appends `frame`: its 12-byte header, then its payload.
    @discardableResult
    public mutating func writeFrame(_ frame: Frame) -> Int {
        self.writeMultipleIntegers(
            UInt32(frame.payload.readableBytes),
            frame.type.rawValue,
            frame.flags,
            frame.method,
            frame.streamID
        ) + self.writeImmutableBuffer(frame.payload)
    }

    /// Appends a frame whose payload `body` writes straight into this buffer, then fills in the
    /// length: the hot path, with no intermediate payload buffer or copy.
    ///
    /// `body` returns the bytes it wrote; the frame is the 12-byte header plus those.
    @discardableResult
    public mutating func writeFrame<E: Error>(
        type: FrameType,
        flags: UInt8 = 0,
        method: UInt16 = 0,
        streamID: UInt32,
        body: (inout ByteBuffer) throws(E) -> Int
    ) throws(E) -> Int {
        let headerIndex = self.writerIndex
        self.writeMultipleIntegers(UInt32(0), type.rawValue, flags, method, streamID)
        let written: Int
        do {
            written = try body(&self)
        } catch {
            self.moveWriterIndex(to: headerIndex)
            throw error
        }
        self.setInteger(UInt32(written), at: headerIndex)
        return ProtocolLimits.headerSize + written
    }
}
