import ClaimlineCore
import ClaimlineWire
import NIOCore

/// The NIO face of a ``ConnectionDriver``: handshake, frames in, one flush per batch out.
///
/// Deliberately thin: it turns channel events into driver calls with a clock reading, and
/// writes whatever the driver put in the outbound buffer once per read burst or timer tick.
/// Under a ``LoadLink`` it is one of several connections the driver lives through: it tells
/// the link when it is up and when it is lost, and resumes a driver that was already started.
public final class LoadConnectionHandler: ChannelInboundHandler {
    public typealias InboundIn = Frame
    public typealias OutboundOut = ByteBuffer

    /// Sent down the pipeline by the runner to start and stop the calls.
    public enum Event: Sendable {
        case start(t0: UInt64)
        case stop
    }

    let driver: ConnectionDriver
    let hello: Hello
    let ready: EventLoopPromise<HelloAck>
    /// The connection's owner across reconnects; nil for a bare handler (tests).
    let link: LoadLink?
    private var out: ByteBuffer = ByteBuffer()
    private var handshakeDone = false
    private var timer: Scheduled<Void>?
    private var sweeper: Scheduled<Void>?
    /// Open loop: a tick found the socket full and waits for it to drain.
    private var tickWaitsForWritable = false

    public convenience init(driver: ConnectionDriver, hello: Hello, ready: EventLoopPromise<HelloAck>) {
        self.init(driver: driver, hello: hello, ready: ready, link: nil)
    }

    init(driver: ConnectionDriver, hello: Hello, ready: EventLoopPromise<HelloAck>, link: LoadLink?) {
        self.driver = driver
        self.hello = hello
        self.ready = ready
        self.link = link
    }

    public func channelActive(context: ChannelHandlerContext) {
        self.out = context.channel.allocator.buffer(capacity: 64 * 1024)
        var buffer = context.channel.allocator.buffer(capacity: 256)
        self.driver.writer.writeHello(self.hello, into: &buffer)
        context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
        context.fireChannelActive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
        let now = NIODeadline.now().uptimeNanoseconds
        switch frame.type {
        case .response, .error:
            self.driver.answer(frame, now: now, into: &self.out)
        case .helloAck:
            self.handshakeDone = true
            self.driver.recorder.connections += 1
            self.driver.attach()
            self.driver.recorder.targetConnected(self.driver.target)
            if let ack = self.driver.writer.helloAck(of: frame.payload) {
                self.ready.succeed(ack)
            } else {
                self.ready.fail(LoadConfigurationError("unreadable HELLO_ACK"))
            }
            // A reconnect in the middle of the run: carry on where the driver stood.
            if let link = self.link, link.started { self.resume(context, now: now) }
        case .ping:
            context.write(self.wrapOutboundOut(self.frameBuffer(context, Frame.pong(answering: frame))), promise: nil)
        case .goAway:
            let goAway = self.driver.writer.goAway(of: frame.payload)
            let name = "GOAWAY \(StatusCode(rawValue: goAway.code).name) \(goAway.reason)"
            self.driver.recorder.connectionEvents[name, default: 0] += 1
            if !self.handshakeDone {
                self.ready.fail(LoadConfigurationError("server refused the connection: \(name) \(goAway.message)"))
                // A refused reconnect is the link's to retry elsewhere; the driver never had it.
                if self.driver.failover { return }
            }
            self.driver.goAway(frame, lastStreamID: goAway.lastStreamId, now: now)
            self.closeIfDrained(context)
        default:
            break
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        self.flush(context)
        self.closeIfDrained(context)
        context.fireChannelReadComplete()
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? Event else { return context.fireUserInboundEventTriggered(event) }
        switch event {
        case .start(let t0):
            // Every connection begins at the common t0, not when the event reaches it.
            self.timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: .uptimeNanoseconds(t0)) { [self] in
                self.begin(context, t0: t0)
            }
        case .stop:
            self.driver.stop()
            self.timer?.cancel()
        }
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, self.tickWaitsForWritable {
            self.tickWaitsForWritable = false
            self.tick(context)
        }
        context.fireChannelWritabilityChanged()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        self.timer?.cancel()
        self.sweeper?.cancel()
        self.ready.fail(LoadConfigurationError("connection closed during the handshake"))
        if self.driver.failover && !self.handshakeDone {
            // A reconnect that never got going: the link tries the next address; the driver,
            // still paused, never had this connection.
            context.fireChannelInactive()
            return
        }
        if !self.driver.stopped {
            self.driver.recorder.connectionEvents["connection lost", default: 0] += 1
            self.driver.recorder.targetLost(self.driver.target)
        }
        self.driver.connectionLost(now: NIODeadline.now().uptimeNanoseconds)
        self.link?.lost(context.channel)
        context.fireChannelInactive()
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.driver.recorder.connectionEvents["connection error: \(error)", default: 0] += 1
        context.close(promise: nil)
    }

    private func begin(_ context: ChannelHandlerContext, t0: UInt64) {
        self.driver.start(t0: t0, now: NIODeadline.now().uptimeNanoseconds, into: &self.out)
        self.flush(context)
        if case .open = self.driver.mode { self.tick(context) }
        self.sweep(context)
    }

    /// A new connection under a driver already running: what it held goes out, then the open
    /// loop's timer and the sweeper run here as they did on the lost connection.
    private func resume(_ context: ChannelHandlerContext, now: UInt64) {
        self.driver.resume(now: now, into: &self.out)
        self.flush(context)
        if case .open = self.driver.mode { self.tick(context) }
        self.sweep(context)
    }

    /// After a GOAWAY, once the last call that may still be answered is: close, so the link
    /// opens the next connection instead of waiting for the server's grace period to end.
    private func closeIfDrained(_ context: ChannelHandlerContext) {
        if self.handshakeDone && self.driver.isDrained && context.channel.isActive { context.close(promise: nil) }
    }

    /// Open loop: send what is due, then sleep until the next call's intended time. While the
    /// socket is full (the server reads slower than we send) nothing more is queued here: the
    /// calls stay due, with their intended send times, so their latency still counts from then.
    private func tick(_ context: ChannelHandlerContext) {
        guard context.channel.isWritable else {
            self.tickWaitsForWritable = true
            return
        }
        let now = NIODeadline.now().uptimeNanoseconds
        let next = self.driver.sendDue(now: now, into: &self.out)
        self.flush(context)
        guard let next else { return }
        self.timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: .uptimeNanoseconds(next)) { [self] in
            self.tick(context)
        }
    }

    /// Every 100 ms: give up on calls past their timeout.
    private func sweep(_ context: ChannelHandlerContext) {
        self.driver.expire(now: NIODeadline.now().uptimeNanoseconds, into: &self.out)
        self.flush(context)
        self.closeIfDrained(context)
        guard !self.driver.isFinished else { return }
        self.sweeper = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(100)) { [self] in
            self.sweep(context)
        }
    }

    private func flush(_ context: ChannelHandlerContext) {
        guard self.out.readableBytes > 0 else { return }
        let buffer = self.out
        self.out = context.channel.allocator.buffer(capacity: 4096)
        context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
    }

    private func frameBuffer(_ context: ChannelHandlerContext, _ frame: Frame) -> ByteBuffer {
        var buffer = context.channel.allocator.buffer(capacity: 32)
        buffer.writeFrame(frame)
        return buffer
    }
}
