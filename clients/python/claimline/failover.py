"""The failover algorithm of PROTOCOL.md section 8.1, with no I/O and no clock of its own.

`AddressBook` is shared by every call of a client (the current address, which addresses are
suspect and until when); `CallPlan` is one logical call: it says where and when the next attempt
goes, or how the call ends, from the outcomes it is told. The blocking and asyncio clients carry
out what it says, and `tests/test_failover_scenarios.py` replays `proto/failover/scenarios.json`
against it, as the Swift and C clients' tests do with their own copies of the algorithm.

Times are milliseconds on any monotonic clock the caller chooses (floats are fine).

The second half of the module is what both clients share to carry the plan out (and nothing
else in the package decides failover): `FailoverCall` (a plan on the monotonic clock, with what
each attempt said, for the final error's message), `error_outcome` (which outcome a server's
ERROR is), `call_kind`, the settings' checks and `parse_addresses`.
"""

from __future__ import annotations

import math
import random
import time
import warnings
from dataclasses import dataclass, field, fields, replace
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from claimline.errors import ClaimlineError, StatusCode

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
        # The episode (e.g. one connection) of each address's last counted failure: failures of
        # one episode count once (many calls in flight on one connection that dies are one
        # failure of its instance, not a hundred).
        self._episodes: List[Optional[object]] = [None] * count

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

    def record(self, index: int, outcome: str, now: float, retry_after_ms: float = 0,
               episode: Optional[object] = None) -> None:
        """Step 6: an `answer` clears the address; a suspect outcome skips it for a while.

        `episode` (any object; None: each failure counts) names what failed, e.g. a connection:
        a further failure of the same episode does not count again (k stays), it only keeps the
        address suspect for k's span (and its `retry_after_ms`) from `now`."""
        if outcome == ANSWER:
            self._failures[index] = 0
            self._suspect_until[index] = None
            self._episodes[index] = None
            return
        if outcome not in SUSPECT_OUTCOMES:
            return
        again = episode is not None and self._episodes[index] is episode and self._failures[index] > 0
        if not again:
            self._episodes[index] = episode
            self._failures[index] += 1
        k = self._failures[index]
        span = min(self.settings.suspect_max_ms, self.settings.suspect_base_ms * (2 ** (k - 1)))
        until = now + max(span, retry_after_ms)
        previous = self._suspect_until[index]
        if again and previous is not None:
            until = max(previous, until)  # the episode's first failure may have said longer
        self._suspect_until[index] = until
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
    _last_status: Optional[Tuple[int, str]] = None
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

    def next(self, now: float) -> Union["Attempt", "Finish"]:
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
                # The random factor spreads the backoff only: the server's retry_after_ms is a
                # floor ("at least"), which a factor of 0.5 applied after the max would halve.
                pause = max(base * self.jitter(), self._last_retry_after)
        start = now + pause
        if start + 1 > self._deadline:
            return self._finish(self._final_error())
        remaining = self._deadline - start
        timeout = min(self.book.settings.attempt_timeout_ms, remaining) if self.book.count > 1 else remaining
        return Attempt(address=address, at_ms=start, timeout_ms=timeout)

    def record(self, attempt: Attempt, outcome: str, now: float, retry_after_ms: float = 0,
               status: Optional[Tuple[int, str]] = None, episode: Optional[object] = None) -> None:
        """The attempt ended at `now` with `outcome`; `status` is the server's (code, reason)
        for an ERROR, `retry_after_ms` its hint; `episode` as for `AddressBook.record`."""
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
        self.book.record(attempt.address, outcome, now, retry_after_ms, episode)

    @property
    def attempts(self) -> int:
        return self._attempts

    @property
    def unknown(self) -> bool:
        """An attempt ended with an unknown outcome: a write may have been applied."""
        return self._unknown

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


# -- carrying the plan out: what the blocking and the asyncio client share -----------------------

