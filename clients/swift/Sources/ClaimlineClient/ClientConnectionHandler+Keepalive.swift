import ClaimlineCore
import ClaimlineWire
import NIOCore

/// PROTOCOL.md 8.1's keepalive on the connection's event loop: one timer, re-armed from the
/// ``KeepaliveMachine``'s next check. Frames arriving only update the machine (no timer work
/// per frame); the timer fires, looks, and arms itself again.
extension ClientConnectionHandler: NIOScheduledCallbackHandler {
    /// Makes sure the timer fires no later than the machine's next check. An earlier timer is
    /// kept: it finds nothing to do and arms the right one.
    func armKeepalive() {
        guard let context = self.context, self.closedError == nil else { return }
        let due = self.keepalive.nextCheck
        if let armed = self.keepaliveTimer {
            if armed.at <= due { return }
            armed.callback.cancel()
            self.keepaliveTimer = nil
        }
        let loop = context.eventLoop.assumeIsolated()
        if let callback = try? loop.scheduleCallback(at: .uptimeNanoseconds(due), handler: self) {
            self.keepaliveTimer = (callback, due)
        }
    }

    func handleScheduledCallback(eventLoop: some EventLoop) {
        self.keepaliveTimer = nil
        guard let context = self.context, self.closedError == nil else { return }
        switch self.keepalive.check(now: Self.now()) {
        case .none:
            break
        case .ping:
            self.pings &+= 1
            var buffer = context.channel.allocator.buffer(capacity: 20)
            buffer.writeFrame(Frame.ping(self.pings))
            context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
        case .dead:
            let waited = self.keepalive.pingSentAt.map { (Self.now() &- $0) / 1_000_000 } ?? 0
            self.reset(
                ClientFailure(
                    .lost,
                    RPCError(.unavailable, "no frame within \(waited) ms of a PING: the connection was reset", reason: ClientReason.connectionClosed)
                ))
            return
        }
        self.armKeepalive()
    }
}
