import NIOCore

/// Splits a byte stream into ``Frame``s, incrementally, for one side of one connection.
///
/// A small value type (after grpc-swift's `GRPCMessageDecoder`): it checks the header, the
/// length cap and the frame's legality *before* slicing or waiting for the payload, so a
/// malicious length costs nothing and a peer can never make it buffer more than
/// `maxPayload` + 12 bytes. Everything it throws is a connection-level ``FramingError``.
///
/// It also keeps the HELLO order, because the length cap depends on it: until the first
/// frame (a HELLO to a server, a HELLO_ACK or GOAWAY to a client) the cap is
/// ``ProtocolLimits/handshakeMaxPayload``.
public struct FrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = Frame

    /// Which side of the connection this decoder reads for.
    public enum Role: Sendable {
        /// Reads what a client sends: a preface, then HELLO, then calls.
        case server
        /// Reads what a server sends: HELLO_ACK (or GOAWAY), then answers.
        case client
    }

    private enum State {
        case awaitingPreface
        case awaitingFirstFrame
        case open
    }

    public let role: Role
    /// The largest payload accepted once the HELLO exchange is over.
    public var maxPayload: Int
    private var state: State
    /// REQUEST stream ids must increase (what makes GOAWAY's last stream id meaningful).
    private var lastRequestStreamID: UInt32 = 0

    /// - Parameters:
    ///   - maxPayload: the cap once the HELLO exchange is over.
    ///   - afterHandshake: start as if preface and HELLO had been read (for a connection whose
    ///     handshake something else has done, and for tests that feed frames in any order).
    public init(role: Role, maxPayload: Int = ProtocolLimits.defaultMaxPayload, afterHandshake: Bool = false) {
        precondition(maxPayload <= ProtocolLimits.absoluteMaxPayload, "maxPayload above the protocol's ceiling")
        self.role = role
        self.maxPayload = maxPayload
        self.state = afterHandshake ? .open : (role == .server ? .awaitingPreface : .awaitingFirstFrame)
    }

    public mutating func decode(buffer: inout ByteBuffer) throws(FramingError) -> Frame? {
        if case .awaitingPreface = self.state {
            guard try Preface.read(from: &buffer) != nil else { return nil }
            self.state = .awaitingFirstFrame
        }
        guard buffer.readableBytes >= ProtocolLimits.headerSize else { return nil }

        let start = buffer.readerIndex
        let (length, rawType, flags, method, streamID) = buffer.getMultipleIntegers(
            at: start,
            as: (UInt32, UInt8, UInt8, UInt16, UInt32).self
        )!
        guard let type = FrameType(rawValue: rawType) else {
            throw FramingError(.unknownFrameType(rawType))
        }
        let limit = self.state == .open ? self.maxPayload : ProtocolLimits.handshakeMaxPayload
        guard length <= limit else {
            throw FramingError(.frameTooLarge(length: length, limit: limit))
        }
        try self.checkLegal(type: type, streamID: streamID, length: Int(length))

        guard buffer.readableBytes >= ProtocolLimits.headerSize + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: ProtocolLimits.headerSize)
        let payload = buffer.readSlice(length: Int(length))!
        self.state = .open
        if type == .request { self.lastRequestStreamID = streamID }
        return Frame(type: type, flags: flags, method: method, streamID: streamID, payload: payload)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws(FramingError) -> Frame? {
        if let frame = try self.decode(buffer: &buffer) { return frame }
        if seenEOF && buffer.readableBytes > 0 {
            throw FramingError(.truncatedFrame(bufferedBytes: buffer.readableBytes))
        }
        return nil
    }

    /// Whether this frame may arrive here now, judged from its header alone.
    private func checkLegal(type: FrameType, streamID: UInt32, length: Int) throws(FramingError) {
        switch (self.role, type) {
        case (.server, .hello), (.client, .helloAck):
            guard case .awaitingFirstFrame = self.state else {
                throw FramingError(.unexpectedFrame(type: type, expected: "no second \(type.name)"))
            }
        case (.client, .goAway), (_, .ping), (_, .pong), (_, .goAway),
            (.server, .request), (.server, .cancel), (.client, .response), (.client, .error):
            if case .awaitingFirstFrame = self.state, type != .goAway {
                throw FramingError(.unexpectedFrame(type: type, expected: self.role == .server ? "HELLO" : "HELLO_ACK"))
            }
        default:
            let from = self.role == .server ? "a client" : "a server"
            throw FramingError(.unexpectedFrame(type: type, expected: "a frame \(from) may send"))
        }

        if type.isConnectionLevel != (streamID == 0) {
            throw FramingError(.invalidStreamID(type: type, streamID: streamID))
        }
        switch type {
        case .ping, .pong:
            guard length == ProtocolLimits.pingPayloadSize else {
                throw FramingError(.invalidPayloadLength(type: type, length: length))
            }
        case .cancel:
            guard length == 0 else { throw FramingError(.invalidPayloadLength(type: type, length: length)) }
        case .request:
            guard length >= ProtocolLimits.requestTimeoutSize else {
                throw FramingError(.invalidPayloadLength(type: type, length: length))
            }
            guard streamID > self.lastRequestStreamID else {
                throw FramingError(.streamIDNotIncreasing(streamID: streamID, previous: self.lastRequestStreamID))
            }
        case .hello, .helloAck, .response, .error, .goAway:
            break
        }
    }
}