#: GOAWAY reasons in answer to HELLO that say the client itself is wrong: every instance would
#: say the same, so the call ends at once with that GOAWAY's code and reason (8.1). Any other
#: GOAWAY instead of HELLO_ACK (TOO_MANY_CONNECTIONS*, HANDSHAKE_EVICTED, SHUTDOWN, ...) is
#: connect_failed. The role refusing nothing at HELLO, PERMISSION_DENIED never comes here.
FATAL_HANDSHAKE_REASONS = frozenset({"UNAUTHENTICATED", "INVALID_CLIENT_NAME", "UNSUPPORTED_VERSION", "TLS_REQUIRED"})


def handshake_refusal_is_final(code: int, reason: str) -> bool:
    """A GOAWAY (code, reason) instead of HELLO_ACK that ends the call at once (a bad token is
    UNAUTHENTICATED whatever reason a server gives it)."""
    return reason in FATAL_HANDSHAKE_REASONS or code == StatusCode.UNAUTHENTICATED


#: GOAWAY reasons with which a server closes a connection for the client's own idleness. Found
#: before a request is written, they say nothing of the instance's health: the client opens a
#: new connection to the same address within the attempt, and no outcome is recorded.
IDLE_CLOSE_REASONS = frozenset({"IDLE_TIMEOUT", "KEEPALIVE_TIMEOUT"})

#: The budget of a call made with timeout=None: the server's deadline ceiling (HelloAck's
#: max_deadline_ms; this, its default, before any HELLO_ACK). Only the budget ends a call, so
#: "no deadline" cannot mean "retry for ever".
DEFAULT_BUDGET_MS = 30000.0

#: The outcomes whose status is the server's ERROR (code and reason as it sent them).
_SERVER_OUTCOMES = frozenset({ANSWER, UNAVAILABLE, EXHAUSTED, SERVER_DEADLINE, OUTCOME_UNKNOWN})


def now_ms() -> float:
    """The clients' clock for plans: the monotonic clock in milliseconds."""
    return time.monotonic() * 1000.0


def error_outcome(code: int, reason: str) -> str:
    """The outcome of an attempt answered with a server's ERROR (8.1's table): UNAVAILABLE with
    any reason but OUTCOME_UNKNOWN says "not applied"; RESOURCE_EXHAUSTED MAX_CONCURRENT_STREAMS
    and DEADLINE_EXCEEDED (the server's: the timeout passed before it acted, section 9.5) say so
    too; every other ERROR is the call's answer."""
    if code == StatusCode.UNAVAILABLE:
        return OUTCOME_UNKNOWN if reason == "OUTCOME_UNKNOWN" else UNAVAILABLE
    if code == StatusCode.RESOURCE_EXHAUSTED and reason == "MAX_CONCURRENT_STREAMS":
        return EXHAUSTED
    if code == StatusCode.DEADLINE_EXCEEDED:
        return SERVER_DEADLINE
    return ANSWER


def call_kind(write: bool, request: Any) -> str:
    """READ, WRITE (it carries an idempotency key: every attempt sends the same bytes) or
    KEYLESS_WRITE (sent again only after outcomes that say it was not applied)."""
    if not write:
        return READ
    return WRITE if getattr(request, "idempotency_key", "") else KEYLESS_WRITE


