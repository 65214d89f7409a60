"""A blocking Claimline client: one TCP connection, calls made one after another.

    with ClaimlineClient.connect("127.0.0.1", 7400, "dev-agent-token", "ivr-node-3") as client:
        answer = client.escalate(request)

    # Several claimlined instances: the client fails over between them.
    with ClaimlineClient.connect(addresses="10.0.0.5:7400,10.0.0.6:7400",
                                 token="dev-agent-token", client_name="ivr-node-3") as client:
        answer = client.escalate(request)

    # Over TLS (claimlined --tls-cert), with a client certificate for mutual TLS if wanted:
    tls = TLSConfig(ca_file="ca.pem", cert_file="me.pem", key_file="me.key")
    with ClaimlineClient.connect("127.0.0.1", 7400, "", "ops-console", tls=tls) as client:
        ...

Every failure is a :class:`ClaimlineError` carrying a gRPC canonical status code: the server's
ERROR frames as they are, GOAWAY and a lost connection as UNAVAILABLE (14), a local timeout as
DEADLINE_EXCEEDED (4, after sending CANCEL for the stream). See PROTOCOL.md for the contract.
"""

from __future__ import annotations

import math
import random
import socket
import ssl
import threading
import time
import uuid
from enum import IntEnum
from types import TracebackType
from typing import Callable, List, NamedTuple, Optional, Sequence, Tuple, Type, TypeVar, Union

from google.protobuf.message import DecodeError, Message

from claimline import frames
from claimline.frames import FrameError, FrameHeader, FrameType
from claimline.methods import DEFAULT_TIMEOUT, METHODS, GeneratedCalls, Method
from claimline.tls import TLSConfig, _closed_before_hello_ack, _resolve_tls, _TLS, _tls_failure
from claimline.v1 import service_pb2, wire_pb2

__all__ = [
    "ClaimlineClient",
    "ClaimlineError",
    "FieldViolation",
    "StatusCode",
    "TLSConfig",
    "new_idempotency_key",
    "parse_addresses",
]

_DEFAULT_MAX_FRAME_SIZE = 65536
_CONTROL_WRITE_TIMEOUT = 1.0  # for CANCEL, PONG and GOAWAY written outside a call's deadline

#: Failover (``connect(addresses=...)``) defaults, in seconds. Each attempt to open a connection
#: (TCP, preface, HELLO, HELLO_ACK) gets at most DEFAULT_CONNECT_TIMEOUT of the call's time.
DEFAULT_CONNECT_TIMEOUT = 2.0
#: An address that failed is skipped for DEFAULT_BACKOFF, doubled on each further failure in a
#: row up to DEFAULT_MAX_BACKOFF (and never less than the server's retry_after_ms hint).
DEFAULT_BACKOFF = 0.1
DEFAULT_MAX_BACKOFF = 2.0
#: Attempts per call (connection attempts included) when max_attempts is not given:
#: max(DEFAULT_MAX_ATTEMPTS, number of addresses + 1).
DEFAULT_MAX_ATTEMPTS = 5

#: GOAWAY codes in answer to HELLO that another address would answer the same way (a bad
#: token, a bad client name, an unsupported version): never failed over.
_FATAL_HANDSHAKE_CODES = frozenset({3, 7, 12, 16})

M = TypeVar("M", bound=Message)
R = TypeVar("R")


