"""An asyncio Claimline client: one TCP connection, many calls in flight on it.

    client = await AsyncClaimlineClient.connect("127.0.0.1", 7400, "dev-ivr-token", "ivr-node-3")
    async with client:
        answers = await asyncio.gather(*(client.get_claim(r) for r in requests))

    # Several claimlined instances: PROTOCOL.md 8.1's failover, as ClaimlineClient.
    client = await AsyncClaimlineClient.connect(addresses="10.0.0.5:7400,10.0.0.6:7400",
                                                token="dev-ivr-token", client_name="ivr-node-3")

``tls=TLSConfig(...)`` (or an ``ssl.SSLContext``) runs the connections over TLS, as for the
blocking client (:mod:`claimline.tls`).

Each call gets its own stream id; a reader task per connection matches RESPONSE and ERROR frames
to the waiting calls by stream id, answers PINGs and notes GOAWAY, and a keepalive task PINGs a
connection that is silent while calls wait on it (or idle for long) and resets it when no frame
follows (8.1's keepalive). Errors are the blocking client's :class:`~claimline.ClaimlineError`
with the same codes and reasons; framing (:mod:`claimline.frames`) is shared with
:mod:`claimline.client`, and the failover algorithm is :mod:`claimline.failover`'s, which both
clients carry out.
"""

from __future__ import annotations

import asyncio
import functools
import random
import socket
import ssl
import struct
import time
from types import TracebackType
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Type, TypeVar, Union

from google.protobuf.message import DecodeError, Message

from claimline import failover, frames
from claimline.client import _DEFAULT_MAX_FRAME_SIZE, _LINGER_RESET
from claimline.errors import ClaimlineError, StatusCode, code_name
from claimline.failover import FailoverSettings, address_label
from claimline.frames import FrameError, FrameHeader, FrameType
from claimline.methods import DEFAULT_TIMEOUT, METHODS, Method
from claimline.tls import TLSConfig, _closed_before_hello_ack, _resolve_tls, _TLS, _tls_failure
from claimline.v1 import service_pb2, wire_pb2

__all__ = ["AsyncClaimlineClient"]

M = TypeVar("M", bound=Message)

_CONTROL_WRITE_TIMEOUT = 1.0


def _remaining(deadline: Optional[float]) -> Optional[float]:
    return None if deadline is None else deadline - time.monotonic()


async def _sleep_until(at_ms: float) -> None:
    delay = at_ms / 1000.0 - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


def _unavailable_after_goaway(goaway: wire_pb2.GoAway, stream_id: Optional[int]) -> ClaimlineError:
    message = f"server sent GOAWAY {goaway.reason or code_name(goaway.code)}"
    if goaway.message:
        message += f": {goaway.message}"
    if stream_id is not None:
        if stream_id > goaway.last_stream_id:
            message += f"; stream {stream_id} was not processed (last {goaway.last_stream_id}): safe to retry"
        else:
            message += f"; stream {stream_id} may have been processed: retry with the same idempotency key"
    return ClaimlineError(StatusCode.UNAVAILABLE, message, goaway.reason or "GOAWAY")


class _Ended(Exception):
    """One attempt ended without an answer to return: its 8.1 outcome, the error saying what
    happened and the episode (the connection, or the connect) whose failures count once.
    `outcome` None: the error ends the call at once and says nothing of the instance."""

    def __init__(self, outcome: Optional[str], error: ClaimlineError, episode: Optional[object] = None) -> None:
        super().__init__(str(error))
        self.outcome = outcome
        self.error = error
        self.episode = episode


class _NotWritten(ClaimlineError):
    """The connection was closed before a byte of the frame was written: nothing was sent."""

    def __init__(self, why: str) -> None:
        super().__init__(StatusCode.UNAVAILABLE, f"connection closed ({why})", "CONNECTION_CLOSED")


class _Pending:
    __slots__ = ("method", "future", "written_at")

    def __init__(self, method: int, future: "asyncio.Future[Tuple[int, bytes]]", written_at: float) -> None:
        self.method = method
        self.future = future
        self.written_at = written_at


