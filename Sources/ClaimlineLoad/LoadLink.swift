import ClaimlineClient
import ClaimlineCodec
import ClaimlineCore
import ClaimlineWire
import NIOCore
import NIOPosix

/// One of the run's connections for the whole run. Its ``ConnectionDriver`` — the open-loop
/// timeline, the data stream, the contacts under way — stays; the TCP connection under it is
/// replaced when its instance dies: by one to the next address that is not suspect, or when
/// every one is, to the next round robin after a growing pause (PROTOCOL.md 8.1's address book,
/// ``LoadTargets``), again and again until one answers or the run ends.
///
/// With a single target there is nowhere else to go: a lost connection ends, as it always did.
/// Not Sendable: it lives on its event loop, like the driver.
final class LoadLink {
    let number: Int
    let driver: ConnectionDriver
    let loop: any EventLoop
    let targets: LoadTargets
    let hello: Hello
    private let connectTimeout: TimeAmount
    private let tls: ClaimlineTLS?
    /// The current connection, once active; nil while reconnecting.
    private(set) var channel: (any Channel)?
    /// The run's t0 reached this link: a new connection resumes the driver instead of waiting.
    private(set) var started = false
    /// The run is over: no more reconnects.
    private var ended = false
    private var retry: Scheduled<Void>?
    /// Pauses since this link last had a connection (w of PROTOCOL.md 8.1, step 4).
    private var waits = 0

    init(
        number: Int, driver: ConnectionDriver, loop: any EventLoop, targets: LoadTargets, hello: Hello, connectTimeout: TimeAmount, tls: ClaimlineTLS?
    ) {
        self.number = number
        self.driver = driver
        self.loop = loop
        self.targets = targets
        self.hello = hello
        self.connectTimeout = connectTimeout
        self.tls = tls
        driver.failover = targets.count > 1
    }

    /// Connects to target `index`; the future completes with its HELLO_ACK or fails (refused,
    /// unreachable, refused at HELLO, closed during the handshake).
    func open(target index: Int) -> EventLoopFuture<HelloAck> {
        self.driver.target = index
        let ready = self.loop.makePromise(of: HelloAck.self)
        let address = self.targets.addresses[index]
        let bound = NIOLoopBound(self, eventLoop: self.loop)
        ClientBootstrap(group: self.loop)
            .connectTimeout(self.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let link = bound.value
                    if let tls = link.tls {
                        try channel.pipeline.syncOperations.addHandler(try tls.makeHandler(host: address.host))
                    }
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(FrameDecoder(role: .client, maxPayload: ProtocolLimits.absoluteMaxPayload)),
                        LoadConnectionHandler(driver: link.driver, hello: link.hello, ready: ready, link: link)
                    )
                }
            }
            .connect(host: address.host, port: address.port)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    let link = bound.value
                    if link.ended || !channel.isActive {
                        if link.ended { channel.close(promise: nil) }
                    } else {
                        link.channel = channel
                    }
                case .failure(let error):
                    ready.fail(LoadConfigurationError("cannot connect to \(address): \(error)"))
                }
            }
        ready.futureResult.whenSuccess { _ in
            let link = bound.value
            link.waits = 0
            link.targets.record(.answer, at: index, now: NIODeadline.now().uptimeNanoseconds)
        }
        return ready.futureResult
    }

    /// The run's common start: the connection's handler waits for `t0`; with no connection at
    /// the moment (or one still in its handshake), the driver starts here and holds its calls
    /// for the next HELLO_ACK, which resumes it.
    func start(t0: UInt64) {
        self.started = true
        if let channel = self.channel, channel.isActive, !self.driver.paused {
            channel.pipeline.fireUserInboundEventTriggered(LoadConnectionHandler.Event.start(t0: t0))
        } else {
            var scratch = ByteBuffer()
            self.driver.start(t0: t0, now: max(t0, NIODeadline.now().uptimeNanoseconds), into: &scratch)
        }
    }

    /// The end of the run (or Ctrl-C): no new calls, no more reconnects. Calls the timeline
    /// had due while there was no connection count as failed.
    func stop() {
        self.ended = true
        self.retry?.cancel()
        if let channel = self.channel, channel.isActive {
            channel.pipeline.fireUserInboundEventTriggered(LoadConnectionHandler.Event.stop)
        }
        self.driver.stop()
        if self.driver.paused { self.driver.abandonDue(now: NIODeadline.now().uptimeNanoseconds) }
    }

    /// The connection that completed its handshake closed under the run: its address is
    /// suspect (`lost`), and the link opens one to the next.
    func lost(_ channel: any Channel) {
        if self.channel === channel { self.channel = nil }
        let now = NIODeadline.now().uptimeNanoseconds
        guard self.driver.failover, !self.ended, !self.driver.stopped else { return }
        self.targets.record(.lost, at: self.driver.target, now: now)
        self.reconnect(after: self.driver.target)
    }

    /// The next address after `index`: at once when it is not suspect, else after the pause.
    private func reconnect(after index: Int) {
        let (next, wait) = self.targets.next(
            after: index, waits: &self.waits, now: NIODeadline.now().uptimeNanoseconds, jitter: Double.random(in: 0.5...1))
        let bound = NIOLoopBound(self, eventLoop: self.loop)
        self.retry = self.loop.scheduleTask(in: .nanoseconds(Int64(wait))) {
            bound.value.attempt(next)
        }
    }

    private func attempt(_ index: Int) {
        guard !self.ended, !self.driver.stopped else { return }
        let bound = NIOLoopBound(self, eventLoop: self.loop)
        let address = self.targets.addresses[index]
        self.open(target: index).whenComplete { result in
            let link = bound.value
            switch result {
            case .success:
                link.driver.recorder.connectionEvents["reconnected to \(address)", default: 0] += 1
            case .failure:
                link.driver.recorder.targetConnectFailed(index)
                link.targets.record(.connectFailed, at: index, now: NIODeadline.now().uptimeNanoseconds)
                link.reconnect(after: index)
            }
        }
    }

    /// A clean end for the server's logs: GOAWAY (last stream 0, SHUTDOWN), then close.
    func goodbye() -> EventLoopFuture<Void> {
        guard let channel = self.channel, channel.isActive else { return self.loop.makeSucceededVoidFuture() }
        var buffer = ByteBuffer()
        let arena = ProtoArena()
        _ = try? buffer.writeFrame(type: .goAway, streamID: 0) { (out: inout ByteBuffer) throws(CodecError) -> Int in
            try GoAway(lastStreamId: 0, code: 0, reason: "SHUTDOWN", message: "load test over").encode(into: &out, arena: arena)
        }
        return channel.writeAndFlush(buffer).flatMap { channel.close() }.recover { _ in }
    }

    func close() {
        self.ended = true
        self.retry?.cancel()
        self.channel?.close(promise: nil)
    }
}