def make_settings(
    settings: Optional[FailoverSettings] = None,
    *,
    attempt_timeout: Optional[float] = None,
    connect_timeout: Optional[float] = None,
    keepalive_interval: Optional[float] = None,
    keepalive_timeout: Optional[float] = None,
    idle_keepalive: Optional[float] = None,
    backoff: Optional[float] = None,
    max_backoff: Optional[float] = None,
    max_attempts: Optional[int] = None,
) -> FailoverSettings:
    """`settings` (8.1's defaults when None) with the keyword arguments of ``connect()`` laid
    over it. The keywords are in seconds, as every timeout of the Python API; `backoff` and
    `max_backoff` are the older names of the suspicion (``suspect_base_ms``,
    ``suspect_max_ms``): how long an address that failed is skipped. `max_attempts`, which
    bounded a call before 8.1, is ignored with a DeprecationWarning: only the budget ends a
    call. Raises ValueError for a setting that is not > 0 (or, for the pauses, < 0)."""
    if max_attempts is not None:
        warnings.warn(
            "max_attempts is ignored: a call's timeout (its budget) alone ends it (PROTOCOL.md 8.1)",
            DeprecationWarning,
            stacklevel=3,
        )
    base = settings if settings is not None else FailoverSettings()
    if not isinstance(base, FailoverSettings):
        raise TypeError(f"settings must be a claimline.failover.FailoverSettings, got {type(base).__name__}")
    overrides: Dict[str, float] = {}
    for name, seconds in (
        ("attempt_timeout_ms", attempt_timeout),
        ("connect_timeout_ms", connect_timeout),
        ("keepalive_interval_ms", keepalive_interval),
        ("keepalive_timeout_ms", keepalive_timeout),
        ("idle_keepalive_ms", idle_keepalive),
        ("suspect_base_ms", backoff),
        ("suspect_max_ms", max_backoff),
    ):
        if seconds is not None:
            overrides[name] = float(seconds) * 1000.0
    result = replace(base, **overrides) if overrides else base
    for f in fields(result):
        value = getattr(result, f.name)
        pause = f.name.startswith(("suspect_", "backoff_"))
        if not isinstance(value, (int, float)) or math.isnan(value) or value < 0 or (not pause and value <= 0):
            raise ValueError(f"{f.name} must be {'>= 0' if pause else '> 0'} ms, got {value!r}")
    return result


def budget_ms(timeout: Optional[float], max_deadline_ms: int = 0) -> float:
    """A call's budget: its timeout, or with None the server's deadline ceiling."""
    if timeout is None:
        return float(max_deadline_ms) if max_deadline_ms > 0 else DEFAULT_BUDGET_MS
    return timeout * 1000.0


def request_timeout_ms(remaining_s: float) -> int:
    """The REQUEST frame's timeout for an attempt with `remaining_s` seconds left: at least 1 ms
    (0 would mean the server's own ceiling), at most what 32 bits hold."""
    return min(max(1, math.ceil(remaining_s * 1000.0)), 0xFFFFFFFF)


def connect_arguments(
    host: Optional[str],
    port: Optional[int],
    token: Optional[str],
    client_name: Optional[str],
    timeout: Optional[float],
    addresses: Union[str, Sequence[Union[str, Tuple[str, int]]]],
) -> List[Tuple[str, int]]:
    """Checks connect(addresses=...)'s arguments (both clients); returns the parsed addresses."""
    if host is not None or port is not None:
        raise TypeError("give host and port, or addresses=, not both")
    if token is None or client_name is None:
        raise TypeError("connect(addresses=...) needs token and client_name")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds or None, got {timeout}")
    return parse_addresses(addresses)


