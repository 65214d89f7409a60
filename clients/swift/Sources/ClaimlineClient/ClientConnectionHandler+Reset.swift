import ClaimlineCore
import ClaimlineWire
import NIOCore

/// Giving up on an attempt (PROTOCOL.md 8.1, step 3) and on a dead connection.
extension ClientConnectionHandler {
    /// The attempt on `streamID` got no answer within its timeout. If nothing at all arrived on
    /// the connection since its request was handed over, the connection is silent (a frozen or
    /// blackholed instance): it is reset and every other call on it fails as lost. Otherwise the
    /// instance is alive and only slow for this call: CANCEL, and the connection stays.
    func attemptExpired(streamID: UInt32, timeoutMs: UInt32) {
        guard let call = self.machine.cancel(streamID: streamID) else { return }
        let silent = self.keepalive.lastReceived < call.sentAt
        let expired = RPCError(
            .deadlineExceeded, "no answer within \(timeoutMs) ms" + (silent ? "; nothing received since: the connection was reset" : ""),
            reason: ClientReason.clientDeadline)
        call.waiter.fail(ClientFailure(.attemptTimeout, expired))
        self.callEnded()
        if silent {
            self.reset(
                ClientFailure(
                    .lost,
                    RPCError(
                        .unavailable, "the connection was reset: nothing received within \(timeoutMs) ms of a request",
                        reason: ClientReason.connectionClosed)))
        } else {
            self.writeCancel(streamID: streamID)
        }
    }

    /// Closes with SO_LINGER 0, so that TCP sends RST instead of FIN: a frozen instance with
    /// requests still in its socket discards them when it wakes, instead of applying calls
    /// whose callers were already told otherwise (PROTOCOL.md 9.5). Every call still out fails
    /// with `failure`.
    func reset(_ failure: ClientFailure) {
        guard let context = self.context else {
            self.fail(failure, context: nil)
            return
        }
        if let socket = context.channel as? any SocketOptionProvider {
            // On the channel's own loop this applies at once, before the close below.
            _ = socket.setSoLinger(NIOLinger(l_onoff: 1, l_linger: 0))
        }
        self.context = nil
        self.fail(failure, context: context)
    }
}
