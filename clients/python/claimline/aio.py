"""An asyncio Claimline client: one TCP connection, many calls in flight on it.

    client = await AsyncClaimlineClient.connect("127.0.0.1", 7400, "dev-ivr-token", "ivr-node-3")
    async with client:
        answers = await asyncio.gather(*(client.get_claim(r) for r in requests))

    # Several claimlined instances: the same failover rules as ClaimlineClient.
    client = await AsyncClaimlineClient.connect(addresses="10.0.0.5:7400,10.0.0.6:7400",
                                                token="dev-ivr-token", client_name="ivr-node-3")

``tls=TLSConfig(...)`` (or an ``ssl.SSLContext``) runs the connections over TLS, as for the
blocking client (:mod:`claimline.tls`).

Each call gets its own stream id; a reader task matches RESPONSE and ERROR frames to the
waiting calls by stream id, answers PINGs and notes GOAWAY. Errors are the blocking client's
:class:`~claimline.ClaimlineError` with the same codes and reasons; framing
(:mod:`claimline.frames`), address parsing and the failover rules are shared with
:mod:`claimline.client`.
"""

from __future__ import annotations

import asyncio
import math
import socket
import ssl
import time
from types import TracebackType
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence, Tuple, Type, TypeVar, Union

from google.protobuf.message import DecodeError, Message

from claimline import frames
from claimline.client import (
    _ANSWERED,
    _DEFAULT_MAX_FRAME_SIZE,
    _FATAL_HANDSHAKE_CODES,
    _NOT_PROCESSED,
    _NOT_SENT,
    _UNKNOWN,
    DEFAULT_BACKOFF,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_BACKOFF,
    ClaimlineError,
    StatusCode,
    _address_label,
    _AttemptFailed,
    _final_error,
    _is_final,
    _AddressBook,
    _failover_arguments,
    code_name,
)
from claimline.frames import FrameError, FrameHeader, FrameType
from claimline.methods import DEFAULT_TIMEOUT, METHODS, Method
from claimline.tls import TLSConfig, _closed_before_hello_ack, _resolve_tls, _TLS, _tls_failure
from claimline.v1 import service_pb2, wire_pb2

__all__ = ["AsyncClaimlineClient"]

M = TypeVar("M", bound=Message)
R = TypeVar("R")

_CONTROL_WRITE_TIMEOUT = 1.0


def _remaining(deadline: Optional[float]) -> Optional[float]:
    return None if deadline is None else deadline - time.monotonic()


def _timeout_ms(remaining: Optional[float]) -> int:
    return 0 if remaining is None else min(max(1, math.ceil(remaining * 1000)), 0xFFFFFFFF)


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


def _idle_goaway(goaway: Optional[wire_pb2.GoAway]) -> bool:
    return goaway is not None and goaway.code == 0 and goaway.reason == "IDLE_TIMEOUT"


class _Pending:
    __slots__ = ("method", "future")

    def __init__(self, method: int, future: "asyncio.Future[Tuple[int, bytes]]") -> None:
        self.method = method
        self.future = future


