/// When a client PINGs one connection and when it gives it up (PROTOCOL.md 8.1's keepalive
/// settings), without I/O: the owner reports frames received and whether calls are out, asks
/// when to look next, and acts on what ``check(now:)`` answers. Times are nanoseconds on the
/// owner's monotonic clock.
///
/// A connection with a call out and no frame received for `keepaliveInterval` gets a PING; an
/// open connection with no call out gets one after `idleKeepalive`. After a PING, no frame of
/// any kind within `keepaliveTimeout` means the connection is dead: the owner resets it, so a
/// frozen or blackholed instance is found out in seconds, not when TCP gives up.
public struct KeepaliveMachine: Sendable {
    public enum Action: Sendable, Equatable {
        case none
        /// Write a PING now.
        case ping
        /// No frame since the PING: reset the connection; every call out on it is lost.
        case dead
    }

    private let interval: UInt64
    private let timeout: UInt64
    private let idle: UInt64
    /// When the last frame of any kind arrived (or the machine started).
    public private(set) var lastReceived: UInt64
    /// Whether a call is out.
    public private(set) var busy = false
    /// When `busy` last changed: silence is counted from the later of this and `lastReceived`.
    private var busySince: UInt64
    /// The PING waiting for any frame, if one is out.
    public private(set) var pingSentAt: UInt64?

    public init(settings: FailoverSettings, now: UInt64) {
        self.interval = settings.keepaliveInterval.failoverNanoseconds
        self.timeout = settings.keepaliveTimeout.failoverNanoseconds
        self.idle = settings.idleKeepalive.failoverNanoseconds
        self.lastReceived = now
        self.busySince = now
    }

    /// A frame of any kind arrived: the connection is alive.
    public mutating func received(now: UInt64) {
        self.lastReceived = now
        self.pingSentAt = nil
    }

    /// Calls went out or all ended.
    public mutating func setBusy(_ busy: Bool, now: UInt64) {
        guard busy != self.busy else { return }
        self.busy = busy
        self.busySince = now
    }

    /// When ``check(now:)`` has something to do, at the earliest.
    public var nextCheck: UInt64 {
        if let ping = self.pingSentAt { return ping &+ self.timeout }
        return max(self.lastReceived, self.busySince) &+ (self.busy ? self.interval : self.idle)
    }

    /// What to do at `now`; a `.ping` is taken as written at `now`.
    public mutating func check(now: UInt64) -> Action {
        if let ping = self.pingSentAt {
            return now >= ping &+ self.timeout ? .dead : .none
        }
        guard now >= self.nextCheck else { return .none }
        self.pingSentAt = now
        return .ping
    }
}
