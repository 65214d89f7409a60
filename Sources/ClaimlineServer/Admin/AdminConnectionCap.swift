import NIOConcurrencyHelpers
import NIOCore

/// The admin listener's connection cap: at most ``limit`` connections at once; one more gets a
/// plain `503` and is closed, so a misbehaving scraper (or a thousand idle ones) can neither
/// take the process's descriptors nor starve the service port.
final class AdminConnectionCap: Sendable {
    let limit: Int
    private let open = NIOLockedValueBox(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Counts `channel` until it closes; false (and nothing counted) when the cap is reached.
    func admit(_ channel: any Channel) -> Bool {
        let admitted = self.open.withLockedValue { open -> Bool in
            guard open < self.limit else { return false }
            open += 1
            return true
        }
        if admitted { channel.closeFuture.whenComplete { _ in self.open.withLockedValue { $0 -= 1 } } }
        return admitted
    }

    var count: Int { self.open.withLockedValue { $0 } }

    /// Answers one refused connection and closes it (no HTTP parsing: it is not served).
    final class Refusal: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        private let limit: Int

        init(limit: Int) { self.limit = limit }

        func handlerAdded(context: ChannelHandlerContext) {
            guard context.channel.isActive else { return }
            self.refuse(context: context)
        }

        func channelActive(context: ChannelHandlerContext) {
            self.refuse(context: context)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

        private func refuse(context: ChannelHandlerContext) {
            let body = "too many admin connections (limit \(self.limit))\n"
            let text =
                "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body
            let channel = context.channel
            context.writeAndFlush(self.wrapOutboundOut(context.channel.allocator.buffer(string: text))).whenComplete { _ in
                channel.close(promise: nil)
            }
        }
    }
}