class _Connection:
    """One handshaken connection and its reader task. Failures of calls in flight arrive at
    their futures as _AttemptFailed, with what the attempt may have done."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, index: int) -> None:
        self.reader = reader
        self.writer = writer
        self.index = index
        self.max_frame_size = frames.HANDSHAKE_MAX_FRAME_SIZE
        self.hello_ack: Optional[wire_pb2.HelloAck] = None
        self.goaway: Optional[wire_pb2.GoAway] = None
        self.last_stream_id = 0
        self.pending: Dict[int, _Pending] = {}
        self.closed = False
        self.closed_because = ""
        self.retired = False  # no new calls; closed when the calls in flight are done
        self.task: Optional["asyncio.Task[None]"] = None
        self._write_lock = asyncio.Lock()
        # Over TLS, until HELLO_ACK: the address, for TLS errors as TLS_HANDSHAKE_FAILED.
        self.tls_handshake_label: Optional[str] = None

    # -- state ----------------------------------------------------------------------------------

    @property
    def usable(self) -> bool:
        return not self.closed and not self.retired and self.goaway is None

    def healthy(self) -> bool:
        """False unless the connection was only closed for idleness (the address is fine)."""
        return not _idle_goaway(self.goaway)

    # -- bytes ----------------------------------------------------------------------------------

    async def send(self, data: bytes, timeout: Optional[float]) -> None:
        """Writes a whole frame; ClaimlineError UNAVAILABLE (lost) or DEADLINE_EXCEEDED (closed)."""
        if self.closed:
            raise ClaimlineError(StatusCode.UNAVAILABLE, f"connection closed ({self.closed_because})", "CONNECTION_CLOSED")
        try:
            async with self._write_lock:  # frames are never interleaved
                self.writer.write(data)
                await asyncio.wait_for(self.writer.drain(), timeout=None if timeout is None else max(timeout, 0.001))
        except asyncio.TimeoutError:
            self.close("write timed out")
            raise ClaimlineError(StatusCode.DEADLINE_EXCEEDED, "write timed out; connection closed") from None
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
        return header, payload

    def close(self, why: str) -> None:
        if self.closed:
            return
        self.closed = True
        self.closed_because = why
        try:
            self.writer.close()
        except (OSError, RuntimeError):
            pass
        self.fail_all(
            ClaimlineError(StatusCode.UNAVAILABLE, f"connection closed ({why})", "CONNECTION_LOST"), _UNKNOWN
        )
        task = self.task
        if task is not None and task is not _current_task():
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

    def fail_all(self, error: ClaimlineError, outcome: str) -> None:
        pending, self.pending = self.pending, {}
        for entry in pending.values():
            if not entry.future.done():
                entry.future.set_exception(_AttemptFailed(error, outcome, self.index, penalize=self.healthy()))

    def finished(self, stream_id: int) -> None:
        self.pending.pop(stream_id, None)
        if self.retired and not self.pending and not self.closed:
            asyncio.ensure_future(self.say_goodbye("retired"))

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
            self.fail_all(ClaimlineError(StatusCode.UNAVAILABLE, fault.message, fault.reason), _UNKNOWN)
            self.close(f"{fault.reason}: {fault.message}")
        except (asyncio.IncompleteReadError, OSError, FrameError) as error:
            goaway = self.goaway
            if goaway is not None:
                for stream_id in list(self.pending):
                    self._fail_after_goaway(stream_id, goaway)
                self.close(f"GOAWAY {goaway.reason}")
            else:
                reason = "the server closed the connection" if isinstance(error, asyncio.IncompleteReadError) else str(error)
                self.fail_all(ClaimlineError(StatusCode.UNAVAILABLE, reason, "CONNECTION_LOST"), _UNKNOWN)
                self.close(f"connection lost: {reason}")

    def on_goaway(self, goaway: wire_pb2.GoAway) -> None:
        self.goaway = goaway
        for stream_id in list(self.pending):
            if goaway.code != 0 or stream_id > goaway.last_stream_id:
                self._fail_after_goaway(stream_id, goaway)
            # A graceful GOAWAY that covers the stream: the server still answers it.
        if goaway.code != 0:
            self.close(f"GOAWAY {goaway.reason}")

    def _fail_after_goaway(self, stream_id: int, goaway: wire_pb2.GoAway) -> None:
        entry = self.pending.pop(stream_id, None)
        if entry is None or entry.future.done():
            return
        error = _unavailable_after_goaway(goaway, stream_id)
        outcome = _NOT_PROCESSED if stream_id > goaway.last_stream_id else _UNKNOWN
        entry.future.set_exception(_AttemptFailed(error, outcome, self.index, penalize=self.healthy()))


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
) -> _Connection:
    """TCP (with `tls`, then the TLS handshake), preface, HELLO, HELLO_ACK within `timeout`;
    ClaimlineError as the blocking client raises."""
    deadline = None if timeout is None else time.monotonic() + timeout
    hello = wire_pb2.Hello(client_name=client_name, token=token).SerializeToString()
    if len(hello) > frames.HANDSHAKE_MAX_FRAME_SIZE:
        raise ValueError(f"HELLO of {len(hello)} bytes exceeds {frames.HANDSHAKE_MAX_FRAME_SIZE}")
    label = _address_label(host, port)
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
    conn = _Connection(reader, writer, index)
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
    conn.task = asyncio.ensure_future(conn.read_loop())
    return conn


class AsyncClaimlineClient:
    """An asyncio client of claimlined: concurrent calls share one connection (stream ids).

    Create it with ``await AsyncClaimlineClient.connect(...)``: the arguments and the failover
    rules are those of :meth:`claimline.ClaimlineClient.connect`. With ``host, port`` it is one
    connection, never reopened; with ``addresses=[...]`` it reconnects and fails over by itself.
    """

    def __init__(self) -> None:
        """Use :meth:`connect`."""
        self._conn: Optional[_Connection] = None
        self._last_conn: Optional[_Connection] = None
        self._failover = False
        self._addresses: List[Tuple[str, int]] = []
        self._labels: List[str] = []
        self._token = ""
        self._client_name = ""
        self._connect_timeout = DEFAULT_CONNECT_TIMEOUT
        self._max_attempts = DEFAULT_MAX_ATTEMPTS
        self._book: Optional[_AddressBook] = None  # several addresses: where to go next
        self._last_served: Optional[str] = None
        self._shut = False
        self._connect_lock = asyncio.Lock()
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
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        max_attempts: Optional[int] = None,
        backoff: float = DEFAULT_BACKOFF,
        max_backoff: float = DEFAULT_MAX_BACKOFF,
        tls: Union[None, TLSConfig, ssl.SSLContext] = None,
    ) -> "AsyncClaimlineClient":
        """Opens TCP (with `tls`, TLS), sends the preface and HELLO, reads HELLO_ACK (see
        ClaimlineClient.connect, `tls=` included: a TLSConfig or an ssl.SSLContext)."""
        client = cls()
        client._tls = _resolve_tls(tls)
        if addresses is None:
            if host is None or port is None or token is None or client_name is None:
                raise TypeError("connect() needs host, port, token and client_name, or addresses=")
            client._addresses = [(host, port)]
            client._labels = [_address_label(host, port)]
            conn = await _open(host, port, 0, token, client_name, timeout, client._tls)
            client._conn = client._last_conn = conn
            return client

        parsed, attempts = _failover_arguments(
            host, port, token, client_name, timeout, addresses, connect_timeout, max_attempts, backoff, max_backoff
        )
        assert token is not None and client_name is not None
        client._failover = True
        client._addresses = parsed
        client._labels = [_address_label(h, p) for h, p in parsed]
        client._token = token
        client._client_name = client_name
        client._connect_timeout = connect_timeout
        client._max_attempts = attempts
        client._book = _AddressBook(len(parsed), backoff, max_backoff, random_start)
        deadline = None if timeout is None else time.monotonic() + timeout

        async def nothing(conn: _Connection) -> None:
            return None

        await client._with_failover(deadline, nothing, retry_unknown=True)
        return client

    async def _connect_next(self, deadline: Optional[float]) -> _Connection:
        assert self._book is not None
        now = time.monotonic()
        index = self._book.pick(now)
        host, port = self._addresses[index]
        attempt_deadline = now + self._connect_timeout
        if deadline is not None:
            attempt_deadline = min(attempt_deadline, deadline)
        try:
            conn = await _open(
                host,
                port,
                index,
                self._token,
                self._client_name,
                max(attempt_deadline - time.monotonic(), 0.001),
                self._tls,
            )
        except ClaimlineError as error:
            fatal = error.code in _FATAL_HANDSHAKE_CODES
            raise _AttemptFailed(error, _NOT_SENT, index, retryable=not fatal, penalize=not fatal) from None
        self._book.succeeded(index)
        return conn

    async def _connection(self, deadline: Optional[float]) -> _Connection:
        conn = self._conn
        if conn is not None and conn.usable:
            return conn
        if not self._failover:
            if conn is None:
                raise self._client_closed()
            if conn.goaway is not None and not conn.closed:
                raise _AttemptFailed(_unavailable_after_goaway(conn.goaway, None), _NOT_SENT, conn.index)
            raise ClaimlineError(
                StatusCode.UNAVAILABLE, f"connection closed ({conn.closed_because}): connect again", "CONNECTION_CLOSED"
            )
        async with self._connect_lock:
            conn = self._conn
            if conn is not None and conn.usable:
                return conn
            if conn is not None:  # gone or going away: not an attempt of this call's
                self._drop(conn, penalize=conn.healthy())
            if self._shut:
                raise self._client_closed()
            conn = await self._connect_next(deadline)
            if self._shut:
                await conn.say_goodbye("closed by the client")
                raise self._client_closed()
            self._conn = self._last_conn = conn
            return conn

    def _drop(self, conn: _Connection, *, penalize: bool) -> None:
        """Stops new calls going to `conn` and notes its address as failed (or, for an idle
        close, as the one to reopen)."""
        if self._conn is conn:
            self._conn = None
        conn.retire("failing over")
        if self._book is None:
            return
        if penalize:
            self._book.failed(conn.index, 0)
        else:
            self._book.again(conn.index)

    def _note_failure(self, failure: _AttemptFailed, conn: Optional[_Connection]) -> None:
        index = failure.index
        if failure.drop and conn is not None:
            if self._conn is conn:
                self._conn = None
            conn.retire(f"failing over: {failure.error}")
        book = self._book
        if index is None or book is None:
            return
        if failure.penalize:
            if book.failed_index == index and book.down_until[index] > time.monotonic():
                # Concurrent calls failing on the same connection count as one failure.
                later = time.monotonic() + failure.error.retry_after_ms / 1000.0
                book.down_until[index] = max(book.down_until[index], later)
                book.next_start = (index + 1) % len(book.down_until)
            else:
                book.failed(index, failure.error.retry_after_ms)
        elif failure.drop:
            book.again(index)

    def _wait_for_an_address(self) -> float:
        conn = self._conn
        if (conn is not None and conn.usable) or self._book is None:
            return 0.0
        return self._book.seconds_until_one_is_ready()

    async def _with_failover(
        self,
        deadline: Optional[float],
        operation: Callable[[_Connection], Awaitable[R]],
        *,
        retry_unknown: bool,
        write: bool = False,
    ) -> R:
        attempts = 0
        trail: List[str] = []
        maybe_applied = False
        while True:
            if self._shut:
                raise self._client_closed()
            attempts += 1
            conn: Optional[_Connection] = None
            try:
                conn = await self._connection(deadline)
                return await operation(conn)
            except _AttemptFailed as failure:
                error = failure.error
                where = self._labels[failure.index] if failure.index is not None else "-"
                trail.append(f"{where} {error.reason or error.code_name}")
                if failure.outcome == _UNKNOWN:
                    maybe_applied = True
                self._note_failure(failure, conn)
                final = _is_final(failure)
                unsafe = failure.outcome == _UNKNOWN and not retry_unknown
                wait = self._wait_for_an_address()
                late = deadline is not None and time.monotonic() + wait >= deadline
                if final or unsafe or late or attempts >= self._max_attempts:
                    raise _final_error(
                        error, attempts, trail, maybe_applied, unsafe, write, len(self._addresses)
                    ) from None
                if wait > 0:
                    await asyncio.sleep(wait)

    # -- calls ------------------------------------------------------------------------------------

    async def call(
        self, method: int, request: Message, response_type: Type[M], timeout: Optional[float] = DEFAULT_TIMEOUT
    ) -> M:
        """One unary call on a new stream; other calls may be in flight on the same connection.

        `timeout` (seconds) is sent to the server in the REQUEST and enforced here (CANCEL, then
        DEADLINE_EXCEEDED); None sends 0. With addresses=, it covers every attempt.
        """
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds or None, got {timeout}")
        message = request.SerializeToString()
        deadline = None if timeout is None else time.monotonic() + timeout

        async def attempt(conn: _Connection) -> M:
            return await self._attempt_call(conn, method, message, response_type, deadline, timeout)

        if not self._failover:
            if self._shut:
                raise self._client_closed()
            try:
                conn = await self._connection(deadline)
                return await attempt(conn)
            except _AttemptFailed as failure:
                raise failure.error from None
        info = METHODS.get(method)  # type: ignore[call-overload]
        write = True if info is None else info.write
        has_key = bool(getattr(request, "idempotency_key", "")) if write else False
        return await self._with_failover(deadline, attempt, retry_unknown=not write or has_key, write=write)

    async def _attempt_call(
        self,
        conn: _Connection,
        method: int,
        message: bytes,
        response_type: Type[M],
        deadline: Optional[float],
        timeout: Optional[float],
    ) -> M:
        index = conn.index
        remaining = _remaining(deadline)
        if remaining is not None and remaining <= 0:
            error = ClaimlineError(StatusCode.DEADLINE_EXCEEDED, f"no answer within {timeout} s", "CLIENT_DEADLINE")
            raise _AttemptFailed(error, _NOT_SENT, index, retryable=False, drop=False, penalize=False)
        payload = frames.encode_request_payload(_timeout_ms(remaining), message)
        if len(payload) > conn.max_frame_size:
            error = ClaimlineError(
                StatusCode.RESOURCE_EXHAUSTED,
                f"request of {len(payload)} bytes exceeds the server's max frame size {conn.max_frame_size}",
                reason="FRAME_TOO_LARGE",
            )
            raise _AttemptFailed(error, _NOT_SENT, index, retryable=False, drop=False, penalize=False)
        if conn.last_stream_id >= frames.MAX_STREAM_ID:
            error = ClaimlineError(StatusCode.UNAVAILABLE, "stream ids exhausted", "STREAM_IDS_EXHAUSTED")
            conn.retire("stream ids exhausted")
            raise _AttemptFailed(error, _NOT_SENT, index, penalize=False)
        conn.last_stream_id += 1
        stream_id = conn.last_stream_id
        future: "asyncio.Future[Tuple[int, bytes]]" = asyncio.get_running_loop().create_future()
        conn.pending[stream_id] = _Pending(method, future)
        try:
            try:
                await conn.send(
                    frames.encode_frame(FrameType.REQUEST, payload, method=method, stream_id=stream_id),
                    _remaining(deadline),
                )
            except ClaimlineError as error:
                deadline_passed = error.code == StatusCode.DEADLINE_EXCEEDED
                raise _AttemptFailed(error, _UNKNOWN, index, retryable=not deadline_passed) from None
            try:
                frame_type, answer = await asyncio.wait_for(asyncio.shield(future), _remaining(deadline))
            except asyncio.TimeoutError:
                if not future.done():
                    future.cancel()
                await conn.send_control(frames.encode_frame(FrameType.CANCEL, stream_id=stream_id))
                error = ClaimlineError(
                    StatusCode.DEADLINE_EXCEEDED,
                    f"no answer on stream {stream_id} within {timeout} s",
                    "CLIENT_DEADLINE" if self._failover else "",
                )
                raise _AttemptFailed(error, _UNKNOWN, index, retryable=False, drop=False, penalize=False) from None
            except asyncio.CancelledError:
                if not future.done():
                    future.cancel()
                    await asyncio.shield(conn.send_control(frames.encode_frame(FrameType.CANCEL, stream_id=stream_id)))
                raise
        finally:
            conn.finished(stream_id)
        if frame_type == FrameType.RESPONSE:
            response = self._parse(conn, response_type, answer)
            self._last_served = self._labels[index]
            return response
        status = self._parse(conn, wire_pb2.RpcStatus, answer)
        error = ClaimlineError.from_status(status)
        if error.code != StatusCode.UNAVAILABLE:
            raise _AttemptFailed(error, _ANSWERED, index, retryable=False, drop=False, penalize=False)
        outcome = _UNKNOWN if error.reason == "OUTCOME_UNKNOWN" else _NOT_PROCESSED
        raise _AttemptFailed(error, outcome, index, drop=self._failover)

    def _parse(self, conn: _Connection, message_type: Type[M], payload: bytes) -> M:
        try:
            return message_type.FromString(payload)
        except (DecodeError, UnicodeDecodeError, ValueError) as error:
            message = f"cannot parse {message_type.DESCRIPTOR.full_name}: {error}"
            goaway = wire_pb2.GoAway(last_stream_id=0, code=StatusCode.INTERNAL, reason="PROTOCOL_ERROR", message=message[:200])
            asyncio.ensure_future(conn.send_control(frames.encode_frame(FrameType.GOAWAY, goaway.SerializeToString())))
            conn.close(f"PROTOCOL_ERROR: {message}")
            error_ = ClaimlineError(StatusCode.UNAVAILABLE, message, "PROTOCOL_ERROR")
            raise _AttemptFailed(error_, _UNKNOWN, conn.index) from None

    def _client_closed(self) -> ClaimlineError:
        return ClaimlineError(StatusCode.UNAVAILABLE, "the client is closed", "CLIENT_CLOSED")

    # -- session and diagnostics --------------------------------------------------------------

    @property
    def hello_ack(self) -> wire_pb2.HelloAck:
        conn = self._conn or self._last_conn
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
        conn = self._conn or self._last_conn
        return conn.max_frame_size if conn is not None else frames.HANDSHAKE_MAX_FRAME_SIZE

    @property
    def max_deadline_ms(self) -> int:
        return self.hello_ack.max_deadline_ms

    @property
    def goaway(self) -> Optional[wire_pb2.GoAway]:
        conn = self._conn or self._last_conn
        return conn.goaway if conn is not None else None

    @property
    def closed(self) -> bool:
        """One server: the connection is gone. With addresses=: close() was called."""
        if self._failover:
            return self._shut
        return self._shut or self._conn is None or self._conn.closed

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.closed

    @property
    def addresses(self) -> Tuple[str, ...]:
        return tuple(self._labels)

    @property
    def address(self) -> Optional[str]:
        return self._labels[self._conn.index] if self.connected and self._conn is not None else None

    @property
    def last_served_address(self) -> Optional[str]:
        return self._last_served

    @property
    def failovers(self) -> int:
        return self._book.failovers if self._book is not None else 0

    @property
    def in_flight(self) -> int:
        """Calls waiting for their answers on the current connection."""
        return len(self._conn.pending) if self._conn is not None else 0

    async def close(self) -> None:
        """Sends GOAWAY (SHUTDOWN, code 0) and closes; calls in flight fail UNAVAILABLE. Idempotent."""
        self._shut = True
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.say_goodbye("closed by the client")
            task = conn.task
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
