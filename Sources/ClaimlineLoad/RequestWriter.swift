import ClaimlineCodec
import ClaimlineCore
import ClaimlineWire
import NIOCore

/// Writes REQUEST frames straight into an outbound buffer: header, timeout, then the message
/// encoded by the connection's own arena, with no intermediate payload buffer.
///
/// Not Sendable (it owns a ``ProtoArena``): one per connection, used on its event loop only.
public final class RequestWriter {
    private let arena = ProtoArena()
    public let timeoutMs: UInt32

    public init(timeoutMs: UInt32) { self.timeoutMs = timeoutMs }

    /// Appends the REQUEST for `method` of `plan` on `streamID`, drawing fields from `data`.
    public func write(
        _ method: Method, plan: ContactPlan, streamID: UInt32, data: inout DataGenerator, into buffer: inout ByteBuffer
    ) throws(CodecError) {
        switch method {
        case .escalate: try self.write(data.escalateRequest(plan), method: method, streamID: streamID, into: &buffer)
        case .retain: try self.write(data.retainRequest(plan), method: method, streamID: streamID, into: &buffer)
        default: try self.write(data.fileComplaintRequest(plan), method: .fileComplaint, streamID: streamID, into: &buffer)
        }
    }

    public func write<M: ProtobufCMessage>(_ message: M, method: Method, streamID: UInt32, into buffer: inout ByteBuffer) throws(CodecError) {
        let timeout = self.timeoutMs
        let arena = self.arena
        try buffer.writeFrame(type: .request, method: method.rawValue, streamID: streamID) { (out: inout ByteBuffer) throws(CodecError) -> Int in
            out.writeInteger(timeout) + (try message.encode(into: &out, arena: arena))
        }
    }

    /// The decision of an Escalate answer (all the contact flow needs from it).
    public func decision(of payload: ByteBuffer) -> EscalateDecision {
        (try? EscalateResponse.decode(from: payload, arena: self.arena))?.decision ?? .unspecified
    }

    /// The status code of an ERROR frame; INTERNAL when it cannot be read.
    public func statusCode(of payload: ByteBuffer) -> UInt32 {
        (try? RpcStatus.decode(from: payload, arena: self.arena))?.code ?? StatusCode.internal.rawValue
    }

    public func goAway(of payload: ByteBuffer) -> GoAway {
        (try? GoAway.decode(from: payload, arena: self.arena)) ?? GoAway(code: StatusCode.internal.rawValue, reason: "UNREADABLE")
    }

    public func helloAck(of payload: ByteBuffer) -> HelloAck? {
        try? HelloAck.decode(from: payload, arena: self.arena)
    }

    public func writeHello(_ hello: Hello, into buffer: inout ByteBuffer) {
        let arena = self.arena
        Preface().write(to: &buffer)
        try? buffer.writeFrame(type: .hello, streamID: 0) { (out: inout ByteBuffer) throws(CodecError) -> Int in
            try hello.encode(into: &out, arena: arena)
        }
    }
}