class _Connection:
    """One handshaken connection, its reader task and its keepalive task. Calls in flight that
    end without an answer get _Ended at their futures, with the outcome (8.1) and this
    connection as the episode. `on_down(conn, outcome)` is told when the server's side ends the
    connection (closed, lost, GOAWAY other than for our idleness, a protocol fault): news of the
    instance even when no call was waiting."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        index: int,
        settings: FailoverSettings,
        on_down: Optional[Callable[["_Connection", str], None]] = None,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.index = index
        self.settings = settings
        self.on_down = on_down
        self.max_frame_size = frames.HANDSHAKE_MAX_FRAME_SIZE
        self.hello_ack: Optional[wire_pb2.HelloAck] = None
        self.goaway: Optional[wire_pb2.GoAway] = None
        self.last_stream_id = 0
        self.pending: Dict[int, _Pending] = {}
        self.closed = False
        self.closed_because = ""
        self.retired = False  # no new calls; closed when the calls in flight are done
        self.task: Optional["asyncio.Task[None]"] = None
        self.keepalive_task: Optional["asyncio.Task[None]"] = None
        self._write_lock = asyncio.Lock()
        # Over TLS, until HELLO_ACK: the address, for TLS errors as TLS_HANDSHAKE_FAILED.
        self.tls_handshake_label: Optional[str] = None
        # Keepalive (8.1): when a frame last arrived, when calls began waiting, our PING.
        self.last_rx = time.monotonic()
        self.busy_since = 0.0
        self.ping_sent: Optional[float] = None
        self.pings = 0
        self._wake = asyncio.Event()

    # -- state ----------------------------------------------------------------------------------

    @property
    def usable(self) -> bool:
        return (
            not self.closed
            and not self.retired
            and self.goaway is None
            and self.last_stream_id < frames.MAX_STREAM_ID
        )

    def add_pending(self, stream_id: int, entry: _Pending) -> None:
        if not self.pending:
            # Calls now wait: keepalive_interval_ms of silence from here on is suspicious, not
            # idle_keepalive_ms. Wake the keepalive task to shorten its sleep.
            self.busy_since = time.monotonic()
            self._wake.set()
        self.pending[stream_id] = entry

    # -- bytes ----------------------------------------------------------------------------------

    async def send(self, data: bytes, timeout: Optional[float]) -> None:
        """Writes a whole frame; ClaimlineError UNAVAILABLE (lost) or DEADLINE_EXCEEDED (reset);
        _NotWritten when the connection was closed before any of it was written."""
        if self.closed:
            raise _NotWritten(self.closed_because)
        try:
            async with self._write_lock:  # frames are never interleaved
                if self.closed:  # while we waited for the lock
                    raise _NotWritten(self.closed_because)
                self.writer.write(data)
                await asyncio.wait_for(self.writer.drain(), timeout=None if timeout is None else max(timeout, 0.001))
        except asyncio.TimeoutError:
            # A peer that takes no bytes may be frozen with our requests in its socket: RST.
            self.reset("write timed out")
            raise ClaimlineError(StatusCode.DEADLINE_EXCEEDED, "write timed out; connection reset") from None
        except ssl.SSLError as error:
            self.close(f"TLS: {error}")
            if self.tls_handshake_label is not None:
                message, reason = _tls_failure(error, self.tls_handshake_label)
                raise ClaimlineError(StatusCode.UNAVAILABLE, message, reason) from None
            raise ClaimlineError(StatusCode.UNAVAILABLE, f"connection lost: TLS: {error}", "CONNECTION_LOST") from None
        except (OSError, RuntimeError) as error:
            self.close(f"connection lost: {error}")
            if self.tls_handshake_label is not None:
                message, reason = _closed_before_hello_ack(self.tls_handshake_label, f"connection lost: {error}")
                raise ClaimlineError(StatusCode.UNAVAILABLE, message, reason) from None
            raise ClaimlineError(StatusCode.UNAVAILABLE, f"connection lost: {error}", "CONNECTION_LOST") from None

    async def send_control(self, data: bytes) -> None:
        try:
            await self.send(data, _CONTROL_WRITE_TIMEOUT)
        except ClaimlineError:
            pass

    async def read_frame(self) -> Tuple[FrameHeader, bytes]:
        head = await self.reader.readexactly(frames.HEADER_SIZE)
        header = frames.decode_header(head)
        if header.length > self.max_frame_size:
            raise _ConnectionFault(
                StatusCode.RESOURCE_EXHAUSTED,
                "FRAME_TOO_LARGE",
                f"{header.type_name} frame of {header.length} bytes exceeds {self.max_frame_size}",
            )
        payload = await self.reader.readexactly(header.length) if header.length else b""
        self.last_rx = time.monotonic()
        return header, payload

    def close(self, why: str) -> None:
        """Closes (FIN once what is written has gone); calls in flight end `lost`."""
        if self.closed:
            return
        self.closed = True
        self.closed_because = why
        try:
            self.writer.close()
        except (OSError, RuntimeError):
            pass
        self._stopped(why)

    def reset(self, why: str) -> None:
        """Closes with RST (SO_LINGER 0), dropping what is not yet sent, so that the server
        discards the requests it had not yet taken (8.1 step 3); calls in flight end `lost`."""
        if self.closed:
            return
        self.closed = True
        self.closed_because = why
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
            except OSError:
                pass
        try:
            self.writer.transport.abort()
        except (OSError, RuntimeError):
            pass
        self._stopped(why)

    def _stopped(self, why: str) -> None:
        self.fail_all(ClaimlineError(StatusCode.UNAVAILABLE, f"connection closed ({why})", "CONNECTION_LOST"))
        current = _current_task()
        for task in (self.task, self.keepalive_task):
            if task is not None and task is not current:
                task.cancel()

    async def say_goodbye(self, why: str) -> None:
        """GOAWAY SHUTDOWN (best effort), then close."""
        if self.closed:
            return
        goaway = wire_pb2.GoAway(last_stream_id=0, code=0, reason="SHUTDOWN", message="client closing")
        await self.send_control(frames.encode_frame(FrameType.GOAWAY, goaway.SerializeToString()))
        self.close(why)

    def retire(self, why: str) -> None:
        """No new calls; GOAWAY and close once the calls in flight have their answers."""
        self.retired = True
        if not self.pending and not self.closed:
            asyncio.ensure_future(self.say_goodbye(why))

    def fail_all(self, error: ClaimlineError, outcome: str = failover.LOST) -> None:
        pending, self.pending = self.pending, {}
        for entry in pending.values():
            if not entry.future.done():
                entry.future.set_exception(_Ended(outcome, error, self))

    def finished(self, stream_id: int) -> None:
        self.pending.pop(stream_id, None)
        if self.retired and not self.pending and not self.closed:
            asyncio.ensure_future(self.say_goodbye("retired"))

    def _down(self, outcome: str) -> None:
        goaway = self.goaway
        if goaway is not None and goaway.reason in failover.IDLE_CLOSE_REASONS and not self.pending:
            return  # the server closed an idle connection: nothing wrong with the instance
        if self.on_down is not None:
            self.on_down(self, outcome)

    # -- the reader task ------------------------------------------------------------------------

    async def read_loop(self) -> None:
        try:
            while True:
                header, payload = await self.read_frame()
                try:
                    frames.check_stream_id(header)
                except FrameError as error:
                    raise _ConnectionFault(StatusCode.INTERNAL, "PROTOCOL_ERROR", str(error)) from None
                if header.type in (FrameType.RESPONSE, FrameType.ERROR):
                    entry = self.pending.pop(header.stream_id, None)
                    if entry is None or entry.future.done():
                        continue  # a cancelled or timed-out stream: discard
                    if header.method != entry.method:
                        raise _ConnectionFault(
                            StatusCode.INTERNAL,
                            "PROTOCOL_ERROR",
                            f"{header.type_name} on stream {header.stream_id} echoes method {header.method}, "
                            f"sent {entry.method}",
                        )
                    entry.future.set_result((header.type, payload))
                elif header.type in (FrameType.PING, FrameType.PONG):
                    if len(payload) != frames.PING_PAYLOAD_SIZE:
                        raise _ConnectionFault(
                            StatusCode.INTERNAL,
                            "PROTOCOL_ERROR",
                            f"{header.type_name} payload of {len(payload)} bytes, expected 8",
                        )
                    if header.type == FrameType.PING:
                        asyncio.ensure_future(self.send_control(frames.encode_frame(FrameType.PONG, payload)))
                elif header.type == FrameType.GOAWAY:
                    self.on_goaway(_parse_or_fault(wire_pb2.GoAway, payload))
                else:
                    raise _ConnectionFault(StatusCode.INTERNAL, "PROTOCOL_ERROR", f"unexpected {header.type_name} from the server")
        except asyncio.CancelledError:
            return
        except _ConnectionFault as fault:
            goaway = wire_pb2.GoAway(last_stream_id=0, code=fault.code, reason=fault.reason, message=fault.message[:200])
            await self.send_control(frames.encode_frame(FrameType.GOAWAY, goaway.SerializeToString()))
            self.fail_all(ClaimlineError(StatusCode.UNAVAILABLE, fault.message, fault.reason))
            self._down(failover.GOAWAY_UNPROCESSED)
            self.close(f"{fault.reason}: {fault.message}")
        except (asyncio.IncompleteReadError, OSError, FrameError) as error:
            if self.closed:
                return  # closed by us
            said = self.goaway
            if said is not None:
                for stream_id in list(self.pending):
                    self._fail_after_goaway(stream_id, said)
                self._down(failover.GOAWAY_UNPROCESSED)
                self.close(f"GOAWAY {said.reason}")
            else:
                reason = "the server closed the connection" if isinstance(error, asyncio.IncompleteReadError) else str(error)
                self.fail_all(ClaimlineError(StatusCode.UNAVAILABLE, reason, "CONNECTION_LOST"))
                self._down(failover.GOAWAY_UNPROCESSED)
                self.close(f"connection lost: {reason}")

    def on_goaway(self, goaway: wire_pb2.GoAway) -> None:
        self.goaway = goaway
        for stream_id in list(self.pending):
            if goaway.code != 0 or stream_id > goaway.last_stream_id:
                self._fail_after_goaway(stream_id, goaway)
            # A graceful GOAWAY that covers the stream: the server still answers it.
        self._down(failover.GOAWAY_UNPROCESSED)
        if goaway.code != 0:
            self.close(f"GOAWAY {goaway.reason}")

    def _fail_after_goaway(self, stream_id: int, goaway: wire_pb2.GoAway) -> None:
        entry = self.pending.pop(stream_id, None)
        if entry is None or entry.future.done():
            return
        error = _unavailable_after_goaway(goaway, stream_id)
        outcome = failover.GOAWAY_UNPROCESSED if stream_id > goaway.last_stream_id else failover.LOST
        entry.future.set_exception(_Ended(outcome, error, self))

    # -- the keepalive task (PROTOCOL.md 8.1) ---------------------------------------------------

    async def keepalive_loop(self) -> None:
        """PING after `keepalive_interval_ms` without a frame while calls wait (counted from when
        they began waiting at the earliest), or after `idle_keepalive_ms` without a frame while
        none does; no frame within `keepalive_timeout_ms` of that PING: reset, calls end `lost`."""
        interval = self.settings.keepalive_interval_ms / 1000.0
        grace = self.settings.keepalive_timeout_ms / 1000.0
        idle = self.settings.idle_keepalive_ms / 1000.0
        try:
            while not self.closed:
                now = time.monotonic()
                if self.ping_sent is not None and self.last_rx >= self.ping_sent:
                    self.ping_sent = None  # something came after our PING: the connection lives
                if self.ping_sent is not None:
                    wake = self.ping_sent + grace
                    if now >= wake:
                        # The calls waiting on it end `lost` (each records it); an idle one found
                        # dead is no attempt of any call (8.1): the next call opens another.
                        self.reset(
                            f"no frame within keepalive_timeout_ms ({self.settings.keepalive_timeout_ms:.0f}) "
                            "of a PING: connection reset"
                        )
                        return
                else:
                    quiet = max(self.last_rx, self.busy_since) + interval if self.pending else self.last_rx + idle
                    wake = quiet
                    if now >= wake:
                        self.pings += 1
                        self.ping_sent = now
                        await self.send_control(frames.encode_frame(FrameType.PING, struct.pack(">Q", self.pings)))
                        continue
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), max(wake - now, 0.0))
                except asyncio.TimeoutError:
                    pass
        except asyncio.CancelledError:
            return


class _ConnectionFault(Exception):
    """A connection-level fault on our side: GOAWAY with this code and reason, then close."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message


