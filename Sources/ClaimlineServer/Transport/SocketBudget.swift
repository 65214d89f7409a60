import NIOConcurrencyHelpers
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// How many sockets the listeners may hold together: the process's open-file limit less a
/// reserve. At the budget, every listener stops accepting (new connections wait in the kernel's
/// backlog, then time out on the peer's side) and starts again as soon as a socket closes.
///
/// Without it a flood of connections on either port (idle scrapers on the admin port, say)
/// takes the last descriptors and the store can no longer open a file or a database
/// connection: writes fail for everyone. With it, the flood waits and the store keeps its
/// reserve (``ServerConfiguration/Limits/fileDescriptorReserve``).
final class SocketBudget: Sendable {
    private struct State {
        var open = 0
        var paused = false
        var listeners: [any Channel] = []
    }

    let limit: Int
    private let state = NIOLockedValueBox(State())

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// The budget for this process: its open-file limit (see ``raiseOpenFileLimit()``) less the
    /// descriptors already open (the store's, the logs') and `reserve`.
    static func forProcess(reserve: Int) -> SocketBudget {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let soft = limit.rlim_cur >= rlim_t(Int32.max) ? Int(Int32.max) : Int(clamping: limit.rlim_cur)
        return SocketBudget(limit: soft - Self.openDescriptors() - reserve)
    }

    /// Raises the soft open-file limit to the hard one (what a service manager would allow
    /// anyway); returns the soft limit in force afterwards.
    @discardableResult
    static func raiseOpenFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur >= rlim_t(Int32.max) ? Int(Int32.max) : Int(clamping: limit.rlim_cur)
    }

    /// Descriptors open now (entries of /proc/self/fd).
    static func openDescriptors() -> Int {
        guard let dir = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(dir) }
        var count = -1  // the directory's own descriptor
        while readdir(dir) != nil { count += 1 }
        return max(0, count - 2)  // "." and ".."
    }

    /// Sockets the listeners hold now.
    var open: Int { self.state.withLockedValue { $0.open } }

    /// The handler a listener's server channel gets: it counts each accepted socket until it
    /// closes, and pauses every listener at the budget.
    func makeServerChannelHandler(channel: any Channel) -> some ChannelInboundHandler {
        self.state.withLockedValue { $0.listeners.append(channel) }
        return Gate(budget: self)
    }

    private func accepted(_ child: any Channel) {
        let pause = self.state.withLockedValue { state -> [any Channel] in
            state.open += 1
            guard state.open >= self.limit, !state.paused else { return [] }
            state.paused = true
            return state.listeners
        }
        for listener in pause { listener.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in } }
        child.closeFuture.whenComplete { _ in self.closed() }
    }

    private func closed() {
        let resume = self.state.withLockedValue { state -> [any Channel] in
            state.open -= 1
            guard state.paused, state.open < self.limit else { return [] }
            state.paused = false
            return state.listeners
        }
        for listener in resume {
            listener.eventLoop.execute {
                listener.setOption(ChannelOptions.autoRead, value: true).whenSuccess { listener.read() }
            }
        }
    }

    /// Counts what its listener accepts.
    private final class Gate: ChannelInboundHandler {
        typealias InboundIn = any Channel
        typealias InboundOut = any Channel
        private let budget: SocketBudget

        init(budget: SocketBudget) { self.budget = budget }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            self.budget.accepted(self.unwrapInboundIn(data))
            context.fireChannelRead(data)
        }
    }
}
