"""A blocking Claimline client: one TCP connection, calls made one after another.

    with ClaimlineClient.connect("127.0.0.1", 7400, "dev-agent-token", "ivr-node-3") as client:
        answer = client.escalate(request)

Every failure is a :class:`ClaimlineError` carrying a gRPC canonical status code: the server's
ERROR frames as they are, GOAWAY and a lost connection as UNAVAILABLE (14), a local timeout as
DEADLINE_EXCEEDED (4, after sending CANCEL for the stream). See PROTOCOL.md for the contract.
"""

from __future__ import annotations

import math
import socket
import threading
import time
import uuid
from enum import IntEnum
from types import TracebackType
from typing import List, NamedTuple, Optional, Sequence, Tuple, Type, TypeVar, Union

from google.protobuf.message import DecodeError, Message

from claimline import frames
from claimline.frames import FrameError, FrameHeader, FrameType
from claimline.methods import DEFAULT_TIMEOUT, GeneratedCalls, Method
from claimline.v1 import service_pb2, wire_pb2

__all__ = [
    "ClaimlineClient",
    "ClaimlineError",
    "FieldViolation",
    "StatusCode",
    "new_idempotency_key",
]

_DEFAULT_MAX_FRAME_SIZE = 65536
_CONTROL_WRITE_TIMEOUT = 1.0  # for CANCEL, PONG and GOAWAY written outside a call's deadline

M = TypeVar("M", bound=Message)


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


def _remaining(deadline: Optional[float]) -> Optional[float]:
    return None if deadline is None else deadline - time.monotonic()


class ClaimlineClient(GeneratedCalls):
    """One connection to claimlined. Calls are sequential (a lock serializes threads).

    Create it with :meth:`connect`. Not reusable after a connection-level failure
    (UNAVAILABLE): connect again, and retry writes with the same idempotency key.
    """

    def __init__(self, sock: socket.socket) -> None:
        """Use :meth:`connect`; this only wraps a socket that has not yet handshaken."""
        self._sock: Optional[socket.socket] = sock
        self._buf = bytearray()
        self._max_frame_size = frames.HANDSHAKE_MAX_FRAME_SIZE
        self._hello_ack: Optional[wire_pb2.HelloAck] = None
        self._goaway: Optional[wire_pb2.GoAway] = None
        self._closed_because = ""
        self._last_stream_id = 0
        self._lock = threading.Lock()

    # -- connection ---------------------------------------------------------------------------

    @classmethod
    def connect(
        cls, host: str, port: int, token: str, client_name: str, timeout: Optional[float] = DEFAULT_TIMEOUT
    ) -> "ClaimlineClient":
        """Opens TCP, sends the preface and HELLO, reads HELLO_ACK.

        Raises ClaimlineError: GOAWAY's code (UNAUTHENTICATED for a bad token), UNAVAILABLE if
        the server cannot be reached or closes, DEADLINE_EXCEEDED if `timeout` passes.
        """
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
        client = cls(sock)
        try:
            client._handshake(token, client_name, deadline)
        except BaseException:
            client._close_socket("handshake failed")
            raise
        return client

    def _handshake(self, token: str, client_name: str, deadline: Optional[float]) -> None:
        hello = wire_pb2.Hello(client_name=client_name, token=token).SerializeToString()
        if len(hello) > frames.HANDSHAKE_MAX_FRAME_SIZE:
            raise ValueError(f"HELLO of {len(hello)} bytes exceeds {frames.HANDSHAKE_MAX_FRAME_SIZE}")
        self._send(frames.PREFACE + frames.encode_frame(FrameType.HELLO, hello), deadline)
        try:
            header, payload = self._read_frame(deadline)
        except _Timeout:
            raise ClaimlineError(StatusCode.DEADLINE_EXCEEDED, "no HELLO_ACK before the timeout") from None
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
        return self._sock is None

    @property
    def goaway(self) -> Optional[wire_pb2.GoAway]:
        """The server's GOAWAY, once received: no new call can be made on this connection."""
        return self._goaway

    def close(self) -> None:
        """Sends GOAWAY (SHUTDOWN, code 0) and closes. Idempotent."""
        with self._lock:
            if self._sock is None:
                return
            goaway = wire_pb2.GoAway(last_stream_id=0, code=0, reason="SHUTDOWN", message="client closing")
            try:
                self._send(frames.encode_frame(FrameType.GOAWAY, goaway.SerializeToString()), None, control=True)
            except ClaimlineError:
                pass
            self._close_socket("closed by the client")

    def __enter__(self) -> "ClaimlineClient":
        return self

    def __exit__(
        self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.close()

    def poll(self) -> None:
        """Handles frames already received without blocking: answers PINGs, notes GOAWAY.

        A sequential client only reads during calls; an idle one can call this now and then
        (more often than the HELLO_ACK's keepalive_interval_ms) to stay alive.
        """
        with self._lock:
            self._ensure_open()
            self._drain()

    # -- calls --------------------------------------------------------------------------------

    def call(self, method: int, request: Message, response_type: Type[M], timeout: Optional[float] = DEFAULT_TIMEOUT) -> M:
        """One unary call: REQUEST on a new stream, wait for its RESPONSE or ERROR.

        `timeout` (seconds) is sent to the server and enforced here; None sends 0 (the server's
        own ceiling applies) and waits without a deadline of its own.
        """
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds or None, got {timeout}")
        timeout_ms = 0 if timeout is None else min(max(1, math.ceil(timeout * 1000)), 0xFFFFFFFF)
        payload = frames.encode_request_payload(timeout_ms, request.SerializeToString())
        with self._lock:
            deadline = None if timeout is None else time.monotonic() + timeout
            self._ensure_open()
            self._drain()
            if self._goaway is not None:
                raise self._unavailable_after_goaway(self._goaway, None)
            if len(payload) > self._max_frame_size:
                raise ClaimlineError(
                    StatusCode.RESOURCE_EXHAUSTED,
                    f"request of {len(payload)} bytes exceeds the server's max frame size {self._max_frame_size}",
                    reason="FRAME_TOO_LARGE",
                )
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
                    return self._parse(response_type, payload)
                status = self._parse(wire_pb2.RpcStatus, payload)
                raise ClaimlineError.from_status(status)
            goaway = self._goaway
            if goaway is not None and not (goaway.code == 0 and stream_id <= goaway.last_stream_id):
                self._close_socket(f"GOAWAY {goaway.reason}")
                raise self._unavailable_after_goaway(goaway, stream_id)
            # A graceful GOAWAY that covers our stream: the server still answers it.

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
        except (socket.timeout, BlockingIOError):
            return False
        except OSError as error:
            self._close_socket(f"connection lost: {error}")
            raise ClaimlineError(StatusCode.UNAVAILABLE, f"connection lost: {error}", "CONNECTION_LOST") from None
        if not data:
            goaway = self._goaway
            self._close_socket("closed by the server")
            if goaway is not None:
                raise self._unavailable_after_goaway(goaway, None)
            raise ClaimlineError(StatusCode.UNAVAILABLE, "the server closed the connection", "CONNECTION_LOST")
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
        except OSError as error:
            self._close_socket(f"connection lost: {error}")
            raise ClaimlineError(StatusCode.UNAVAILABLE, f"connection lost: {error}", "CONNECTION_LOST") from None

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