def _current_task() -> Optional["asyncio.Task[Any]"]:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


def _parse_or_fault(message_type: Type[M], payload: bytes) -> M:
    try:
        return message_type.FromString(payload)
    except (DecodeError, UnicodeDecodeError, ValueError) as error:
        raise _ConnectionFault(
            StatusCode.INTERNAL, "PROTOCOL_ERROR", f"cannot parse {message_type.DESCRIPTOR.full_name}: {error}"
        ) from None


async def _open(
    host: str,
    port: int,
    index: int,
    token: str,
    client_name: str,
    timeout: Optional[float],
    tls: Optional[_TLS] = None,
    settings: FailoverSettings = FailoverSettings(),
    on_down: Optional[Callable[[_Connection, str], None]] = None,
) -> _Connection:
    """TCP (with `tls`, then the TLS handshake), preface, HELLO, HELLO_ACK within `timeout`;
    ClaimlineError as the blocking client raises. Starts the reader and keepalive tasks."""
    deadline = None if timeout is None else time.monotonic() + timeout
    hello = wire_pb2.Hello(client_name=client_name, token=token).SerializeToString()
    if len(hello) > frames.HANDSHAKE_MAX_FRAME_SIZE:
        raise ValueError(f"HELLO of {len(hello)} bytes exceeds {frames.HANDSHAKE_MAX_FRAME_SIZE}")
    label = address_label(host, port)
    if tls is None:
        opening = asyncio.open_connection(host, port)
    else:
        opening = asyncio.open_connection(
            host,
            port,
            ssl=tls.context,
            server_hostname=tls.hostname_for(host),
            # Past the wait_for below, which reports a slow handshake as DEADLINE_EXCEEDED.
            ssl_handshake_timeout=None if timeout is None else timeout + 1.0,
        )
    try:
        reader, writer = await asyncio.wait_for(opening, timeout)
    except asyncio.TimeoutError:
        what = "connect to" if tls is None else "connect (TCP and TLS handshake) to"
        raise ClaimlineError(StatusCode.DEADLINE_EXCEEDED, f"{what} {host}:{port} timed out") from None
    except ssl.SSLError as error:
        message, reason = _tls_failure(error, label)
        raise ClaimlineError(StatusCode.UNAVAILABLE, message, reason) from None
    except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError, EOFError) as error:
        if tls is None:
            raise ClaimlineError(
                StatusCode.UNAVAILABLE, f"connect to {host}:{port}: {error}", reason="CONNECT_FAILED"
            ) from None
        message, reason = _tls_failure(error, label)
        raise ClaimlineError(StatusCode.UNAVAILABLE, message, reason) from None
    except OSError as error:
        raise ClaimlineError(
            StatusCode.UNAVAILABLE, f"connect to {host}:{port}: {error}", reason="CONNECT_FAILED"
        ) from None
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
    conn = _Connection(reader, writer, index, settings, on_down)
    conn.tls_handshake_label = None if tls is None else label
    try:
        await conn.send(frames.PREFACE + frames.encode_frame(FrameType.HELLO, hello), _remaining(deadline))
        try:
            header, payload = await asyncio.wait_for(conn.read_frame(), _remaining(deadline))
        except asyncio.TimeoutError:
            raise ClaimlineError(StatusCode.DEADLINE_EXCEEDED, "no HELLO_ACK before the timeout") from None
        except ssl.SSLError as error:
            # E.g. TLS 1.3's refusal of the client certificate, after the client's side of the handshake.
            message, reason = _tls_failure(error, label)
            raise ClaimlineError(StatusCode.UNAVAILABLE, message, reason) from None
        except (asyncio.IncompleteReadError, OSError) as error:
            if tls is not None:
                message, reason = _closed_before_hello_ack(label, f"connection lost: {error}")
                raise ClaimlineError(StatusCode.UNAVAILABLE, message, reason) from None
            raise ClaimlineError(StatusCode.UNAVAILABLE, f"connection lost: {error}", "CONNECTION_LOST") from None
        except _ConnectionFault as fault:
            raise ClaimlineError(StatusCode.UNAVAILABLE, fault.message, fault.reason) from None
        try:
            if header.type == FrameType.GOAWAY and header.stream_id == 0:
                goaway = _parse_or_fault(wire_pb2.GoAway, payload)
                raise ClaimlineError(
                    goaway.code or StatusCode.UNAVAILABLE, goaway.message or "server refused the connection", goaway.reason
                )
            if header.type != FrameType.HELLO_ACK or header.stream_id != 0:
                raise _ConnectionFault(
                    StatusCode.INTERNAL, "PROTOCOL_ERROR", f"expected HELLO_ACK or GOAWAY, got {header.type_name}"
                )
            ack = _parse_or_fault(wire_pb2.HelloAck, payload)
        except _ConnectionFault as fault:
            goaway = wire_pb2.GoAway(last_stream_id=0, code=fault.code, reason=fault.reason, message=fault.message[:200])
            await conn.send_control(frames.encode_frame(FrameType.GOAWAY, goaway.SerializeToString()))
            raise ClaimlineError(StatusCode.UNAVAILABLE, fault.message, fault.reason) from None
    except BaseException:
        conn.close("handshake failed")
        raise
    conn.hello_ack = ack
    conn.tls_handshake_label = None
    conn.max_frame_size = min(ack.max_frame_size or _DEFAULT_MAX_FRAME_SIZE, frames.MAX_FRAME_SIZE_CEILING)
    conn.last_rx = time.monotonic()
    conn.task = asyncio.ensure_future(conn.read_loop())
    conn.keepalive_task = asyncio.ensure_future(conn.keepalive_loop())
    return conn


