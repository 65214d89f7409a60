"""A blocking Claimline client: one TCP connection, calls made one after another.

    with ClaimlineClient.connect("127.0.0.1", 7400, "dev-agent-token", "ivr-node-3") as client:
        answer = client.escalate(request)

    # Several claimlined instances: the client fails over between them (PROTOCOL.md 8.1).
    with ClaimlineClient.connect(addresses="10.0.0.5:7400,10.0.0.6:7400",
                                 token="dev-agent-token", client_name="ivr-node-3") as client:
        answer = client.escalate(request)

    # Over TLS (claimlined --tls-cert), with a client certificate for mutual TLS if wanted:
    tls = TLSConfig(ca_file="ca.pem", cert_file="me.pem", key_file="me.key")
    with ClaimlineClient.connect("127.0.0.1", 7400, "", "ops-console", tls=tls) as client:
        ...

Every failure is a :class:`ClaimlineError` carrying a gRPC canonical status code: the server's
ERROR frames as they are, GOAWAY and a lost connection as UNAVAILABLE (14), a local timeout as
DEADLINE_EXCEEDED (4). With ``addresses=`` the client carries out PROTOCOL.md section 8.1's
failover algorithm, whose rules live in :mod:`claimline.failover` (shared with
:mod:`claimline.aio`); its final errors are 8.1's (OUTCOME_UNKNOWN when a write may have been
applied, CONNECT_FAILED naming every address, CLIENT_DEADLINE, ...). See PROTOCOL.md for the
contract.
"""

from __future__ import annotations

import random
import socket
import ssl
import struct
import threading
import time
import uuid
from types import TracebackType
from typing import List, Optional, Sequence, Tuple, Type, TypeVar, Union

from google.protobuf.message import DecodeError, Message

from claimline import failover, frames
from claimline.errors import ClaimlineError, FieldViolation, StatusCode, code_name
from claimline.failover import FailoverSettings, address_label, parse_addresses
from claimline.frames import FrameError, FrameHeader, FrameType
from claimline.methods import DEFAULT_TIMEOUT, METHODS, GeneratedCalls, Method
from claimline.tls import TLSConfig, _closed_before_hello_ack, _resolve_tls, _TLS, _tls_failure
from claimline.v1 import service_pb2, wire_pb2

__all__ = [
    "ClaimlineClient",
    "ClaimlineError",
    "FailoverSettings",
    "FieldViolation",
    "StatusCode",
    "TLSConfig",
    "new_idempotency_key",
    "parse_addresses",
]

_DEFAULT_MAX_FRAME_SIZE = 65536
_CONTROL_WRITE_TIMEOUT = 1.0  # for CANCEL, PING, PONG and GOAWAY written outside a call's deadline

#: 8.1's defaults, in seconds, under the names this module has always exported (the settings
#: themselves are :class:`claimline.failover.FailoverSettings`, in milliseconds).
DEFAULT_CONNECT_TIMEOUT = FailoverSettings().connect_timeout_ms / 1000.0
DEFAULT_BACKOFF = FailoverSettings().suspect_base_ms / 1000.0
DEFAULT_MAX_BACKOFF = FailoverSettings().suspect_max_ms / 1000.0

#: SO_LINGER on with a time of 0: close() sends RST and drops what the socket still holds
#: (PROTOCOL.md 8.1 step 3: a frozen instance must not apply, once it wakes, requests that
#: its socket still holds after the client gave up on them).
_LINGER_RESET = struct.pack("ii", 1, 0)

M = TypeVar("M", bound=Message)

Addresses = Union[str, Sequence[Union[str, Tuple[str, int]]]]


def new_idempotency_key() -> str:
    """A fresh key for one logical write; reuse it unchanged on every retry of that write."""
    return str(uuid.uuid4())


