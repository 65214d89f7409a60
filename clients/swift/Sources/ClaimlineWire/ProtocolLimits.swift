/// Sizes every peer must agree on before the HELLO exchange, and the defaults after it.
public enum ProtocolLimits {
    /// Bytes of a frame header.
    public static let headerSize = 12
    /// Bytes of the timeout in front of every REQUEST payload.
    public static let requestTimeoutSize = 4
    /// Bytes of a PING or PONG payload.
    public static let pingPayloadSize = 8
    /// Largest payload accepted before the HELLO exchange is over: a HELLO is small, and a
    /// stranger must not make the server buffer megabytes before authenticating.
    public static let handshakeMaxPayload = 4096
    /// The server's default max frame payload, advertised in HELLO_ACK.
    public static let defaultMaxPayload = 64 * 1024
    /// The server's default limit on requests in flight per connection, advertised in HELLO_ACK.
    public static let defaultMaxConcurrentStreams = 1024
    /// A hard ceiling on any configured max frame payload.
    public static let absoluteMaxPayload = 16 * 1024 * 1024
}