class StatusCode(IntEnum):
    """gRPC's canonical status codes, as ERROR and GOAWAY carry them (section 5)."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


def code_name(code: int) -> str:
    try:
        return StatusCode(code).name
    except ValueError:
        return f"CODE_{code}"


class FieldViolation(NamedTuple):
    field: str  # dotted path, e.g. "subscriber.msisdn"
    description: str


class ClaimlineError(Exception):
    """A call or a connection that ended with a status other than OK."""

    def __init__(
        self,
        code: int,
        message: str = "",
        reason: str = "",
        field_violations: Sequence[FieldViolation] = (),
        current_state: str = "",
        retry_after_ms: int = 0,
    ) -> None:
        self.code: int = code
        self.message: str = message
        self.reason: str = reason
        self.field_violations: List[FieldViolation] = list(field_violations)
        self.current_state: str = current_state
        self.retry_after_ms: int = retry_after_ms
        super().__init__(str(self))

    @property
    def code_name(self) -> str:
        return code_name(self.code)

    @property
    def fields(self) -> List[str]:
        """The dotted paths of the invalid fields (INVALID_ARGUMENT)."""
        return [violation.field for violation in self.field_violations]

    @classmethod
    def from_status(cls, status: wire_pb2.RpcStatus) -> "ClaimlineError":
        return cls(
            code=status.code,
            message=status.message,
            reason=status.reason,
            field_violations=[FieldViolation(v.field, v.description) for v in status.field_violations],
            current_state=status.current_state,
            retry_after_ms=status.retry_after_ms,
        )

    def __str__(self) -> str:
        text = f"{self.code_name} ({self.code})"
        if self.reason:
            text += f" {self.reason}"
        if self.message:
            text += f": {self.message}"
        if self.current_state:
            text += f" [state {self.current_state}]"
        return text

    def __repr__(self) -> str:
        return (
            f"ClaimlineError(code={self.code}, message={self.message!r}, reason={self.reason!r}, "
            f"field_violations={self.field_violations!r}, current_state={self.current_state!r}, "
            f"retry_after_ms={self.retry_after_ms})"
        )


def new_idempotency_key() -> str:
    """A fresh key for one logical write; reuse it unchanged on every retry of that write."""
    return str(uuid.uuid4())


class _Timeout(Exception):
    """The deadline passed while waiting for bytes."""


# What an attempt that failed may have done (PROTOCOL.md 3.7 and 9.5).
_NOT_SENT = "not sent"  # no server saw it: safe to send again, writes without a key included
_NOT_PROCESSED = "not processed"  # a server said so (UNAVAILABLE, GOAWAY above last_stream_id)
_UNKNOWN = "unknown"  # it may have been applied: only a read or a write with a key is sent again
_ANSWERED = "answered"  # a final answer (any code but UNAVAILABLE): never sent again


class _AttemptFailed(Exception):
    """One attempt of a call (or of a connect) failed; the failover loop decides what next."""

    def __init__(
        self,
        error: "ClaimlineError",
        outcome: str,
        index: Optional[int],
        *,
        retryable: bool = True,
        drop: bool = True,
        penalize: bool = True,
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.outcome = outcome
        self.index = index  # the address it went to, None if none
        self.retryable = retryable  # False: the error is final whatever the outcome
        self.drop = drop  # close the connection (it cannot or should not carry the next attempt)
        self.penalize = penalize  # skip the address for a backoff


def _address_label(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_addresses(addresses: Union[str, Sequence[Union[str, Tuple[str, int]]]]) -> List[Tuple[str, int]]:
    """``"h1:7400,h2:7400"``, ``["h1:7400", "h2:7400"]`` or ``[("h1", 7400), ...]`` as (host, port)
    pairs, in order. IPv6 hosts in brackets (``"[::1]:7400"``); spaces around entries are
    ignored; every entry must be ``host:port`` with a port 1..65535 (the rules of the Swift
    client's ``ClaimlineAddress.list``). Raises ValueError naming the first bad entry."""
    items: List[Union[str, Tuple[str, int]]] = addresses.split(",") if isinstance(addresses, str) else list(addresses)
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


# -- failover rules shared with the asyncio client (claimline.aio) -------------------------------


def _failover_arguments(
    host: Optional[str],
    port: Optional[int],
    token: Optional[str],
    client_name: Optional[str],
    timeout: Optional[float],
    addresses: Union[str, Sequence[Union[str, Tuple[str, int]]]],
    connect_timeout: float,
    max_attempts: Optional[int],
    backoff: float,
    max_backoff: float,
) -> Tuple[List[Tuple[str, int]], int]:
    """Checks connect(addresses=...)'s arguments (both clients); returns the parsed addresses
    and the attempts per call."""
    if host is not None or port is not None:
        raise TypeError("give host and port, or addresses=, not both")
    if token is None or client_name is None:
        raise TypeError("connect(addresses=...) needs token and client_name")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds or None, got {timeout}")
    if not connect_timeout > 0 or backoff < 0 or max_backoff < 0:
        raise ValueError("connect_timeout must be > 0, backoff and max_backoff >= 0")
    parsed = parse_addresses(addresses)
    if max_attempts is not None and max_attempts < 1:
        raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
    return parsed, max_attempts or max(DEFAULT_MAX_ATTEMPTS, len(parsed) + 1)


class _AddressBook:
    """Which address of a failover client to try next, shared by the blocking and the asyncio
    client: round robin from the address after the last failure, skipping one in its backoff
    (doubling with its failures in a row up to a ceiling, never under the server's
    ``retry_after_ms``); when every address is in its backoff, the one out of it soonest."""

    def __init__(self, count: int, backoff: float, max_backoff: float, random_start: bool) -> None:
        self.backoff = backoff
        self.max_backoff = max(max_backoff, backoff)
        self.down_until = [0.0] * count  # monotonic time each address is skipped until
        self.failures_in_row = [0] * count
        self.next_start = random.randrange(count) if random_start else 0  # where the search starts
        self.failed_index: Optional[int] = None  # the address that failed last, until a success
        self.failovers = 0

    def pick(self, now: float) -> int:
        """The address to connect to now; moving off the one that failed counts a failover."""
        n = len(self.down_until)
        order = [(self.next_start + k) % n for k in range(n)]
        ready = [i for i in order if self.down_until[i] <= now]
        index = ready[0] if ready else min(order, key=lambda i: self.down_until[i])
        if self.failed_index is not None and index != self.failed_index:
            self.failovers += 1
        return index

    def succeeded(self, index: int) -> None:
        self.down_until[index] = 0.0
        self.failures_in_row[index] = 0
        self.failed_index = None

    def failed(self, index: int, retry_after_ms: int) -> None:
        """The address failed: skip it for its backoff, start the next search after it."""
        self.failures_in_row[index] += 1
        backoff = min(self.backoff * 2 ** (self.failures_in_row[index] - 1), self.max_backoff)
        self.down_until[index] = time.monotonic() + max(backoff, retry_after_ms / 1000.0)
        self.failed_index = index
        self.next_start = (index + 1) % len(self.down_until)

    def again(self, index: int) -> None:
        """The address is fine (a connection closed for idleness): try it first next time."""
        self.next_start = index

    def seconds_until_one_is_ready(self) -> float:
        return max(0.0, min(self.down_until) - time.monotonic())


def _is_final(failure: _AttemptFailed) -> bool:
    """The failure ends the call whatever the attempts and time left."""
    return not failure.retryable or failure.error.code != StatusCode.UNAVAILABLE and failure.outcome != _NOT_SENT


def _final_error(
    error: ClaimlineError,
    attempts: int,
    trail: List[str],
    maybe_applied: bool,
    unsafe: bool,
    write: bool,
    address_count: int,
) -> ClaimlineError:
    """The error a failover call gives up with: the last one, its message telling the attempts."""
    if attempts == 1 and not unsafe and error.code != StatusCode.UNAVAILABLE:
        return error  # a final answer or a local limit, as the single-server client gives it
    message = error.message
    if unsafe:
        message += "; the write has no idempotency key and may have been applied: not retried"
    elif maybe_applied and write:
        message += "; an attempt may have been applied: retry with the same idempotency key"
    if attempts > 1 or address_count > 1:
        message += f" [{attempts} attempt(s): {'; '.join(trail)}]"
    return ClaimlineError(
        error.code, message, error.reason, error.field_violations, error.current_state, error.retry_after_ms
    )


def _dial(host: str, port: int, timeout: Optional[float], tls: Optional[_TLS] = None) -> socket.socket:
    """A TCP connection with TCP_NODELAY (with `tls`, the TLS handshake done, within the same
    `timeout`), or ClaimlineError: DEADLINE_EXCEEDED, UNAVAILABLE (CONNECT_FAILED, or a TLS
    failure: TLS_CERTIFICATE_VERIFY_FAILED, TLS_HANDSHAKE_FAILED)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except socket.timeout:
        raise ClaimlineError(StatusCode.DEADLINE_EXCEEDED, f"connect to {host}:{port} timed out") from None
    except OSError as error:
        raise ClaimlineError(
            StatusCode.UNAVAILABLE, f"connect to {host}:{port}: {error}", reason="CONNECT_FAILED"
        ) from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls is None:
        return sock
    label = _address_label(host, port)
    try:
        tls_sock = tls.context.wrap_socket(sock, server_hostname=tls.hostname_for(host), do_handshake_on_connect=False)
    except (OSError, ValueError) as error:
        sock.close()
        message, reason = _tls_failure(error, label)
        raise ClaimlineError(StatusCode.UNAVAILABLE, message, reason) from None
    try:
        remaining = _remaining(deadline)
        tls_sock.settimeout(None if remaining is None else max(remaining, 0.001))
        tls_sock.do_handshake()
    except socket.timeout:
        tls_sock.close()
        raise ClaimlineError(StatusCode.DEADLINE_EXCEEDED, f"TLS handshake with {label} timed out") from None
    except OSError as error:
        tls_sock.close()
        message, reason = _tls_failure(error, label)
        raise ClaimlineError(StatusCode.UNAVAILABLE, message, reason) from None
    return tls_sock


def _remaining(deadline: Optional[float]) -> Optional[float]:
    return None if deadline is None else deadline - time.monotonic()


class ClaimlineClient(GeneratedCalls):
    """A client of claimlined. Calls are sequential (a lock serializes threads).

    Create it with :meth:`connect`. With ``host, port`` it is one connection, not reusable
    after a connection-level failure (UNAVAILABLE): connect again, and retry writes with the
    same idempotency key. With ``addresses=[...]`` it fails over between claimlined instances
    by itself: see :meth:`connect`.
    """

    def __init__(self, sock: Optional[socket.socket] = None) -> None:
        """Use :meth:`connect`; this only wraps a socket that has not yet handshaken."""
        self._sock: Optional[socket.socket] = sock
        self._buf = bytearray()
        self._max_frame_size = frames.HANDSHAKE_MAX_FRAME_SIZE
        self._hello_ack: Optional[wire_pb2.HelloAck] = None
        self._goaway: Optional[wire_pb2.GoAway] = None
        self._closed_because = ""
        self._last_stream_id = 0
        self._lock = threading.Lock()
        # Addresses; failover state (used when created with addresses=).
        self._failover = False
        self._addresses: List[Tuple[str, int]] = []
        self._labels: List[str] = []
        self._token = ""
        self._client_name = ""
        self._connect_timeout = DEFAULT_CONNECT_TIMEOUT
        self._max_attempts = DEFAULT_MAX_ATTEMPTS
        self._index: Optional[int] = None  # the address of the current connection
        self._book: Optional[_AddressBook] = None  # several addresses: where to go next
        self._last_served: Optional[str] = None
        self._shut = False  # close() was called
        self._tls: Optional[_TLS] = None  # TLS settings of every connection (None: plain TCP)
        self._handshaking = False  # between the preface and HELLO_ACK: TLS errors are TLS_HANDSHAKE_FAILED

    # -- connection ---------------------------------------------------------------------------

    @classmethod
    def connect(
        cls,
        host: Optional[str] = None,
        port: Optional[int] = None,
        token: Optional[str] = None,
        client_name: Optional[str] = None,
        timeout: Optional[float] = DEFAULT_TIMEOUT,
        *,
        addresses: Union[None, str, Sequence[Union[str, Tuple[str, int]]]] = None,
        random_start: bool = False,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        max_attempts: Optional[int] = None,
        backoff: float = DEFAULT_BACKOFF,
        max_backoff: float = DEFAULT_MAX_BACKOFF,
        tls: Union[None, TLSConfig, ssl.SSLContext] = None,
    ) -> "ClaimlineClient":
        """Opens TCP, sends the preface and HELLO, reads HELLO_ACK.

        One server: ``connect(host, port, token, client_name, timeout)``. Raises
        ClaimlineError: GOAWAY's code (UNAUTHENTICATED for a bad token), UNAVAILABLE if the
        server cannot be reached or closes, DEADLINE_EXCEEDED if `timeout` passes. The client
        never reconnects by itself.

        Several servers: ``connect(addresses=["h1:7400", "h2:7400"], token=..., client_name=...)``
        (or ``addresses="h1:7400,h2:7400"``). The client connects to the first address (a random
        one with ``random_start=True``) and from then on, whenever a connection is refused, lost
        or sent GOAWAY, or a call is answered UNAVAILABLE, moves the call to the next address
        (round robin, skipping addresses that failed within their backoff: `backoff` seconds,
        doubled per failure in a row up to `max_backoff`, at least the server's retry_after_ms;
        when every address is in its backoff, it waits for the first to come out of it),
        within the call's timeout and `max_attempts` attempts per call (connection attempts
        included; default max(5, addresses + 1)). Each connection attempt takes at most
        `connect_timeout` seconds. What is sent again: reads always; a write only if no server
        can have applied it, or if it carries an idempotency key (then with the same key and
        bytes, which the server answers with the first result). Other codes (INVALID_ARGUMENT,
        FAILED_PRECONDITION, ALREADY_EXISTS, PERMISSION_DENIED, ...) are never retried; nor are
        a bad token or client name in answer to HELLO. `timeout` bounds this first connect.

        TLS: ``tls=TLSConfig(ca_file=..., cert_file=..., key_file=...)`` (or an ``ssl.SSLContext``)
        runs every connection over TLS (``claimlined --tls-cert``), verifying the server's
        certificate and host name; with a client certificate that the server maps to a client
        (mutual TLS), `token` may be "". TLS failures are UNAVAILABLE with reason
        TLS_CERTIFICATE_VERIFY_FAILED or TLS_HANDSHAKE_FAILED (see :mod:`claimline.tls`); a
        plain client on a TLS port gets FAILED_PRECONDITION (9) TLS_REQUIRED.
        """
        resolved_tls = _resolve_tls(tls)
        if addresses is None:
            if host is None or port is None or token is None or client_name is None:
                raise TypeError("connect() needs host, port, token and client_name, or addresses=")
            deadline = None if timeout is None else time.monotonic() + timeout
            sock = _dial(host, port, timeout, resolved_tls)
            client = cls(sock)
            client._tls = resolved_tls
            client._addresses = [(host, port)]
            client._labels = [_address_label(host, port)]
            client._index = 0
            try:
                client._handshake(token, client_name, deadline)
            except BaseException:
                client._close_socket("handshake failed")
                raise
            return client

        parsed, attempts = _failover_arguments(
            host, port, token, client_name, timeout, addresses, connect_timeout, max_attempts, backoff, max_backoff
        )
        assert token is not None and client_name is not None
        client = cls(None)
        client._tls = resolved_tls
        client._failover = True
        client._addresses = parsed
        client._labels = [_address_label(h, p) for h, p in parsed]
        client._token = token
        client._client_name = client_name
        client._connect_timeout = connect_timeout
        client._max_attempts = attempts
        client._book = _AddressBook(len(parsed), backoff, max_backoff, random_start)
        client._closed_because = "not connected yet"
        deadline = None if timeout is None else time.monotonic() + timeout
        with client._lock:
            client._with_failover(deadline, lambda: None, retry_unknown=True)
        return client

    def _handshake(self, token: str, client_name: str, deadline: Optional[float]) -> None:
        hello = wire_pb2.Hello(client_name=client_name, token=token).SerializeToString()
        if len(hello) > frames.HANDSHAKE_MAX_FRAME_SIZE:
            raise ValueError(f"HELLO of {len(hello)} bytes exceeds {frames.HANDSHAKE_MAX_FRAME_SIZE}")
        self._handshaking = True
        try:
            self._send(frames.PREFACE + frames.encode_frame(FrameType.HELLO, hello), deadline)
            header, payload = self._read_frame(deadline)
        except _Timeout:
            raise ClaimlineError(StatusCode.DEADLINE_EXCEEDED, "no HELLO_ACK before the timeout") from None
        finally:
            self._handshaking = False
        if header.type == FrameType.GOAWAY and header.stream_id == 0:
            goaway = self._parse(wire_pb2.GoAway, payload)
            self._close_socket(f"GOAWAY {goaway.reason}")
            raise ClaimlineError(
                goaway.code or StatusCode.UNAVAILABLE, goaway.message or "server refused the connection", goaway.reason
            )
        if header.type != FrameType.HELLO_ACK or header.stream_id != 0:
            raise self._protocol_error(f"expected HELLO_ACK or GOAWAY, got {header.type_name}")
        ack = self._parse(wire_pb2.HelloAck, payload)
        self._hello_ack = ack
        self._max_frame_size = min(ack.max_frame_size or _DEFAULT_MAX_FRAME_SIZE, frames.MAX_FRAME_SIZE_CEILING)

    @property
    def hello_ack(self) -> wire_pb2.HelloAck:
        assert self._hello_ack is not None
        return self._hello_ack

    @property
    def session_id(self) -> str:
        return self.hello_ack.session_id

    @property
    def role(self) -> str:
        return self.hello_ack.role

    @property
    def max_frame_size(self) -> int:
        return self._max_frame_size

    @property
    def max_deadline_ms(self) -> int:
        """The server's deadline ceiling (HELLO_ACK): a timeout of None, or a longer one, gets this.

        0 if the server did not advertise one.
        """
        return self.hello_ack.max_deadline_ms

    @property
    def closed(self) -> bool:
        """One server: the connection is gone. With addresses=: close() was called (a lost
        connection is replaced by the next call; see `connected`)."""
        return self._shut if self._failover else self._sock is None

    @property
    def connected(self) -> bool:
        """A connection is open now."""
        return self._sock is not None

    @property
    def goaway(self) -> Optional[wire_pb2.GoAway]:
        """The server's GOAWAY, once received: no new call can be made on this connection."""
        return self._goaway

    @property
    def addresses(self) -> Tuple[str, ...]:
        """The addresses given, as "host:port" ("[v6]:port"), in order."""
        return tuple(self._labels)

    @property
    def address(self) -> Optional[str]:
        """The address of the open connection; None when there is none."""
        return self._labels[self._index] if self._sock is not None and self._index is not None else None

    @property
    def last_served_address(self) -> Optional[str]:
        """The address that answered the last successful call; None before the first."""
        return self._last_served

    @property
    def failovers(self) -> int:
        """How many times the client went to another address after a failure (connects included)."""
        return self._book.failovers if self._book is not None else 0

    def close(self) -> None:
        """Sends GOAWAY (SHUTDOWN, code 0) and closes. Idempotent."""
        with self._lock:
            self._shut = True
            if self._sock is None:
                return
            self._say_goodbye("closed by the client")

    def _say_goodbye(self, why: str) -> None:
        """GOAWAY SHUTDOWN (best effort), then close the connection."""
        goaway = wire_pb2.GoAway(last_stream_id=0, code=0, reason="SHUTDOWN", message="client closing")
        try:
            self._send(frames.encode_frame(FrameType.GOAWAY, goaway.SerializeToString()), None, control=True)
        except ClaimlineError:
            pass
        self._close_socket(why)

    def __enter__(self) -> "ClaimlineClient":
        return self

    def __exit__(
        self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.close()

    def poll(self) -> None:
        """Handles frames already received without blocking: answers PINGs, notes GOAWAY.

        A sequential client only reads during calls; an idle one can call this now and then
        (more often than the HELLO_ACK's keepalive_interval_ms) to stay alive. With addresses=,
        a connection found lost or going away is closed without an error (the next call opens
        another); only a closed client raises.
        """
        with self._lock:
            if not self._failover:
                self._ensure_open()
                self._drain()
                return
            if self._shut:
                raise self._client_closed()
            if self._sock is None:
                return
            try:
                self._drain()
            except ClaimlineError as error:
                self._note_failure(_AttemptFailed(error, _NOT_SENT, self._index, penalize=self._unhealthy()))
                return
            if self._goaway is not None:
                error = self._unavailable_after_goaway(self._goaway, None)
                self._note_failure(_AttemptFailed(error, _NOT_SENT, self._index, penalize=self._unhealthy()))

    # -- calls --------------------------------------------------------------------------------

    def call(self, method: int, request: Message, response_type: Type[M], timeout: Optional[float] = DEFAULT_TIMEOUT) -> M:
        """One unary call: REQUEST on a new stream, wait for its RESPONSE or ERROR.

        `timeout` (seconds) is sent to the server and enforced here; None sends 0 (the server's
        own ceiling applies) and waits without a deadline of its own. With addresses=, it is
        the whole call's time, failovers included (each attempt sends what is left of it).
        """
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds or None, got {timeout}")
        timeout_ms = 0 if timeout is None else min(max(1, math.ceil(timeout * 1000)), 0xFFFFFFFF)
        message = request.SerializeToString()
        if self._failover:
            return self._failover_call(method, request, message, response_type, timeout)
        payload = frames.encode_request_payload(timeout_ms, message)
        with self._lock:
            deadline = None if timeout is None else time.monotonic() + timeout
            self._ensure_open()
            self._drain()
            if self._goaway is not None:
                raise self._unavailable_after_goaway(self._goaway, None)
            if len(payload) > self._max_frame_size:
                raise self._request_too_large(len(payload))
            if self._last_stream_id >= frames.MAX_STREAM_ID:
                self._close_socket("stream ids exhausted")
                raise ClaimlineError(StatusCode.UNAVAILABLE, "stream ids exhausted: connect again", "STREAM_IDS_EXHAUSTED")
            self._last_stream_id += 1
            stream_id = self._last_stream_id
            self._send(frames.encode_frame(FrameType.REQUEST, payload, method=method, stream_id=stream_id), deadline)
            try:
                return self._await_answer(method, stream_id, response_type, deadline)
            except _Timeout:
                self._cancel(stream_id)
                raise ClaimlineError(
                    StatusCode.DEADLINE_EXCEEDED, f"no answer on stream {stream_id} within {timeout} s"
                ) from None

    def _request_too_large(self, size: int) -> ClaimlineError:
        return ClaimlineError(
            StatusCode.RESOURCE_EXHAUSTED,
            f"request of {size} bytes exceeds the server's max frame size {self._max_frame_size}",
            reason="FRAME_TOO_LARGE",
        )

    def _await_answer(self, method: int, stream_id: int, response_type: Type[M], deadline: Optional[float]) -> M:
        while True:
            header, payload = self._read_frame(deadline)
            if not self._handle_connection_frame(header, payload):
                if header.stream_id != stream_id:
                    continue  # an old stream (cancelled or timed out) or one we never opened: discard
                if header.method != method:
                    raise self._protocol_error(
                        f"{header.type_name} on stream {stream_id} echoes method {header.method}, sent {method}"
                    )
                if header.type == FrameType.RESPONSE:
                    answer = self._parse(response_type, payload)
                    self._last_served = self._current_label()
                    return answer
                status = self._parse(wire_pb2.RpcStatus, payload)
                error = ClaimlineError.from_status(status)
                error._from_server = True  # type: ignore[attr-defined]
                raise error
            goaway = self._goaway
            if goaway is not None and not (goaway.code == 0 and stream_id <= goaway.last_stream_id):
                self._close_socket(f"GOAWAY {goaway.reason}")
                raise self._unavailable_after_goaway(goaway, stream_id)
            # A graceful GOAWAY that covers our stream: the server still answers it.

    def _current_label(self) -> Optional[str]:
        return self._labels[self._index] if self._index is not None and self._labels else None

    # -- failover (connect(addresses=...)) ----------------------------------------------------

    def _failover_call(
        self, method: int, request: Message, message: bytes, response_type: Type[M], timeout: Optional[float]
    ) -> M:
        info = METHODS.get(method)  # type: ignore[call-overload]
        write = True if info is None else info.write  # an unknown method: treated as a write
        has_key = bool(getattr(request, "idempotency_key", "")) if write else False

        def attempt() -> M:
            return self._attempt_call(method, message, response_type, deadline, timeout)

        with self._lock:
            deadline = None if timeout is None else time.monotonic() + timeout
            return self._with_failover(deadline, attempt, retry_unknown=not write or has_key, write=write)

    def _with_failover(
        self, deadline: Optional[float], operation: "Callable[[], R]", *, retry_unknown: bool, write: bool = False
    ) -> "R":
        """Runs `operation` on a connection (opening one to the next address when there is none)
        until it returns, fails for good, the attempts run out or the deadline passes."""
        attempts = 0
        trail: List[str] = []
        maybe_applied = False
        while True:
            if self._shut:
                raise self._client_closed()
            attempts += 1
            try:
                if self._sock is None:
                    self._connect_next(deadline)
                return operation()
            except _AttemptFailed as failure:
                error = failure.error
                where = self._labels[failure.index] if failure.index is not None else "-"
                trail.append(f"{where} {error.reason or error.code_name}")
                if failure.outcome == _UNKNOWN:
                    maybe_applied = True
                self._note_failure(failure)
                final = _is_final(failure)
                unsafe = failure.outcome == _UNKNOWN and not retry_unknown
                wait = self._wait_for_an_address()
                late = deadline is not None and time.monotonic() + wait >= deadline
                if final or unsafe or late or attempts >= self._max_attempts:
                    raise self._give_up(error, attempts, trail, maybe_applied, unsafe, write) from None
                if wait > 0:
                    time.sleep(wait)

    def _connect_next(self, deadline: Optional[float]) -> None:
        """Connects to the next address not in its backoff (else the one out of it soonest)."""
        assert self._book is not None
        now = time.monotonic()
        index = self._book.pick(now)
        host, port = self._addresses[index]
        attempt_deadline = now + self._connect_timeout
        if deadline is not None:
            attempt_deadline = min(attempt_deadline, deadline)
        try:
            sock = _dial(host, port, max(attempt_deadline - time.monotonic(), 0.001), self._tls)
        except ClaimlineError as error:
            raise _AttemptFailed(error, _NOT_SENT, index) from None
        self._sock = sock
        self._buf.clear()
        self._max_frame_size = frames.HANDSHAKE_MAX_FRAME_SIZE
        self._goaway = None
        self._last_stream_id = 0
        self._index = index
        try:
            self._handshake(self._token, self._client_name, attempt_deadline)
        except ClaimlineError as error:
            self._close_socket(f"handshake failed: {error}")
            fatal = error.code in _FATAL_HANDSHAKE_CODES
            raise _AttemptFailed(error, _NOT_SENT, index, retryable=not fatal, penalize=not fatal) from None
        except BaseException:
            self._close_socket("handshake failed")
            raise
        self._book.succeeded(index)

    def _attempt_call(
        self,
        method: int,
        message: bytes,
        response_type: Type[M],
        deadline: Optional[float],
        timeout: Optional[float],
    ) -> M:
        """One REQUEST on the open connection, carrying what is left of the call's time; every
        failure as _AttemptFailed with its outcome."""
        index = self._index
        # What arrived while the connection was idle: a GOAWAY or a close means it cannot carry
        # the call, which has not been sent (safe to send elsewhere, whatever it is).
        try:
            self._drain()
        except ClaimlineError as error:
            raise _AttemptFailed(error, _NOT_SENT, index, penalize=self._unhealthy()) from None
        if self._goaway is not None:
            error = self._unavailable_after_goaway(self._goaway, None)
            raise _AttemptFailed(error, _NOT_SENT, index, penalize=self._unhealthy())
        remaining = _remaining(deadline)
        if remaining is not None and remaining <= 0:
            error = ClaimlineError(StatusCode.DEADLINE_EXCEEDED, f"no answer within {timeout} s", "CLIENT_DEADLINE")
            raise _AttemptFailed(error, _NOT_SENT, index, retryable=False, drop=False, penalize=False)
        timeout_ms = 0 if remaining is None else min(max(1, math.ceil(remaining * 1000)), 0xFFFFFFFF)
        payload = frames.encode_request_payload(timeout_ms, message)
        if len(payload) > self._max_frame_size:
            raise _AttemptFailed(
                self._request_too_large(len(payload)), _NOT_SENT, index, retryable=False, drop=False, penalize=False
            )
        if self._last_stream_id >= frames.MAX_STREAM_ID:
            error = ClaimlineError(StatusCode.UNAVAILABLE, "stream ids exhausted", "STREAM_IDS_EXHAUSTED")
            raise _AttemptFailed(error, _NOT_SENT, index, penalize=False)
        self._last_stream_id += 1
        stream_id = self._last_stream_id
        try:
            self._send(frames.encode_frame(FrameType.REQUEST, payload, method=method, stream_id=stream_id), deadline)
        except ClaimlineError as error:
            # Part of the frame, or all of it, may have reached the server.
            deadline_passed = error.code == StatusCode.DEADLINE_EXCEEDED
            raise _AttemptFailed(error, _UNKNOWN, index, retryable=not deadline_passed) from None
        try:
            return self._await_answer(method, stream_id, response_type, deadline)
        except _Timeout:
            self._cancel(stream_id)
            error = ClaimlineError(
                StatusCode.DEADLINE_EXCEEDED, f"no answer on stream {stream_id} within {timeout} s", "CLIENT_DEADLINE"
            )
            raise _AttemptFailed(error, _UNKNOWN, index, retryable=False, drop=False, penalize=False) from None
        except ClaimlineError as error:
            if getattr(error, "_from_server", False):
                if error.code != StatusCode.UNAVAILABLE:
                    raise _AttemptFailed(error, _ANSWERED, index, retryable=False, drop=False, penalize=False) from None
                # Not applied (STORE_FAILED, SHUTDOWN, ...), except OUTCOME_UNKNOWN: the store
                # failed while committing. Either way this instance is unwell: go elsewhere.
                outcome = _UNKNOWN if error.reason == "OUTCOME_UNKNOWN" else _NOT_PROCESSED
                raise _AttemptFailed(error, outcome, index) from None
            goaway = self._goaway
            if goaway is not None and stream_id > goaway.last_stream_id:
                # The server never processed streams above last_stream_id (PROTOCOL.md 3.7).
                raise _AttemptFailed(error, _NOT_PROCESSED, index, penalize=self._unhealthy()) from None
            raise _AttemptFailed(error, _UNKNOWN, index) from None

    def _unhealthy(self) -> bool:
        """False when the connection was only closed for idleness (the address is fine)."""
        goaway = self._goaway
        return not (goaway is not None and goaway.code == 0 and goaway.reason == "IDLE_TIMEOUT")

    def _note_failure(self, failure: _AttemptFailed) -> None:
        index = failure.index
        if failure.drop and self._sock is not None:
            self._say_goodbye(f"failing over: {failure.error}")
        if index is None or self._book is None:
            return
        if failure.penalize:
            self._book.failed(index, failure.error.retry_after_ms)
        elif failure.drop:
            self._book.again(index)  # e.g. an idle connection closed: the same address again

    def _wait_for_an_address(self) -> float:
        """Seconds until some address is out of its backoff (0: one is now)."""
        if self._sock is not None or self._book is None:
            return 0.0
        return self._book.seconds_until_one_is_ready()

    def _give_up(
        self, error: ClaimlineError, attempts: int, trail: List[str], maybe_applied: bool, unsafe: bool, write: bool
    ) -> ClaimlineError:
        return _final_error(error, attempts, trail, maybe_applied, unsafe, write, len(self._addresses))

    def _client_closed(self) -> ClaimlineError:
        return ClaimlineError(StatusCode.UNAVAILABLE, "the client is closed", "CLIENT_CLOSED")

    def _cancel(self, stream_id: int) -> None:
        try:
            self._send(frames.encode_frame(FrameType.CANCEL, stream_id=stream_id), None, control=True)
        except ClaimlineError:
            pass  # the connection is gone; the deadline error is what the caller gets

    # -- typed methods: one per method from GeneratedCalls (claimline/methods.py, `make proto`);
    # those below add conveniences ---------------------------------------------------------

    def list_claims(
        self, request: service_pb2.ListClaimsRequest, timeout: Optional[float] = DEFAULT_TIMEOUT
    ) -> service_pb2.ListClaimsResponse:
        """Filters: status, created range, `category` (a CategoryRef; a group with category
        UNSPECIFIED means the whole group) and `department` (as FileComplaintResponse names it)."""
        return self.call(Method.LIST_CLAIMS, request, service_pb2.ListClaimsResponse, timeout)

    def get_contact(
        self, request: Union[service_pb2.GetContactRequest, str], timeout: Optional[float] = DEFAULT_TIMEOUT
    ) -> service_pb2.GetContactResponse:
        """Where a contact stands (a GetContactRequest or just its call id): its state, decision,
        rule and, when a claim is required, the claim's `draft`. NOT_FOUND (reason
        CONTACT_NOT_FOUND) when there is no live contact with that call id."""
        if isinstance(request, str):
            request = service_pb2.GetContactRequest(call_id=request)
        return self.call(Method.GET_CONTACT, request, service_pb2.GetContactResponse, timeout)

    # -- frames -------------------------------------------------------------------------------

    def _handle_connection_frame(self, header: FrameHeader, payload: bytes) -> bool:
        """Validates a received frame and handles PING, PONG and GOAWAY (True).

        RESPONSE and ERROR are left to the caller (False); anything else is a protocol error.
        """
        try:
            frames.check_stream_id(header)
        except FrameError as error:
            raise self._protocol_error(str(error)) from None
        if header.type in (FrameType.RESPONSE, FrameType.ERROR):
            return False
        if header.type in (FrameType.PING, FrameType.PONG):
            if len(payload) != frames.PING_PAYLOAD_SIZE:
                raise self._protocol_error(f"{header.type_name} payload of {len(payload)} bytes, expected 8")
            if header.type == FrameType.PING:
                self._send(frames.encode_frame(FrameType.PONG, payload), None, control=True)
            return True
        if header.type == FrameType.GOAWAY:
            self._goaway = self._parse(wire_pb2.GoAway, payload)
            return True
        raise self._protocol_error(f"unexpected {header.type_name} from the server")

    def _drain(self) -> None:
        """Handles every whole frame that can be read without waiting."""
        while True:
            frame = self._take_frame()
            if frame is None:
                if not self._recv_more(0.0):
                    return
                continue
            header, payload = frame
            if not self._handle_connection_frame(header, payload):
                continue  # an answer for a stream nobody waits for any more
            if self._goaway is not None and self._goaway.code != 0:
                self._close_socket(f"GOAWAY {self._goaway.reason}")
                raise self._unavailable_after_goaway(self._goaway, None)

    def _take_frame(self) -> Optional[Tuple[FrameHeader, bytes]]:
        """A whole frame from the buffer, or None. Checks the length before waiting for the payload."""
        if len(self._buf) < frames.HEADER_SIZE:
            return None
        header = frames.decode_header(self._buf)
        if header.length > self._max_frame_size:
            raise self._connection_error(
                StatusCode.RESOURCE_EXHAUSTED,
                "FRAME_TOO_LARGE",
                f"{header.type_name} frame of {header.length} bytes exceeds {self._max_frame_size}",
            )
        end = frames.HEADER_SIZE + header.length
        if len(self._buf) < end:
            return None
        payload = bytes(self._buf[frames.HEADER_SIZE : end])
        del self._buf[:end]
        return header, payload

    def _read_frame(self, deadline: Optional[float]) -> Tuple[FrameHeader, bytes]:
        while True:
            frame = self._take_frame()
            if frame is not None:
                return frame
            remaining = _remaining(deadline)
            if remaining is not None and remaining <= 0:
                raise _Timeout()
            if not self._recv_more(remaining):
                raise _Timeout()

    def _recv_more(self, timeout: Optional[float]) -> bool:
        """Appends what the socket has to the buffer; False if nothing came within `timeout`."""
        sock = self._require_socket()
        try:
            sock.settimeout(timeout)
            data = sock.recv(65536)
        except (socket.timeout, BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return False
        except ssl.SSLError as error:
            raise self._tls_error(error) from None
        except OSError as error:
            raise self._connection_lost(f"connection lost: {error}") from None
        if not data:
            goaway = self._goaway
            if goaway is not None:
                self._close_socket("closed by the server")
                raise self._unavailable_after_goaway(goaway, None)
            raise self._connection_lost("the server closed the connection")
        self._buf += data
        return True

    def _send(self, data: bytes, deadline: Optional[float], control: bool = False) -> None:
        sock = self._require_socket()
        remaining = _CONTROL_WRITE_TIMEOUT if control else _remaining(deadline)
        try:
            sock.settimeout(None if remaining is None else max(remaining, 0.001))
            sock.sendall(data)
        except socket.timeout:
            # Part of a frame may be written: the byte stream cannot be trusted any more.
            self._close_socket("write timed out")
            raise ClaimlineError(StatusCode.DEADLINE_EXCEEDED, "write timed out; connection closed") from None
        except ssl.SSLError as error:
            raise self._tls_error(error) from None
        except OSError as error:
            raise self._connection_lost(f"connection lost: {error}") from None

    def _connection_lost(self, message: str) -> ClaimlineError:
        """Closes; UNAVAILABLE CONNECTION_LOST, or TLS_HANDSHAKE_FAILED over TLS before HELLO_ACK."""
        self._close_socket(message)
        if self._handshaking and self._tls is not None:
            message, reason = _closed_before_hello_ack(self._current_label() or "the server", message)
            return ClaimlineError(StatusCode.UNAVAILABLE, message, reason)
        return ClaimlineError(StatusCode.UNAVAILABLE, message, "CONNECTION_LOST")

    def _tls_error(self, error: ssl.SSLError) -> ClaimlineError:
        """A TLS alert or fault: closes; before HELLO_ACK (e.g. TLS 1.3's refusal of the client
        certificate, which comes after the client's side of the handshake) TLS_HANDSHAKE_FAILED."""
        self._close_socket(f"TLS: {error}")
        if self._handshaking:
            message, reason = _tls_failure(error, self._current_label() or "the server")
            return ClaimlineError(StatusCode.UNAVAILABLE, message, reason)
        return ClaimlineError(StatusCode.UNAVAILABLE, f"connection lost: TLS: {error}", "CONNECTION_LOST")

    def _parse(self, message_type: Type[M], payload: bytes) -> M:
        try:
            return message_type.FromString(payload)
        except (DecodeError, UnicodeDecodeError, ValueError) as error:
            raise self._protocol_error(f"cannot parse {message_type.DESCRIPTOR.full_name}: {error}") from None

    # -- failures -----------------------------------------------------------------------------

    def _protocol_error(self, message: str) -> ClaimlineError:
        return self._connection_error(StatusCode.INTERNAL, "PROTOCOL_ERROR", message)

    def _connection_error(self, goaway_code: int, reason: str, message: str) -> ClaimlineError:
        """A connection-level fault on our side: GOAWAY, close, and UNAVAILABLE for the call."""
        if self._sock is not None:
            goaway = wire_pb2.GoAway(last_stream_id=0, code=goaway_code, reason=reason, message=message[:200])
            try:
                self._send(frames.encode_frame(FrameType.GOAWAY, goaway.SerializeToString()), None, control=True)
            except ClaimlineError:
                pass
            self._close_socket(f"{reason}: {message}")
        return ClaimlineError(StatusCode.UNAVAILABLE, message, reason)

    def _unavailable_after_goaway(self, goaway: wire_pb2.GoAway, stream_id: Optional[int]) -> ClaimlineError:
        message = f"server sent GOAWAY {goaway.reason or code_name(goaway.code)}"
        if goaway.message:
            message += f": {goaway.message}"
        if stream_id is not None:
            if stream_id > goaway.last_stream_id:
                message += f"; stream {stream_id} was not processed (last {goaway.last_stream_id}): safe to retry"
            else:
                message += f"; stream {stream_id} may have been processed: retry with the same idempotency key"
        return ClaimlineError(StatusCode.UNAVAILABLE, message, goaway.reason or "GOAWAY")

    def _ensure_open(self) -> None:
        self._require_socket()

    def _require_socket(self) -> socket.socket:
        if self._sock is None:
            raise ClaimlineError(
                StatusCode.UNAVAILABLE, f"connection closed ({self._closed_because}): connect again", "CONNECTION_CLOSED"
            )
        return self._sock

    def _close_socket(self, why: str) -> None:
        sock, self._sock = self._sock, None
        if sock is None:
            return
        self._closed_because = why
        self._buf.clear()
        try:
            sock.close()
        except OSError:
            pass
