import ClaimlineCore
import Synchronization

extension ConnectionSlot {
    /// The shared connection attempt's result, or CLIENT_DEADLINE as soon as the caller's
    /// budget ends. The attempt itself carries on for the next caller. (A task group would not
    /// do: it waits for all its children, and awaiting another task's value cannot be
    /// cancelled, so a silent instance would hold the caller for the whole connect timeout.)
    static func value(of task: Task<Lease, any Error>, until deadline: ContinuousClock.Instant, method: Method) async throws -> Lease {
        let waiter = Waiter()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiter.wait(continuation)
                let timer = Task {
                    try? await Task.sleep(until: deadline, clock: .continuous)
                    guard !Task.isCancelled else { return }
                    waiter.resume(
                        with: .failure(
                            RPCError(.deadlineExceeded, "\(method.name): no connection within the call's time", reason: ClientReason.clientDeadline)
                        ))
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

    /// One continuation, resumed once by whichever comes first: the attempt, the deadline, or
    /// the caller's cancellation.
    final class Waiter: Sendable {
        private enum State {
            case waiting
            case suspended(CheckedContinuation<Lease, any Error>)
            /// Resumed before the continuation was handed over (a cancellation racing it).
            case early(Result<Lease, any Error>)
            case done
        }

        private let state = Mutex<State>(.waiting)

        func wait(_ continuation: CheckedContinuation<Lease, any Error>) {
            let early: Result<Lease, any Error>? = self.state.withLock { state in
                if case .early(let result) = state {
                    state = .done
                    return result
                }
                state = .suspended(continuation)
                return nil
            }
            if let early { continuation.resume(with: early) }
        }

        func resume(with result: Result<Lease, any Error>) {
            let continuation: CheckedContinuation<Lease, any Error>? = self.state.withLock { state in
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
