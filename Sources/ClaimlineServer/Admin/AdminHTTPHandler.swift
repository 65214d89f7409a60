import NIOCore
import NIOHTTP1

/// The admin listener's one handler, on NIOHTTP1 (no web framework): three GET routes.
///
///     GET /metrics   200, Prometheus text format 0.0.4: the server's metrics and the process's
///     GET /healthz   200 "ok": the process answers (liveness)
///     GET /readyz    200 "ready", or 503 "not ready: <why>" (fail-stopped, reconnecting, draining)
///     other paths    404; other methods 405
///
/// Request bodies are read and dropped; NIOHTTP1 bounds the head. Keep-alive as the client asks.
///
/// **Bounded like the service port.** A request is answered only while the socket takes what
/// it is given (the channel is writable; the connection's write buffer has a small high
/// watermark); until then the request waits here and nothing more is read from the peer
/// (NIOHTTP1's pipelining handler holds the requests already read, which one read bounds). So
/// a scraper that pipelines `GET /metrics` and never reads costs one answer and one watermark,
/// not an answer per request. The listener's connection cap and idle timeout are set where it
/// binds (``ClaimlineServer``).
final class AdminHTTPHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    struct Routes: Sendable {
        var metrics: @Sendable () -> [UInt8]
        var readiness: @Sendable () -> Readiness
    }

    private let routes: Routes
    private var head: HTTPRequestHead?
    /// A complete request waiting for the socket to take the previous answer.
    private var waiting: HTTPRequestHead?
    private var readHeld = false

    init(routes: Routes) {
        self.routes = routes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break
        case .end:
            guard let head = self.head else { return }
            self.head = nil
            if context.channel.isWritable {
                self.respond(to: head, context: context)
            } else {
                self.waiting = head
            }
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            if let head = self.waiting {
                self.waiting = nil
                self.respond(to: head, context: context)
            }
            if self.waiting == nil && self.readHeld {
                self.readHeld = false
                context.read()
            }
        }
        context.fireChannelWritabilityChanged()
    }

    /// Nothing more is read while an answer waits for the socket.
    func read(context: ChannelHandlerContext) {
        if self.waiting != nil || !context.channel.isWritable {
            self.readHeld = true
        } else {
            context.read()
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        let (status, contentType, body): (HTTPResponseStatus, String, [UInt8])
        switch (head.method, path) {
        case (.GET, "/metrics"), (.HEAD, "/metrics"):
            var text = self.routes.metrics()
            text.append(contentsOf: ProcessMetrics.render().utf8)
            (status, contentType, body) = (.ok, "text/plain; version=0.0.4; charset=utf-8", text)
        case (.GET, "/healthz"), (.HEAD, "/healthz"):
            (status, contentType, body) = (.ok, "text/plain; charset=utf-8", Array("ok\n".utf8))
        case (.GET, "/readyz"), (.HEAD, "/readyz"):
            switch self.routes.readiness() {
            case .ready: (status, contentType, body) = (.ok, "text/plain; charset=utf-8", Array("ready\n".utf8))
            case .notReady(let why):
                (status, contentType, body) = (.serviceUnavailable, "text/plain; charset=utf-8", Array("not ready: \(why)\n".utf8))
            }
        case (_, "/metrics"), (_, "/healthz"), (_, "/readyz"):
            (status, contentType, body) = (.methodNotAllowed, "text/plain; charset=utf-8", Array("GET only\n".utf8))
        default:
            (status, contentType, body) = (.notFound, "text/plain; charset=utf-8", Array("not found: /metrics, /healthz, /readyz\n".utf8))
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: "\(body.count)")
        headers.add(name: "Connection", value: head.isKeepAlive ? "keep-alive" : "close")
        context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            context.write(self.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        let keepAlive = head.isKeepAlive
        let channel = context.channel
        context.writeAndFlush(self.wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }
}
