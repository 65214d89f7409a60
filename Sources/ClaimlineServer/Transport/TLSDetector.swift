import ClaimlineCodec
import ClaimlineCore
import ClaimlineWire
import NIOCore
import NIOSSL
import NIOTLS

/// First in a TLS port's pipeline: looks at the connection's first byte and steps aside.
///
///     first byte 0x16 (a TLS handshake record)  ->  NIOSSLServerHandler + PeerCertificateHandler
///     first byte 'C' (the CLML preface)         ->  GOAWAY FAILED_PRECONDITION TLS_REQUIRED, close
///     anything else                             ->  close
///
/// So a client that forgot TLS is told so in its own protocol, at once, instead of waiting for
/// a TLS handshake that never comes or reading a TLS alert as garbage.
final class TLSDetector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let tls: ServerTLS
    private let onPlainClient: @Sendable () -> Void
    private let onHandshakeFailure: @Sendable (String) -> Void
    private var decided = false

    /// - Parameters:
    ///   - onPlainClient: a plain client was told TLS_REQUIRED (for the log and the metrics).
    ///   - onHandshakeFailure: a TLS handshake failed, with NIOSSL's reason.
    init(tls: ServerTLS, onPlainClient: @escaping @Sendable () -> Void, onHandshakeFailure: @escaping @Sendable (String) -> Void) {
        self.tls = tls
        self.onPlainClient = onPlainClient
        self.onHandshakeFailure = onHandshakeFailure
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.decided else { return }  // after a refusal, until the close
        let buffer = self.unwrapInboundIn(data)
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return }
        self.decided = true
        switch first {
        case 0x16:
            do {
                try context.pipeline.syncOperations.addHandlers(
                    [NIOSSLServerHandler(context: self.tls.context), PeerCertificateHandler(onHandshakeFailure: self.onHandshakeFailure)],
                    position: .after(self)
                )
            } catch {
                context.close(promise: nil)
                return
            }
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
        case Preface.magic[0]:
            self.onPlainClient()
            var out = context.channel.allocator.buffer(capacity: 128)
            let goAway = GoAway(
                lastStreamId: 0, code: StatusCode.failedPrecondition.rawValue, reason: Reason.tlsRequired,
                message: "this port speaks TLS: connect with TLS"
            )
            let arena = ProtoArena()
            _ = try? out.writeFrame(type: .goAway, streamID: 0) { (body: inout ByteBuffer) throws(CodecError) -> Int in
                try goAway.encode(into: &body, arena: arena)
            }
            // Close once the GOAWAY is out: the client has sent its preface and HELLO in one go
            // and both are read, so the close is a FIN after the frame, not a reset.
            let channel = context.channel
            context.writeAndFlush(self.wrapOutboundOut(out)).whenComplete { _ in channel.close(promise: nil) }
        default:
            context.close(promise: nil)
        }
    }
}

/// After NIOSSL: when the handshake completes, reads the verified client certificate's subject
/// and passes it on as a ``PeerCertificate`` event, before any frame.
final class PeerCertificateHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let onHandshakeFailure: @Sendable (String) -> Void

    init(onHandshakeFailure: @escaping @Sendable (String) -> Void) {
        self.onHandshakeFailure = onHandshakeFailure
    }

    /// Before the handshake completes, an error is the handshake's (no certificate, one from
    /// another CA, not TLS at all): reported once, then passed on (the connection closes).
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? NIOSSLError {
            self.onHandshakeFailure("\(error)")
        } else if error is BoringSSLError {
            self.onHandshakeFailure("\(error)")
        }
        context.fireErrorCaught(error)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        context.fireUserInboundEventTriggered(event)
        guard case TLSUserEvent.handshakeCompleted = event else { return }
        if let ssl = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self),
            let certificate = ssl.peerCertificate
        {
            let subject = CertificateSubject(
                attributes: certificate.subjectName.compactMap { name in
                    Self.shortNames[name.type].map { (name: $0, value: name.value) }
                }
            )
            context.fireUserInboundEventTriggered(PeerCertificate(subject: subject))
        }
        context.pipeline.syncOperations.removeHandler(self, promise: nil)
    }

    private static let shortNames: [SSLCertificateNameType: String] = [
        .commonName: "CN", .organization: "O", .organizationalUnit: "OU", .country: "C",
        .state: "ST", .city: "L", .emailAddress: "EMAILADDRESS", .userId: "UID",
    ]
}