def address_label(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_addresses(addresses: Union[str, Sequence[Union[str, Tuple[str, int]]]]) -> List[Tuple[str, int]]:
    """``"h1:7400,h2:7400"``, ``["h1:7400", "h2:7400"]`` or ``[("h1", 7400), ...]`` as (host, port)
    pairs, in order. IPv6 hosts in brackets (``"[::1]:7400"``); spaces around entries are
    ignored; every entry must be ``host:port`` with a port 1..65535 (the rules of the Swift
    client's ``ClaimlineAddress.list``). Raises ValueError naming the first bad entry."""
    items: List[Union[str, Tuple[str, int]]] = (
        list(addresses.split(",")) if isinstance(addresses, str) else list(addresses)
    )
    parsed: List[Tuple[str, int]] = []
    for item in items:
        if isinstance(item, tuple):
            host, port_value = item
            port_text = str(port_value)
        else:
            host, sep, port_text = item.strip().rpartition(":")
            if not sep:
                raise ValueError(f"expected host:port, got {item!r}")
            if host.startswith("[") and host.endswith("]"):
                host = host[1:-1]
        if not host or "," in host or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ValueError(f"expected host:port (port 1..65535), got {item!r}")
        parsed.append((host, int(port_text)))
    if not parsed:
        raise ValueError("no address given")
    return parsed


class FailoverCall:
    """One logical call as a client carries it out: a `CallPlan` on the monotonic clock (`now_ms`),
    and what every attempt said, for the final error's message. The client asks `next()`, sleeps
    until the attempt's `at_ms`, makes the attempt within its `timeout_ms`, and tells `record()`
    how it ended, until `next()` returns a `Finish`; `error()` is then the caller's error (8.1's
    "the final error tells the truth")."""

    def __init__(self, book: AddressBook, kind: str, budget: float, labels: Sequence[str],
                 clock: Callable[[], float] = now_ms) -> None:
        self.clock = clock
        self.plan = CallPlan(book, kind, clock(), budget)
        self.labels = list(labels)
        self.kind = kind
        self.budget = budget
        self.trail: List[Tuple[int, str, Optional[ClaimlineError]]] = []

    def next(self) -> Union[Attempt, Finish]:
        return self.plan.next(self.clock())

    def record(self, attempt: Attempt, outcome: str, error: Optional[ClaimlineError] = None,
               episode: Optional[object] = None) -> None:
        """`error`: the server's ERROR for its outcomes, else the client's own account of what
        happened (its code and reason give way to 8.1's for the final error, its message stays)."""
        server = outcome in _SERVER_OUTCOMES and error is not None
        status = (error.code, error.reason) if server and error is not None else None
        retry_after = error.retry_after_ms if server and error is not None else 0
        self.trail.append((attempt.address, outcome, error))
        self.plan.record(attempt, outcome, self.clock(), retry_after, status, episode)

    def _trail_text(self) -> str:
        steps = []
        for index, outcome, error in self.trail:
            step = f"{self.labels[index]} {outcome}"
            if error is not None and error.reason and outcome in _SERVER_OUTCOMES:
                step += f" {error.reason}"
            steps.append(step)
        return f"[{len(self.trail)} attempt(s) in {self.budget:.0f} ms: {'; '.join(steps)}]"

    def error(self, finish: Finish) -> ClaimlineError:
        """The caller's error for a call that ended without an answer."""
        assert not finish.answer
        trail = self._trail_text()
        if finish.reason == "OUTCOME_UNKNOWN" and self.kind != READ and self.plan.unknown:
            if self.kind == KEYLESS_WRITE:
                what = "the write has no idempotency key and may have been applied: not retried"
            else:
                what = "the write may have been applied: retry with the same idempotency key"
            return ClaimlineError(finish.code, f"{what} {trail}", finish.reason)
        if not self.trail:
            return ClaimlineError(finish.code, f"no time left for an attempt (budget {self.budget:.0f} ms)",
                                  finish.reason)
        if finish.reason == "CONNECT_FAILED" and all(o == CONNECT_FAILED for _, o, _ in self.trail):
            last: Dict[int, str] = {}
            for index, _, error in self.trail:
                last[index] = "failed" if error is None else f"{error.reason} {error.message}".strip()
            names = "; ".join(f"{label}: {last.get(i, 'not tried')}" for i, label in enumerate(self.labels))
            return ClaimlineError(finish.code, f"no connection to any address ({names}) {trail}", finish.reason)
        _, outcome, error = self.trail[-1]
        message = error.message if error is not None else outcome
        if len(self.trail) > 1:
            message = f"{message} {trail}"
        if error is not None and (error.code, error.reason) == (finish.code, finish.reason):
            return ClaimlineError(error.code, message, error.reason, error.field_violations,
                                  error.current_state, error.retry_after_ms)
        return ClaimlineError(finish.code, message, finish.reason)
