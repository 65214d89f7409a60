/// The frame types of protocol v1 (PROTOCOL.md, "Frame types").
public enum FrameType: UInt8, CaseIterable, Sendable {
    /// Client → server, stream 0: credentials and client name (`Hello`).
    case hello = 0x01
    /// Server → client, stream 0: session id and the server's limits (`HelloAck`).
    case helloAck = 0x02
    /// Client → server: one call; payload is a 4-byte timeout then the request message.
    case request = 0x03
    /// Server → client: the call's answer (the response message).
    case response = 0x04
    /// Server → client: the call failed (`RpcStatus`); the stream ends, the connection lives.
    case error = 0x05
    /// Client → server: the client no longer wants the answer; empty payload.
    case cancel = 0x06
    /// Either way, stream 0: 8 opaque bytes the peer echoes in a PONG.
    case ping = 0x07
    /// Either way, stream 0: the 8 bytes of the PING it answers.
    case pong = 0x08
    /// Either way, stream 0: the sender is closing the connection (`GoAway`).
    case goAway = 0x09

    /// Control frames belong to the connection, not to a call.
    public var isConnectionLevel: Bool {
        switch self {
        case .hello, .helloAck, .ping, .pong, .goAway: true
        case .request, .response, .error, .cancel: false
        }
    }

    public var name: String {
        switch self {
        case .hello: "HELLO"
        case .helloAck: "HELLO_ACK"
        case .request: "REQUEST"
        case .response: "RESPONSE"
        case .error: "ERROR"
        case .cancel: "CANCEL"
        case .ping: "PING"
        case .pong: "PONG"
        case .goAway: "GOAWAY"
        }
    }
}
