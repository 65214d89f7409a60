import ClaimlineCore
import NIOCore
import Synchronization

extension ConnectionSlot {
    /// The shared connection attempt's result, or a ``ConnectFailure`` as soon as the caller's
    /// attempt ends (`end`, uptime nanoseconds): an instance that gives no HELLO_ACK within the
    /// attempt's time counts as down for it (PROTOCOL.md 8.1, `connect_timeout_ms` is never
    /// more than the attempt's own timeout). The connection attempt itself carries on for the
    /// next caller. (A task group would not do: it waits for all its children, and awaiting
    /// another task's value cannot be cancelled, so a silent instance would hold the caller
    /// for the whole connect timeout.)
    static func value(
        of task: Task<ClaimlineConnection, any Error>, until end: UInt64, address: ClaimlineAddress
    ) async throws -> ClaimlineConnection {
        let waiter = Waiter()
        let started = NIODeadline.now().uptimeNanoseconds
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiter.wait(continuation)
                let timer = Task {
                    let now = NIODeadline.now().uptimeNanoseconds
                    if end > now { try? await Task.sleep(nanoseconds: end - now) }
                    guard !Task.isCancelled else { return }
                    let waited = (max(end, started) - started) / 1_000_000
                    let error = RPCError(
                        .unavailable, "cannot connect to \(address): no connection and HELLO_ACK within the attempt's \(waited) ms",
                        reason: ClientReason.connectFailed)
                    waiter.resume(with: .failure(ConnectFailure(error: error)))
                }
                Task {
                    waiter.resume(with: await task.result)
                    timer.cancel()
                }
            }
        } onCancel: {
            waiter.resume(with: .failure(CancellationError()))
        }
    }

    /// One continuation, resumed once by whichever comes first: the attempt, the attempt's
    /// end, or the caller's cancellation.
    final class Waiter: Sendable {
        private enum State {
            case waiting
            case suspended(CheckedContinuation<ClaimlineConnection, any Error>)
            /// Resumed before the continuation was handed over (a cancellation racing it).
            case early(Result<ClaimlineConnection, any Error>)
            case done
        }

        private let state = Mutex<State>(.waiting)

        func wait(_ continuation: CheckedContinuation<ClaimlineConnection, any Error>) {
            let early: Result<ClaimlineConnection, any Error>? = self.state.withLock { state in
                if case .early(let result) = state {
                    state = .done
                    return result
                }
                state = .suspended(continuation)
                return nil
            }
            if let early { continuation.resume(with: early) }
        }

        func resume(with result: Result<ClaimlineConnection, any Error>) {
            let continuation: CheckedContinuation<ClaimlineConnection, any Error>? = self.state.withLock { state in
                switch state {
                case .waiting:
                    state = .early(result)
                    return nil
                case .suspended(let continuation):
                    state = .done
                    return continuation
                case .early, .done:
                    return nil
                }
            }
            continuation?.resume(with: result)
        }
    }
}