class AsyncClaimlineClient:
    """An asyncio client of claimlined: concurrent calls share one connection (stream ids).

    Create it with ``await AsyncClaimlineClient.connect(...)``: the arguments and the failover
    rules are those of :meth:`claimline.ClaimlineClient.connect`. With ``host, port`` it is one
    connection, never reopened; with ``addresses=[...]`` it reconnects and fails over by itself
    (PROTOCOL.md 8.1): every call plans its attempts with :mod:`claimline.failover`, sharing one
    address book (the current address, the suspect ones), and each attempt goes on the open
    connection to its address (opened when there is none; concurrent calls share the opening).
    """

    def __init__(self) -> None:
        """Use :meth:`connect`."""
        self._conns: Dict[int, _Connection] = {}  # the open connection to each address
        self._opening: Dict[int, "asyncio.Task[_Connection]"] = {}  # connects under way, by address
        self._last_conn: Optional[_Connection] = None
        self._failover = False
        self._addresses: List[Tuple[str, int]] = []
        self._labels: List[str] = []
        self._token = ""
        self._client_name = ""
        self._settings = FailoverSettings()
        self._book: Optional[failover.AddressBook] = None
        self._last_served: Optional[str] = None
        self._shut = False
        self._tls: Optional[_TLS] = None  # TLS settings of every connection (None: plain TCP)

    # -- connection -------------------------------------------------------------------------------

    @classmethod
    async def connect(
        cls,
        host: Optional[str] = None,
        port: Optional[int] = None,
        token: Optional[str] = None,
        client_name: Optional[str] = None,
        timeout: Optional[float] = DEFAULT_TIMEOUT,
        *,
        addresses: Union[None, str, Sequence[Union[str, Tuple[str, int]]]] = None,
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
    ) -> "AsyncClaimlineClient":
        """Opens TCP (with `tls`, TLS), sends the preface and HELLO, reads HELLO_ACK (see
        ClaimlineClient.connect: the same arguments, settings and `tls=`)."""
        client = cls()
        client._tls = _resolve_tls(tls)
        client._settings = failover.make_settings(
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
            client._addresses = [(host, port)]
            client._labels = [address_label(host, port)]
            conn = await _open(host, port, 0, token, client_name, timeout, client._tls, client._settings)
            client._conns[0] = client._last_conn = conn
            return client

        parsed = failover.connect_arguments(host, port, token, client_name, timeout, addresses)
        assert token is not None and client_name is not None
        client._failover = True
        client._addresses = parsed
        client._labels = [address_label(h, p) for h, p in parsed]
        client._token = token
        client._client_name = client_name
        client._book = failover.AddressBook(len(parsed), client._settings)
        if random_start:
            client._book.current = random.randrange(len(parsed))
        await client._failover_connect(timeout)
        return client

    async def _failover_connect(self, timeout: Optional[float]) -> None:
        """connect(addresses=...)'s first connection, planned as a call that applies nothing."""
        assert self._book is not None
        call = failover.FailoverCall(self._book, failover.READ, failover.budget_ms(timeout), self._labels)
        while True:
            step = call.next()
            if isinstance(step, failover.Finish):
                if step.answer:
                    return
                raise call.error(step)
            await _sleep_until(step.at_ms)
            if self._shut:
                raise self._client_closed()
            try:
                await self._connection_to(step.address, time.monotonic() + step.timeout_ms / 1000.0)
            except _Ended as ended:
                if ended.outcome is None:
                    raise ended.error from None
                call.record(step, ended.outcome, ended.error, ended.episode)
                continue
            call.record(step, failover.ANSWER)

    async def _connection_to(self, index: int, attempt_deadline: float) -> _Connection:
        """The open connection to address `index`, else a new one within `connect_timeout_ms`
        and the attempt (_Ended CONNECT_FAILED, the connect being the episode). A connection
        found closed or going away is left: nothing of this call's was sent on it, and its own
        failure was recorded when it happened (`_connection_down`)."""
        self._prune(index)
        conn = self._conns.get(index)
        if conn is not None and conn.usable:
            return conn
        if conn is not None:
            del self._conns[index]
            conn.retire("closing or going away")
        allowance = max(min(self._settings.connect_timeout_ms / 1000.0, attempt_deadline - time.monotonic()), 0.001)
        task = self._opening.get(index)
        if task is None:
            host, port = self._addresses[index]
            task = asyncio.ensure_future(
                _open(host, port, index, self._token, self._client_name, allowance, self._tls, self._settings,
                      self._connection_down)
            )
            self._opening[index] = task
            task.add_done_callback(functools.partial(self._opened, index))
        try:
            return await asyncio.wait_for(asyncio.shield(task), allowance)
        except asyncio.TimeoutError:
            error = ClaimlineError(
                StatusCode.UNAVAILABLE,
                f"no connection to {self._labels[index]} within {allowance * 1000:.0f} ms",
                "CONNECT_FAILED",
            )
            raise _Ended(failover.CONNECT_FAILED, error, task) from None
        except ClaimlineError as error:
            if failover.handshake_refusal_is_final(error.code, error.reason):
                raise _Ended(None, error) from None
            if error.code == StatusCode.DEADLINE_EXCEEDED:
                error = ClaimlineError(StatusCode.UNAVAILABLE, f"{error.message} ({self._labels[index]})", "CONNECT_FAILED")
            raise _Ended(failover.CONNECT_FAILED, error, task) from None

    def _opened(self, index: int, task: "asyncio.Task[_Connection]") -> None:
        """A connect ended: its connection becomes the address's (even when every call waiting
        for it gave up first: the next one uses it)."""
        if self._opening.get(index) is task:
            del self._opening[index]
        if task.cancelled() or task.exception() is not None:
            return
        conn = task.result()
        if self._shut:
            asyncio.ensure_future(conn.say_goodbye("closed by the client"))
            return
        old = self._conns.get(index)
        if old is not None and old is not conn:
            old.retire("replaced")
        self._conns[index] = self._last_conn = conn

    def _connection_down(self, conn: _Connection, outcome: str) -> None:
        """The server's side ended `conn`: its address is suspect (8.1), counted once with the
        outcomes of the calls that were waiting on it (the same episode)."""
        if self._conns.get(conn.index) is conn:
            del self._conns[conn.index]
        if self._book is not None and not self._shut:
            self._book.record(conn.index, outcome, failover.now_ms(), episode=conn)

    def _prune(self, keep: int) -> None:
        """Leaves connections that no call needs: to an address that is neither current nor
        `keep`, with no call waiting (GOAWAY, then close)."""
        if self._book is None:
            return
        for index, conn in list(self._conns.items()):
            if index not in (keep, self._book.current) and not conn.pending:
                del self._conns[index]
                conn.retire(f"leaving {self._labels[index]}")

    # -- calls ------------------------------------------------------------------------------------

    async def call(
        self, method: int, request: Message, response_type: Type[M], timeout: Optional[float] = DEFAULT_TIMEOUT
    ) -> M:
        """One unary call on a new stream; other calls may be in flight on the same connection.

        `timeout` (seconds) is sent to the server in the REQUEST and enforced here (CANCEL, then
        DEADLINE_EXCEEDED); None sends 0. With addresses=, it is the call's budget (None: the
        server's ceiling), every attempt included (PROTOCOL.md 8.1).
        """
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds or None, got {timeout}")
        message = request.SerializeToString()
        if self._shut:
            raise self._client_closed()
        if self._failover:
            return await self._failover_call(method, request, message, response_type, timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        conn = self._conns.get(0)
        if conn is None:
            raise self._client_closed()
        if not conn.usable:
            if conn.goaway is not None and not conn.closed:
                raise _unavailable_after_goaway(conn.goaway, None)
            if not conn.closed and conn.last_stream_id >= frames.MAX_STREAM_ID:
                conn.retire("stream ids exhausted")
                raise ClaimlineError(StatusCode.UNAVAILABLE, "stream ids exhausted: connect again", "STREAM_IDS_EXHAUSTED")
            raise ClaimlineError(
                StatusCode.UNAVAILABLE, f"connection closed ({conn.closed_because}): connect again", "CONNECTION_CLOSED"
            )
        try:
            return await self._request(conn, method, message, response_type, deadline, None)
        except _Ended as ended:
            if ended.outcome == failover.ATTEMPT_TIMEOUT:
                raise ClaimlineError(StatusCode.DEADLINE_EXCEEDED, ended.error.message) from None
            raise ended.error from None

    async def _failover_call(
        self, method: int, request: Message, message: bytes, response_type: Type[M], timeout: Optional[float]
    ) -> M:
        info = METHODS.get(method)  # type: ignore[call-overload]
        kind = failover.call_kind(True if info is None else info.write, request)  # unknown methods: writes
        assert self._book is not None
        max_deadline = self._last_conn.hello_ack.max_deadline_ms if self._last_conn and self._last_conn.hello_ack else 0
        call = failover.FailoverCall(self._book, kind, failover.budget_ms(timeout, max_deadline), self._labels)
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
            await _sleep_until(step.at_ms)
            if self._shut:
                raise self._client_closed()
            attempt_deadline = time.monotonic() + step.timeout_ms / 1000.0
            try:
                conn = await self._connection_to(step.address, attempt_deadline)
                answer = await self._request(conn, method, message, response_type, attempt_deadline, step)
            except _Ended as ended:
                if ended.outcome is None:
                    raise ended.error from None
                call.record(step, ended.outcome, ended.error, ended.episode)
                if ended.outcome == failover.ANSWER:
                    answer_error = ended.error  # the server's ERROR: the call's answer
                continue
            call.record(step, failover.ANSWER)

    async def _request(
        self,
        conn: _Connection,
        method: int,
        message: bytes,
        response_type: Type[M],
        deadline: Optional[float],
        step: Optional[failover.Attempt],
    ) -> M:
        """One REQUEST on `conn` and its answer by `deadline` (an attempt's, with `step`; the
        call's for a one-server client, which never resets its connection). Every end but an
        answer is _Ended with its outcome."""
        index = conn.index
        label = self._labels[index]
        remaining = _remaining(deadline)
        if remaining is not None and remaining <= 0:
            error = ClaimlineError(StatusCode.DEADLINE_EXCEEDED, "no time left to send the request", "CLIENT_DEADLINE")
            raise _Ended(None, error)
        timeout_ms = 0 if remaining is None else failover.request_timeout_ms(remaining)
        payload = frames.encode_request_payload(timeout_ms, message)
        if len(payload) > conn.max_frame_size:
            error = ClaimlineError(
                StatusCode.RESOURCE_EXHAUSTED,
                f"request of {len(payload)} bytes exceeds the server's max frame size {conn.max_frame_size}",
                reason="FRAME_TOO_LARGE",
            )
            raise _Ended(None, error)
        conn.last_stream_id += 1
        stream_id = conn.last_stream_id
        future: "asyncio.Future[Tuple[int, bytes]]" = asyncio.get_running_loop().create_future()
        written_at = time.monotonic()
        conn.add_pending(stream_id, _Pending(method, future, written_at))
        try:
            try:
                await conn.send(
                    frames.encode_frame(FrameType.REQUEST, payload, method=method, stream_id=stream_id),
                    _remaining(deadline),
                )
            except _NotWritten as error:
                # Closing before the request was written (8.1: goaway_unprocessed, not applied).
                raise _Ended(failover.GOAWAY_UNPROCESSED, error, conn) from None
            except ClaimlineError as error:
                # Part of the frame, or all of it, may have reached the server; a write that
                # timed out has reset the connection.
                if error.code == StatusCode.DEADLINE_EXCEEDED:
                    raise _Ended(failover.ATTEMPT_TIMEOUT, self._client_deadline(label, stream_id, timeout_ms, error.message), conn) from None
                raise _Ended(failover.LOST, error, conn) from None
            try:
                frame_type, answer = await asyncio.wait_for(asyncio.shield(future), _remaining(deadline))
            except asyncio.TimeoutError:
                if not future.done():
                    future.cancel()
                if step is not None and conn.last_rx < written_at:
                    # Silent since the request went out: the instance may be frozen with the
                    # request in its socket. RST, so that it never takes it (8.1 step 3); the
                    # other calls waiting on it end `lost` and move on at once.
                    conn.reset(f"no answer on stream {stream_id} and nothing received: connection reset")
                    detail = "nothing received since the request was written: connection reset"
                else:
                    await conn.send_control(frames.encode_frame(FrameType.CANCEL, stream_id=stream_id))
                    detail = "CANCEL sent"
                late = self._client_deadline(label, stream_id, timeout_ms, detail)
                raise _Ended(failover.ATTEMPT_TIMEOUT, late, conn) from None
            except asyncio.CancelledError:
                if not future.done():
                    future.cancel()
                    await asyncio.shield(conn.send_control(frames.encode_frame(FrameType.CANCEL, stream_id=stream_id)))
                raise
        finally:
            conn.finished(stream_id)
        if frame_type == FrameType.RESPONSE:
            response = self._parse(conn, response_type, answer)
            self._last_served = label
            self._last_conn = conn
            return response
        status = ClaimlineError.from_status(self._parse(conn, wire_pb2.RpcStatus, answer))
        raise _Ended(failover.error_outcome(status.code, status.reason), status, conn)

    @staticmethod
    def _client_deadline(label: str, stream_id: int, timeout_ms: int, detail: str) -> ClaimlineError:
        within = f"{timeout_ms} ms" if timeout_ms else "the deadline"
        return ClaimlineError(
            StatusCode.DEADLINE_EXCEEDED,
            f"no answer from {label} on stream {stream_id} within {within} ({detail})",
            "CLIENT_DEADLINE",
        )

    def _parse(self, conn: _Connection, message_type: Type[M], payload: bytes) -> M:
        try:
            return message_type.FromString(payload)
        except (DecodeError, UnicodeDecodeError, ValueError) as error:
            message = f"cannot parse {message_type.DESCRIPTOR.full_name}: {error}"
            goaway = wire_pb2.GoAway(last_stream_id=0, code=StatusCode.INTERNAL, reason="PROTOCOL_ERROR", message=message[:200])
            asyncio.ensure_future(conn.send_control(frames.encode_frame(FrameType.GOAWAY, goaway.SerializeToString())))
            conn.close(f"PROTOCOL_ERROR: {message}")
            raise _Ended(failover.LOST, ClaimlineError(StatusCode.UNAVAILABLE, message, "PROTOCOL_ERROR"), conn) from None

    def _client_closed(self) -> ClaimlineError:
        return ClaimlineError(StatusCode.UNAVAILABLE, "the client is closed", "CLIENT_CLOSED")

    # -- session and diagnostics --------------------------------------------------------------

    def _open_conn(self) -> Optional[_Connection]:
        """The open connection to the current address, else the last one used if open."""
        if self._book is not None:
            conn = self._conns.get(self._book.current)
            if conn is not None and not conn.closed:
                return conn
        conn = self._last_conn
        return conn if conn is not None and not conn.closed else None

    @property
    def hello_ack(self) -> wire_pb2.HelloAck:
        conn = self._open_conn() or self._last_conn
        assert conn is not None and conn.hello_ack is not None
        return conn.hello_ack

    @property
    def session_id(self) -> str:
        return self.hello_ack.session_id

    @property
    def role(self) -> str:
        return self.hello_ack.role

    @property
    def max_frame_size(self) -> int:
        conn = self._open_conn() or self._last_conn
        return conn.max_frame_size if conn is not None else frames.HANDSHAKE_MAX_FRAME_SIZE

    @property
    def max_deadline_ms(self) -> int:
        return self.hello_ack.max_deadline_ms

    @property
    def settings(self) -> FailoverSettings:
        """8.1's settings this client runs with (milliseconds)."""
        return self._settings

    @property
    def goaway(self) -> Optional[wire_pb2.GoAway]:
        conn = self._open_conn() or self._last_conn
        return conn.goaway if conn is not None else None

    @property
    def closed(self) -> bool:
        """One server: the connection is gone. With addresses=: close() was called."""
        if self._failover:
            return self._shut
        conn = self._conns.get(0)
        return self._shut or conn is None or conn.closed

    @property
    def connected(self) -> bool:
        return self._open_conn() is not None

    @property
    def addresses(self) -> Tuple[str, ...]:
        return tuple(self._labels)

    @property
    def address(self) -> Optional[str]:
        """The address of the open connection (the current address's when open); None if none."""
        conn = self._open_conn()
        return self._labels[conn.index] if conn is not None else None

    @property
    def last_served_address(self) -> Optional[str]:
        return self._last_served

    @property
    def failovers(self) -> int:
        """How many times the client's current address moved to another after a failure."""
        return self._book.failovers if self._book is not None else 0

    @property
    def in_flight(self) -> int:
        """Calls waiting for their answers, on every connection."""
        return sum(len(conn.pending) for conn in self._conns.values())

    async def close(self) -> None:
        """Sends GOAWAY (SHUTDOWN, code 0) and closes; calls in flight fail UNAVAILABLE. Idempotent."""
        self._shut = True
        conns = list(self._conns.values())
        self._conns.clear()
        for opening in list(self._opening.values()):
            opening.cancel()
        for conn in conns:
            await conn.say_goodbye("closed by the client")
            for task in (conn.task, conn.keepalive_task):
                if task is not None:
                    try:
                        await task
                    except asyncio.CancelledError:
                        pass

    async def __aenter__(self) -> "AsyncClaimlineClient":
        return self

    async def __aexit__(
        self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        await self.close()

    # -- typed methods (those of ClaimlineClient) -----------------------------------------------

    async def escalate(
        self, request: service_pb2.EscalateRequest, timeout: Optional[float] = DEFAULT_TIMEOUT
    ) -> service_pb2.EscalateResponse:
        return await self.call(Method.ESCALATE, request, service_pb2.EscalateResponse, timeout)

    async def retain(
        self, request: service_pb2.RetainRequest, timeout: Optional[float] = DEFAULT_TIMEOUT
    ) -> service_pb2.RetainResponse:
        return await self.call(Method.RETAIN, request, service_pb2.RetainResponse, timeout)

    async def file_complaint(
        self, request: service_pb2.FileComplaintRequest, timeout: Optional[float] = DEFAULT_TIMEOUT
    ) -> service_pb2.FileComplaintResponse:
        return await self.call(Method.FILE_COMPLAINT, request, service_pb2.FileComplaintResponse, timeout)

    async def get_claim(
        self, request: service_pb2.GetClaimRequest, timeout: Optional[float] = DEFAULT_TIMEOUT
    ) -> service_pb2.GetClaimResponse:
        return await self.call(Method.GET_CLAIM, request, service_pb2.GetClaimResponse, timeout)

    async def list_claims(
        self, request: service_pb2.ListClaimsRequest, timeout: Optional[float] = DEFAULT_TIMEOUT
    ) -> service_pb2.ListClaimsResponse:
        return await self.call(Method.LIST_CLAIMS, request, service_pb2.ListClaimsResponse, timeout)

    async def update_claim_status(
        self, request: service_pb2.UpdateClaimStatusRequest, timeout: Optional[float] = DEFAULT_TIMEOUT
    ) -> service_pb2.UpdateClaimStatusResponse:
        return await self.call(Method.UPDATE_CLAIM_STATUS, request, service_pb2.UpdateClaimStatusResponse, timeout)

    async def declare_incident(
        self, request: service_pb2.DeclareIncidentRequest, timeout: Optional[float] = DEFAULT_TIMEOUT
    ) -> service_pb2.DeclareIncidentResponse:
        return await self.call(Method.DECLARE_INCIDENT, request, service_pb2.DeclareIncidentResponse, timeout)

    async def withdraw_incident(
        self, request: service_pb2.WithdrawIncidentRequest, timeout: Optional[float] = DEFAULT_TIMEOUT
    ) -> service_pb2.WithdrawIncidentResponse:
        return await self.call(Method.WITHDRAW_INCIDENT, request, service_pb2.WithdrawIncidentResponse, timeout)

    async def list_incidents(
        self, request: service_pb2.ListIncidentsRequest, timeout: Optional[float] = DEFAULT_TIMEOUT
    ) -> service_pb2.ListIncidentsResponse:
        return await self.call(Method.LIST_INCIDENTS, request, service_pb2.ListIncidentsResponse, timeout)

    async def get_second_line_mode(
        self, request: service_pb2.GetSecondLineModeRequest, timeout: Optional[float] = DEFAULT_TIMEOUT
    ) -> service_pb2.SecondLineModeResponse:
        return await self.call(Method.GET_SECOND_LINE_MODE, request, service_pb2.SecondLineModeResponse, timeout)

    async def set_second_line_mode(
        self, request: service_pb2.SetSecondLineModeRequest, timeout: Optional[float] = DEFAULT_TIMEOUT
    ) -> service_pb2.SecondLineModeResponse:
        return await self.call(Method.SET_SECOND_LINE_MODE, request, service_pb2.SecondLineModeResponse, timeout)

    async def get_stats(
        self, request: service_pb2.GetStatsRequest, timeout: Optional[float] = DEFAULT_TIMEOUT
    ) -> service_pb2.GetStatsResponse:
        return await self.call(Method.GET_STATS, request, service_pb2.GetStatsResponse, timeout)

    async def get_contact(
        self, request: Union[service_pb2.GetContactRequest, str], timeout: Optional[float] = DEFAULT_TIMEOUT
    ) -> service_pb2.GetContactResponse:
        """A GetContactRequest or just the call id; NOT_FOUND (CONTACT_NOT_FOUND) for no live contact."""
        if isinstance(request, str):
            request = service_pb2.GetContactRequest(call_id=request)
        return await self.call(Method.GET_CONTACT, request, service_pb2.GetContactResponse, timeout)