def _reset(sock: socket.socket) -> None:
    """Closes `sock` with RST (SO_LINGER 0), not FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class _Timeout(Exception):
    """The deadline passed while waiting for bytes."""


class _KeepaliveExpired(Exception):
    """No frame within keepalive_timeout_ms of our PING: the connection was reset."""


class _Ended(Exception):
    """One attempt ended without an answer to return: its 8.1 outcome and the error saying what
    happened. `outcome` None: the error ends the call at once and says nothing of the instance
    (a request over the server's frame limit; a HELLO refused as every instance would)."""

    def __init__(self, outcome: Optional[str], error: ClaimlineError) -> None:
        super().__init__(str(error))
        self.outcome = outcome
        self.error = error


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
    label = address_label(host, port)
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


def _sleep_until(at_ms: float) -> None:
    delay = at_ms / 1000.0 - time.monotonic()
    if delay > 0:
        time.sleep(delay)


class ClaimlineClient(GeneratedCalls):
    """A client of claimlined. Calls are sequential (a lock serializes threads).

    Create it with :meth:`connect`. With ``host, port`` it is one connection, not reusable
    after a connection-level failure (UNAVAILABLE): connect again, and retry writes with the
    same idempotency key. With ``addresses=[...]`` it fails over between claimlined instances
    by itself (PROTOCOL.md 8.1): see :meth:`connect`.
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
        self._last_rx = time.monotonic()  # when bytes last arrived on the connection
        self._pings = 0
        self._lock = threading.Lock()
        self._settings = FailoverSettings()
        # Addresses; failover state (used when created with addresses=).
        self._failover = False
        self._addresses: List[Tuple[str, int]] = []
        self._labels: List[str] = []
        self._token = ""
        self._client_name = ""
        self._index: Optional[int] = None  # the address of the current connection
        self._book: Optional[failover.AddressBook] = None  # 8.1's current address and suspicion
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
        addresses: Optional[Addresses] = None,
        random_start: bool = False,
        settings: Optional[FailoverSettings] = None,
        attempt_timeout: Optional[float] = None,
        connect_timeout: Optional[float] = None,
        keepalive_interval: Optional[float] = None,
        keepalive_timeout: Optional[float] = None,
        idle_keepalive: Optional[float] = None,
        backoff: Optional[float] = None,
        max_backoff: Optional[float] = None,
        max_attempts: Optional[int] = None,
        tls: Union[None, TLSConfig, ssl.SSLContext] = None,
    ) -> "ClaimlineClient":
        """Opens TCP, sends the preface and HELLO, reads HELLO_ACK.

        One server: ``connect(host, port, token, client_name, timeout)``. Raises
        ClaimlineError: GOAWAY's code (UNAUTHENTICATED for a bad token), UNAVAILABLE if the
        server cannot be reached or closes, DEADLINE_EXCEEDED if `timeout` passes. The client
        never reconnects by itself.

        Several servers: ``connect(addresses=["h1:7400", "h2:7400"], token=..., client_name=...)``
        (or ``addresses="h1:7400,h2:7400"``): every call carries out PROTOCOL.md 8.1's failover
        algorithm (:mod:`claimline.failover`). The client keeps one current address (the first;
        a random one with ``random_start=True``) and leaves it for the next one when it fails;
        a call's `timeout` is its budget (None: the server's deadline ceiling, 30 s), which
        alone ends the call: each attempt gets at most `attempt_timeout` of it (with one
        address, all of it), which is also the REQUEST's timeout. Reads and writes with an
        idempotency key are sent again, with the same bytes, after any failure; a write without
        a key only when the failure says it was not applied. `timeout` bounds this first
        connect the same way.

        The settings are 8.1's (:class:`claimline.failover.FailoverSettings`, milliseconds):
        give ``settings=FailoverSettings(...)``, or any of these keywords, in seconds:
        `attempt_timeout` (1), `connect_timeout` (TCP connect to HELLO_ACK, 1),
        `keepalive_interval` (1: a call waiting that long on a silent connection sends PING),
        `keepalive_timeout` (1: no frame that long after the PING and the connection is reset),
        `idle_keepalive` (10: checked before a call on a connection idle that long),
        `backoff` and `max_backoff` (0.5 and 5: how long an address that failed is skipped,
        doubling per failure in a row). The keepalive settings apply to a one-server client
        too. `max_attempts` is accepted for compatibility and ignored (8.1: only the budget
        ends a call).

        TLS: ``tls=TLSConfig(ca_file=..., cert_file=..., key_file=...)`` (or an ``ssl.SSLContext``)
        runs every connection over TLS (``claimlined --tls-cert``), verifying the server's
        certificate and host name; with a client certificate that the server maps to a client
        (mutual TLS), `token` may be "". TLS failures are UNAVAILABLE with reason
        TLS_CERTIFICATE_VERIFY_FAILED or TLS_HANDSHAKE_FAILED (see :mod:`claimline.tls`); a
        plain client on a TLS port gets FAILED_PRECONDITION (9) TLS_REQUIRED.
        """
        resolved_tls = _resolve_tls(tls)
        resolved = failover.make_settings(
            settings,
            attempt_timeout=attempt_timeout,
            connect_timeout=connect_timeout,
            keepalive_interval=keepalive_interval,
            keepalive_timeout=keepalive_timeout,
            idle_keepalive=idle_keepalive,
            backoff=backoff,
            max_backoff=max_backoff,
            max_attempts=max_attempts,
        )
        if addresses is None:
            if host is None or port is None or token is None or client_name is None:
                raise TypeError("connect() needs host, port, token and client_name, or addresses=")
            deadline = None if timeout is None else time.monotonic() + timeout
            sock = _dial(host, port, timeout, resolved_tls)
            client = cls(sock)
            client._tls = resolved_tls
            client._settings = resolved
            client._addresses = [(host, port)]
            client._labels = [address_label(host, port)]
            client._index = 0
            try:
                client._handshake(token, client_name, deadline)
            except BaseException:
                client._close_socket("handshake failed")
                raise
            return client

        parsed = failover.connect_arguments(host, port, token, client_name, timeout, addresses)
        assert token is not None and client_name is not None
        client = cls(None)
        client._tls = resolved_tls
        client._settings = resolved
        client._failover = True
        client._addresses = parsed
        client._labels = [address_label(h, p) for h, p in parsed]
        client._token = token
        client._client_name = client_name
        client._book = failover.AddressBook(len(parsed), resolved)
        if random_start:
            client._book.current = random.randrange(len(parsed))
        client._closed_because = "not connected yet"
        with client._lock:
            client._failover_connect(timeout)
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
    def settings(self) -> FailoverSettings:
        """8.1's settings this client runs with (milliseconds)."""
        return self._settings

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
        """How many times the client's current address moved to another after a failure."""
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
        another, and the address is suspect unless the server only closed an idle connection);
        only a closed client raises.
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
                self._check_connection(None)
            except _Ended as ended:
                # Found gone between calls: no call's attempt, but news of the instance.
                assert self._book is not None and ended.outcome is not None and self._index is not None
                self._book.record(self._index, ended.outcome, failover.now_ms())

    # -- calls --------------------------------------------------------------------------------

    def call(self, method: int, request: Message, response_type: Type[M], timeout: Optional[float] = DEFAULT_TIMEOUT) -> M:
        """One unary call: REQUEST on a new stream, wait for its RESPONSE or ERROR.

        `timeout` (seconds) is sent to the server and enforced here; None sends 0 (the server's
        own ceiling applies) and waits without a deadline of its own. With addresses=, it is
        the call's budget (None: the server's ceiling), failovers included (PROTOCOL.md 8.1).
        """
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds or None, got {timeout}")
        message = request.SerializeToString()
        if self._failover:
            return self._failover_call(method, request, message, response_type, timeout)
        with self._lock:
            deadline = None if timeout is None else time.monotonic() + timeout
            self._ensure_open()
            self._drain()
            if self._goaway is not None:
                raise self._unavailable_after_goaway(self._goaway, None)
            if self._last_stream_id >= frames.MAX_STREAM_ID:
                self._close_socket("stream ids exhausted")
                raise ClaimlineError(StatusCode.UNAVAILABLE, "stream ids exhausted: connect again", "STREAM_IDS_EXHAUSTED")
            if not self._idle_connection_answers(deadline):
                raise ClaimlineError(StatusCode.UNAVAILABLE, self._closed_because, "CONNECTION_LOST")
            remaining = _remaining(deadline)
            timeout_ms = 0 if remaining is None else failover.request_timeout_ms(remaining)
            payload = frames.encode_request_payload(timeout_ms, message)
            if len(payload) > self._max_frame_size:
                raise self._request_too_large(len(payload))
            self._last_stream_id += 1
            stream_id = self._last_stream_id
            written_at = time.monotonic()
            self._send(frames.encode_frame(FrameType.REQUEST, payload, method=method, stream_id=stream_id), deadline)
            try:
                return self._await_answer(method, stream_id, response_type, deadline, written_at)
            except _Timeout:
                self._cancel(stream_id)
                raise ClaimlineError(
                    StatusCode.DEADLINE_EXCEEDED, f"no answer on stream {stream_id} within {timeout} s"
                ) from None
            except _KeepaliveExpired:
                raise ClaimlineError(StatusCode.UNAVAILABLE, self._closed_because, "CONNECTION_LOST") from None

    def _request_too_large(self, size: int) -> ClaimlineError:
        return ClaimlineError(
            StatusCode.RESOURCE_EXHAUSTED,
            f"request of {size} bytes exceeds the server's max frame size {self._max_frame_size}",
            reason="FRAME_TOO_LARGE",
        )

    def _await_answer(
        self, method: int, stream_id: int, response_type: Type[M], deadline: Optional[float], written_at: float
    ) -> M:
        """Reads frames until the stream's answer. While it waits it keeps the connection honest
        (8.1): after `keepalive_interval_ms` without a byte (counted from the request's write at
        the earliest) it sends PING; no byte within `keepalive_timeout_ms` after that and the
        connection is reset (_KeepaliveExpired). _Timeout at `deadline`."""
        interval = self._settings.keepalive_interval_ms / 1000.0
        grace = self._settings.keepalive_timeout_ms / 1000.0
        ping_sent: Optional[float] = None
        while True:
            frame = self._take_frame()
            if frame is not None:
                header, payload = frame
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
                continue
            now = time.monotonic()
            if ping_sent is not None and self._last_rx >= ping_sent:
                ping_sent = None  # something came after our PING: the connection lives
            if ping_sent is None:
                wake = max(self._last_rx, written_at) + interval
                if now >= wake:
                    self._send_ping()
                    ping_sent = now
                    wake = now + grace
            else:
                wake = ping_sent + grace
                if now >= wake:
                    self._reset_socket(
                        f"no frame within keepalive_timeout_ms ({self._settings.keepalive_timeout_ms:.0f}) of a PING, "
                        f"waiting for stream {stream_id}: connection reset"
                    )
                    raise _KeepaliveExpired()
            if deadline is not None:
                if now >= deadline:
                    raise _Timeout()
                wake = min(wake, deadline)
            self._recv_more(max(wake - now, 0.0))

    def _idle_connection_answers(self, deadline: Optional[float]) -> bool:
        """8.1's idle keepalive, checked before a call (a blocking client runs no timer): a
        connection that received nothing for `idle_keepalive_ms` gets a PING, and must show life
        (any byte) within `keepalive_timeout_ms`, or before `deadline`. False: it did not, and
        it was reset (the call has sent nothing). Connection failures raise ClaimlineError."""
        if time.monotonic() - self._last_rx < self._settings.idle_keepalive_ms / 1000.0:
            return True
        mark = time.monotonic()
        self._send_ping()
        limit = mark + self._settings.keepalive_timeout_ms / 1000.0
        if deadline is not None:
            limit = min(limit, deadline)
        while self._last_rx < mark:
            remaining = limit - time.monotonic()
            if remaining <= 0:
                self._reset_socket(
                    f"idle connection: no frame within {(limit - mark) * 1000:.0f} ms of a PING: connection reset"
                )
                return False
            self._recv_more(remaining)
        self._drain()  # the PONG, and whatever came with it
        return True

    def _send_ping(self) -> None:
        self._pings += 1
        self._send(frames.encode_frame(FrameType.PING, struct.pack(">Q", self._pings)), None, control=True)

    def _current_label(self) -> Optional[str]:
        return self._labels[self._index] if self._index is not None and self._labels else None

    def _max_deadline_ms(self) -> int:
        return self._hello_ack.max_deadline_ms if self._hello_ack is not None else 0

    # -- failover (connect(addresses=...)): PROTOCOL.md 8.1, planned by claimline.failover ------

    def _failover_connect(self, timeout: Optional[float]) -> None:
        """connect(addresses=...)'s first connection, planned as a call that applies nothing."""
        assert self._book is not None
        call = failover.FailoverCall(self._book, failover.READ, failover.budget_ms(timeout), self._labels)
        while True:
            step = call.next()
            if isinstance(step, failover.Finish):
                if step.answer:
                    return
                raise call.error(step)
            _sleep_until(step.at_ms)
            try:
                self._use(step.address, time.monotonic() + step.timeout_ms / 1000.0)
            except _Ended as ended:
                if ended.outcome is None:
                    raise ended.error from None
                call.record(step, ended.outcome, ended.error)
                continue
            call.record(step, failover.ANSWER)

    def _failover_call(
        self, method: int, request: Message, message: bytes, response_type: Type[M], timeout: Optional[float]
    ) -> M:
        info = METHODS.get(method)  # type: ignore[call-overload]
        kind = failover.call_kind(True if info is None else info.write, request)  # unknown methods: writes
        with self._lock:
            if self._shut:
                raise self._client_closed()
            assert self._book is not None
            budget = failover.budget_ms(timeout, self._max_deadline_ms())
            call = failover.FailoverCall(self._book, kind, budget, self._labels)
            answer: Optional[M] = None
            answer_error: Optional[ClaimlineError] = None
            while True:
                step = call.next()
                if isinstance(step, failover.Finish):
                    if not step.answer:
                        raise call.error(step)
                    if answer_error is not None:
                        raise answer_error
                    assert answer is not None
                    return answer
                _sleep_until(step.at_ms)
                if self._shut:
                    raise self._client_closed()
                try:
                    answer = self._attempt_call(step, method, message, response_type)
                except _Ended as ended:
                    if ended.outcome is None:
                        raise ended.error from None
                    call.record(step, ended.outcome, ended.error)
                    if ended.outcome == failover.ANSWER:
                        answer_error = ended.error  # the server's ERROR: the call's answer
                    continue
                call.record(step, failover.ANSWER)

    def _attempt_call(self, step: failover.Attempt, method: int, message: bytes, response_type: Type[M]) -> M:
        """One attempt: a connection to the step's address (opened, or checked if open), one
        REQUEST carrying the attempt's timeout, its answer; any other end as _Ended with its
        outcome (8.1's table)."""
        attempt_deadline = time.monotonic() + step.timeout_ms / 1000.0
        self._use(step.address, attempt_deadline)
        label = self._labels[step.address]
        remaining = attempt_deadline - time.monotonic()
        payload = frames.encode_request_payload(failover.request_timeout_ms(remaining), message)
        if len(payload) > self._max_frame_size:
            raise _Ended(None, self._request_too_large(len(payload)))
        self._last_stream_id += 1
        stream_id = self._last_stream_id
        written_at = time.monotonic()
        try:
            self._send(
                frames.encode_frame(FrameType.REQUEST, payload, method=method, stream_id=stream_id), attempt_deadline
            )
        except ClaimlineError as error:
            # Part of the frame, or all of it, may have reached the server. A write that timed
            # out has reset the connection (a peer that does not read is frozen or swamped).
            if error.code == StatusCode.DEADLINE_EXCEEDED:
                raise _Ended(failover.ATTEMPT_TIMEOUT, self._client_deadline(label, stream_id, step, error.message))
            raise _Ended(failover.LOST, error) from None
        try:
            return self._await_answer(method, stream_id, response_type, attempt_deadline, written_at)
        except _Timeout:
            if self._last_rx < written_at:
                # Silent since the request went out: the instance may be frozen with the request
                # in its socket. RST, so that it never takes it (8.1 step 3).
                self._reset_socket(f"no answer on stream {stream_id} and nothing received: connection reset")
                detail = "nothing received since the request was written: connection reset"
            else:
                self._cancel(stream_id)
                detail = "CANCEL sent"
            raise _Ended(failover.ATTEMPT_TIMEOUT, self._client_deadline(label, stream_id, step, detail)) from None
        except _KeepaliveExpired:
            dead = ClaimlineError(StatusCode.UNAVAILABLE, f"{label}: {self._closed_because}", "CONNECTION_CLOSED")
            raise _Ended(failover.LOST, dead) from None
        except ClaimlineError as error:
            if getattr(error, "_from_server", False):
                raise _Ended(failover.error_outcome(error.code, error.reason), error) from None
            goaway = self._goaway
            if goaway is not None and stream_id > goaway.last_stream_id:
                # The server never processed streams above last_stream_id (PROTOCOL.md 3.7).
                raise _Ended(failover.GOAWAY_UNPROCESSED, error) from None
            raise _Ended(failover.LOST, error) from None

    @staticmethod
    def _client_deadline(label: str, stream_id: int, step: failover.Attempt, detail: str) -> ClaimlineError:
        return ClaimlineError(
            StatusCode.DEADLINE_EXCEEDED,
            f"no answer from {label} on stream {stream_id} within the attempt's {step.timeout_ms:.0f} ms ({detail})",
            "CLIENT_DEADLINE",
        )

    def _use(self, index: int, attempt_deadline: float) -> None:
        """Makes the open connection one to address `index` that can carry a request: the one
        open (checked), else a new one within `connect_timeout_ms` and the attempt. _Ended:
        CONNECT_FAILED, or GOAWAY_UNPROCESSED for a connection found closing (nothing sent)."""
        if self._sock is not None and self._index != index:
            self._say_goodbye(f"moving to {self._labels[index]}")
        if self._sock is not None and self._last_stream_id >= frames.MAX_STREAM_ID:
            self._say_goodbye("stream ids exhausted")
        if self._sock is not None:
            self._check_connection(attempt_deadline)
        if self._sock is None:
            connect_deadline = time.monotonic() + self._settings.connect_timeout_ms / 1000.0
            self._open(index, min(connect_deadline, attempt_deadline))

    def _check_connection(self, attempt_deadline: Optional[float]) -> None:
        """The open connection, between calls: what arrived meanwhile (GOAWAY, a close) and, after
        `idle_keepalive_ms` of silence with a deadline to check within, a PING. A connection the
        server closed for our idleness is closed quietly, and so is one that does not answer its
        PING (reset): 8.1 counts neither as an attempt, the caller opens another and the
        attempt's outcome is that one's. One closing for any other reason is
        GOAWAY_UNPROCESSED: nothing was sent on it."""
        try:
            self._drain()
            goaway = self._goaway
            if goaway is None:
                if attempt_deadline is not None:
                    self._idle_connection_answers(attempt_deadline)  # else reset: _sock is None
                return
            self._say_goodbye(f"GOAWAY {goaway.reason}")
            if goaway.reason in failover.IDLE_CLOSE_REASONS:
                return
            raise _Ended(failover.GOAWAY_UNPROCESSED, self._unavailable_after_goaway(goaway, None))
        except ClaimlineError as error:  # lost, or GOAWAY with an error code (closed by now)
            self._close_socket(str(error))
            goaway = self._goaway
            if goaway is not None and goaway.reason in failover.IDLE_CLOSE_REASONS:
                return
            raise _Ended(failover.GOAWAY_UNPROCESSED, error) from None

    def _open(self, index: int, deadline: float) -> None:
        """Connects to address `index` (TCP, TLS, preface, HELLO, HELLO_ACK) by `deadline`."""
        host, port = self._addresses[index]
        try:
            sock = _dial(host, port, max(deadline - time.monotonic(), 0.001), self._tls)
        except ClaimlineError as error:
            raise _Ended(failover.CONNECT_FAILED, error) from None
        self._sock = sock
        self._buf.clear()
        self._max_frame_size = frames.HANDSHAKE_MAX_FRAME_SIZE
        self._goaway = None
        self._last_stream_id = 0
        self._last_rx = time.monotonic()
        self._index = index
        try:
            self._handshake(self._token, self._client_name, deadline)
        except ClaimlineError as error:
            self._close_socket(f"handshake failed: {error}")
            if failover.handshake_refusal_is_final(error.code, error.reason):
                raise _Ended(None, error) from None
            if error.code == StatusCode.DEADLINE_EXCEEDED:
                error = ClaimlineError(
                    StatusCode.UNAVAILABLE, f"no HELLO_ACK from {self._labels[index]} in time", "CONNECT_FAILED"
                )
            raise _Ended(failover.CONNECT_FAILED, error) from None
        except BaseException:
            self._close_socket("handshake failed")
            raise

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
        self._last_rx = time.monotonic()
        return True

    def _send(self, data: bytes, deadline: Optional[float], control: bool = False) -> None:
        sock = self._require_socket()
        remaining = _CONTROL_WRITE_TIMEOUT if control else _remaining(deadline)
        try:
            sock.settimeout(None if remaining is None else max(remaining, 0.001))
            sock.sendall(data)
        except socket.timeout:
            # Part of a frame may be written: the byte stream cannot be trusted any more, and a
            # peer that takes no bytes may be frozen with our requests in its socket: RST.
            self._reset_socket("write timed out")
            raise ClaimlineError(StatusCode.DEADLINE_EXCEEDED, "write timed out; connection reset") from None
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

    def _reset_socket(self, why: str) -> None:
        """Closes the connection with RST (SO_LINGER 0): what our side still holds is dropped, and
        the server discards the requests it had not yet taken (PROTOCOL.md 8.1 step 3)."""
        sock, self._sock = self._sock, None
        if sock is None:
            return
        self._closed_because = why
        self._buf.clear()
        _reset(sock)

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
