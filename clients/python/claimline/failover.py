"""The failover algorithm of PROTOCOL.md section 8.1, with no I/O and no clock of its own.

`AddressBook` is shared by every call of a client (the current address, which addresses are
suspect and until when); `CallPlan` is one logical call: it says where and when the next attempt
goes, or how the call ends, from the outcomes it is told. The blocking and asyncio clients carry
out what it says, and `tests/test_failover_scenarios.py` replays `proto/failover/scenarios.json`
against it, as the Swift and C clients' tests do with their own copies of the algorithm.

Times are milliseconds on any monotonic clock the caller chooses (floats are fine).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Callable, List, Optional

# The outcomes of one attempt (PROTOCOL.md 8.1).
ANSWER = "answer"
CONNECT_FAILED = "connect_failed"
GOAWAY_UNPROCESSED = "goaway_unprocessed"
UNAVAILABLE = "unavailable"
EXHAUSTED = "exhausted"
SERVER_DEADLINE = "server_deadline"
OUTCOME_UNKNOWN = "outcome_unknown"
LOST = "lost"
ATTEMPT_TIMEOUT = "attempt_timeout"

OUTCOMES = (ANSWER, CONNECT_FAILED, GOAWAY_UNPROCESSED, UNAVAILABLE, EXHAUSTED, SERVER_DEADLINE,
            OUTCOME_UNKNOWN, LOST, ATTEMPT_TIMEOUT)
# The request may have been applied.
UNKNOWN_OUTCOMES = frozenset({OUTCOME_UNKNOWN, LOST, ATTEMPT_TIMEOUT})
# The instance is skipped for a while.
SUSPECT_OUTCOMES = frozenset({CONNECT_FAILED, GOAWAY_UNPROCESSED, UNAVAILABLE, OUTCOME_UNKNOWN, LOST,
                              ATTEMPT_TIMEOUT})

# Call kinds: what may be sent again after an unknown outcome.
READ = "read"
WRITE = "write"  # with its idempotency key: every attempt sends the same bytes
KEYLESS_WRITE = "keyless_write"

# The client's own (code, reason) for outcomes that carry no server status.
CLIENT_STATUS = {
    CONNECT_FAILED: (14, "CONNECT_FAILED"),
    GOAWAY_UNPROCESSED: (14, "GOAWAY_UNPROCESSED"),
    LOST: (14, "CONNECTION_CLOSED"),
    ATTEMPT_TIMEOUT: (4, "CLIENT_DEADLINE"),
}
SERVER_STATUS_DEFAULTS = {
    UNAVAILABLE: (14, "STORE_UNAVAILABLE"),
    EXHAUSTED: (8, "MAX_CONCURRENT_STREAMS"),
    SERVER_DEADLINE: (4, "DEADLINE"),
    OUTCOME_UNKNOWN: (14, "OUTCOME_UNKNOWN"),
}


@dataclass(frozen=True)
class FailoverSettings:
    """PROTOCOL.md 8.1's settings, in milliseconds; the defaults are every client's."""

    attempt_timeout_ms: float = 1000
    connect_timeout_ms: float = 1000
    keepalive_interval_ms: float = 1000
    keepalive_timeout_ms: float = 1000
    idle_keepalive_ms: float = 10000
    suspect_base_ms: float = 500
    suspect_max_ms: float = 5000
    backoff_initial_ms: float = 50
    backoff_max_ms: float = 1000


class AddressBook:
    """Which address is current and which are suspect; shared by every call of one client."""

    def __init__(self, count: int, settings: FailoverSettings = FailoverSettings()) -> None:
        if count < 1:
            raise ValueError("at least one address")
        self.count = count
        self.settings = settings
        self.current = 0
        self.failovers = 0
        self._suspect_until: List[Optional[float]] = [None] * count
        self._failures: List[int] = [0] * count

    def is_suspect(self, index: int, now: float) -> bool:
        until = self._suspect_until[index]
        return until is not None and until > now

    def choose(self, now: float, last_tried: Optional[int]) -> int:
        """Step 1: the current address, else the next one that is not suspect (which becomes
        current), else round robin after `last_tried` (or after the current one)."""
        if not self.is_suspect(self.current, now):
            return self.current
        for step in range(1, self.count):
            candidate = (self.current + step) % self.count
            if not self.is_suspect(candidate, now):
                self._move(candidate)
                return candidate
        start = self.current if last_tried is None else last_tried
        return (start + 1) % self.count

    def any_healthy_other_than(self, index: int, now: float) -> bool:
        return any(i != index and not self.is_suspect(i, now) for i in range(self.count))

    def record(self, index: int, outcome: str, now: float, retry_after_ms: float = 0) -> None:
        """Step 6: an `answer` clears the address; a suspect outcome skips it for a while."""
        if outcome == ANSWER:
            self._failures[index] = 0
            self._suspect_until[index] = None
            return
        if outcome not in SUSPECT_OUTCOMES:
            return
        self._failures[index] += 1
        k = self._failures[index]
        span = min(self.settings.suspect_max_ms, self.settings.suspect_base_ms * (2 ** (k - 1)))
        self._suspect_until[index] = now + max(span, retry_after_ms)
        if index == self.current and self.count > 1:
            for step in range(1, self.count):
                candidate = (index + step) % self.count
                if not self.is_suspect(candidate, now):
                    self._move(candidate)
                    break

    def _move(self, index: int) -> None:
        if index != self.current:
            self.current = index
            self.failovers += 1


@dataclass
class Attempt:
    """Where and when the next attempt goes, and its timeout (also the REQUEST's timeout)."""

    address: int
    at_ms: float
    timeout_ms: float


@dataclass
class Finish:
    """How the call ends without an answer: the status the caller gets. `answer` is True when
    the last attempt's answer is the call's."""

    answer: bool
    code: int = 0
    reason: str = ""


@dataclass
class CallPlan:
    """One logical call (PROTOCOL.md 8.1, steps 1 to 5 and the final error)."""

    book: AddressBook
    kind: str
    start_ms: float
    budget_ms: float
    jitter: Callable[[], float] = field(default=lambda: random.uniform(0.5, 1.0))
    _deadline: float = 0
    _last_address: Optional[int] = None
    _last_outcome: Optional[str] = None
    _last_status: Optional[tuple] = None
    _last_retry_after: float = 0
    _waits: int = 0
    _unknown: bool = False
    _only_connect_failures: bool = True
    _attempts: int = 0
    _ended: bool = False

    def __post_init__(self) -> None:
        if self.kind not in (READ, WRITE, KEYLESS_WRITE):
            raise ValueError(f"unknown call kind {self.kind!r}")
        self._deadline = self.start_ms + self.budget_ms

    @property
    def deadline_ms(self) -> float:
        return self._deadline

    def next(self, now: float):
        """The next step: an `Attempt` (at `now` or later, after the pause) or a `Finish`."""
        if self._ended:
            raise RuntimeError("the call has ended")
        if self._last_outcome == ANSWER:
            return self._finish(Finish(answer=True))
        if self._last_outcome is not None and not self._retried(self._last_outcome):
            return self._finish(self._final_error())
        address = self.book.choose(now, self._last_address)
        pause = 0.0
        if self._last_outcome is not None:
            moved_on = address != self._last_address and not self.book.is_suspect(address, now)
            if not moved_on:
                self._waits += 1
                s = self.book.settings
                base = min(s.backoff_max_ms, s.backoff_initial_ms * (2 ** (self._waits - 1)))
                pause = max(base, self._last_retry_after) * self.jitter()
        start = now + pause
        if start + 1 > self._deadline:
            return self._finish(self._final_error())
        remaining = self._deadline - start
        timeout = min(self.book.settings.attempt_timeout_ms, remaining) if self.book.count > 1 else remaining
        return Attempt(address=address, at_ms=start, timeout_ms=timeout)

    def record(self, attempt: Attempt, outcome: str, now: float, retry_after_ms: float = 0,
               status: Optional[tuple] = None) -> None:
        """The attempt ended at `now` with `outcome`; `status` is the server's (code, reason)
        for an ERROR, `retry_after_ms` its hint."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        self._attempts += 1
        self._last_address = attempt.address
        self._last_outcome = outcome
        self._last_retry_after = retry_after_ms
        self._last_status = status or CLIENT_STATUS.get(outcome) or SERVER_STATUS_DEFAULTS.get(outcome)
        if outcome in UNKNOWN_OUTCOMES:
            self._unknown = True
        if outcome != CONNECT_FAILED:
            self._only_connect_failures = False
        self.book.record(attempt.address, outcome, now, retry_after_ms)

    def _retried(self, outcome: str) -> bool:
        return not (self.kind == KEYLESS_WRITE and outcome in UNKNOWN_OUTCOMES)

    def _final_error(self) -> Finish:
        if self.kind != READ and self._unknown:
            return Finish(answer=False, code=14, reason="OUTCOME_UNKNOWN")
        if self._attempts == 0:
            return Finish(answer=False, code=4, reason="CLIENT_DEADLINE")
        if self._only_connect_failures:
            return Finish(answer=False, code=14, reason="CONNECT_FAILED")
        code, reason = self._last_status or (14, "")
        return Finish(answer=False, code=code, reason=reason)

    def _finish(self, finish: Finish) -> Finish:
        self._ended = True
        return finish
