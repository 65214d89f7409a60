"""Pure framing functions of Claimline protocol v1 (PROTOCOL.md sections 2 and 3).

No sockets here: these functions turn bytes into headers and back, so the golden vectors can
check them byte for byte.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Tuple, Union

BytesLike = Union[bytes, bytearray, memoryview]

PROTOCOL_MAJOR = 1
PROTOCOL_MINOR = 0

PREFACE_MAGIC = b"CLML"
PREFACE_SIZE = 8
HEADER_SIZE = 12
TIMEOUT_SIZE = 4

#: Payload limit of every frame before HELLO_ACK (section 6), fixed.
HANDSHAKE_MAX_FRAME_SIZE = 4096
#: The largest max_frame_size a server may advertise (section 6).
MAX_FRAME_SIZE_CEILING = 16 * 1024 * 1024
#: Stream ids are 32-bit and never reused.
MAX_STREAM_ID = 0xFFFFFFFF
PING_PAYLOAD_SIZE = 8

_HEADER = struct.Struct(">IBBHI")
_UINT32 = struct.Struct(">I")


class FrameType(IntEnum):
    HELLO = 0x01
    HELLO_ACK = 0x02
    REQUEST = 0x03
    RESPONSE = 0x04
    ERROR = 0x05
    CANCEL = 0x06
    PING = 0x07
    PONG = 0x08
    GOAWAY = 0x09


#: Frames that belong to a call and carry a stream id >= 1; the others carry stream 0.
CALL_FRAME_TYPES = frozenset({FrameType.REQUEST, FrameType.RESPONSE, FrameType.ERROR, FrameType.CANCEL})


class FrameError(ValueError):
    """Bytes that are not a valid preface, header or payload."""


@dataclass(frozen=True)
class FrameHeader:
    """The 12-byte frame header. ``type`` is kept as a number so unknown types can be reported."""

    length: int
    type: int
    flags: int = 0
    method: int = 0
    stream_id: int = 0

    @property
    def type_name(self) -> str:
        try:
            return FrameType(self.type).name
        except ValueError:
            return f"0x{self.type:02x}"


def encode_preface(major: int = PROTOCOL_MAJOR, minor: int = PROTOCOL_MINOR) -> bytes:
    """The 8 bytes a client sends first: ``CLML``, major, minor, two reserved zeros."""
    return PREFACE_MAGIC + bytes((major, minor, 0, 0))


def decode_preface(data: BytesLike) -> Tuple[int, int]:
    """Returns (major, minor) of a preface; reserved bytes are ignored."""
    if len(data) != PREFACE_SIZE:
        raise FrameError(f"preface is {PREFACE_SIZE} bytes, got {len(data)}")
    if data[:4] != PREFACE_MAGIC:
        raise FrameError(f"preface does not start with CLML: {data[:4]!r}")
    return data[4], data[5]


PREFACE = encode_preface()


def encode_header(header: FrameHeader) -> bytes:
    if not 0 <= header.length <= 0xFFFFFFFF:
        raise FrameError(f"payload length out of range: {header.length}")
    if not 0 <= header.type <= 0xFF or not 0 <= header.flags <= 0xFF:
        raise FrameError("type and flags are one byte each")
    if not 0 <= header.method <= 0xFFFF:
        raise FrameError(f"method out of range: {header.method}")
    if not 0 <= header.stream_id <= MAX_STREAM_ID:
        raise FrameError(f"stream id out of range: {header.stream_id}")
    return _HEADER.pack(header.length, header.type, header.flags, header.method, header.stream_id)


def decode_header(data: BytesLike) -> FrameHeader:
    """Decodes the first 12 bytes of ``data`` (more may follow: the payload)."""
    if len(data) < HEADER_SIZE:
        raise FrameError(f"a frame header is {HEADER_SIZE} bytes, got {len(data)}")
    length, type_, flags, method, stream_id = _HEADER.unpack_from(data, 0)
    return FrameHeader(length=length, type=type_, flags=flags, method=method, stream_id=stream_id)


def encode_frame(type_: int, payload: bytes = b"", *, method: int = 0, stream_id: int = 0, flags: int = 0) -> bytes:
    """Header and payload of one frame."""
    header = FrameHeader(length=len(payload), type=type_, flags=flags, method=method, stream_id=stream_id)
    return encode_header(header) + payload


def decode_frame(data: BytesLike) -> Tuple[FrameHeader, bytes]:
    """Splits exactly one whole frame into its header and payload."""
    header = decode_header(data)
    if len(data) != HEADER_SIZE + header.length:
        raise FrameError(f"frame of {len(data)} bytes, its header says {HEADER_SIZE + header.length}")
    return header, bytes(data[HEADER_SIZE:])


def encode_request_payload(timeout_ms: int, message: bytes) -> bytes:
    """A REQUEST payload: the relative timeout in ms (0: none of the client's own), then the message."""
    if not 0 <= timeout_ms <= 0xFFFFFFFF:
        raise FrameError(f"timeout out of range: {timeout_ms} ms")
    return _UINT32.pack(timeout_ms) + message


def decode_request_payload(payload: BytesLike) -> Tuple[int, bytes]:
    """Returns (timeout_ms, message bytes) of a REQUEST payload."""
    if len(payload) < TIMEOUT_SIZE:
        raise FrameError(f"a REQUEST payload is at least {TIMEOUT_SIZE} bytes, got {len(payload)}")
    (timeout_ms,) = _UINT32.unpack_from(payload, 0)
    return timeout_ms, bytes(payload[TIMEOUT_SIZE:])


def check_stream_id(header: FrameHeader) -> None:
    """Call frames carry a stream id >= 1, connection frames 0 (section 3); else a connection error."""
    try:
        type_ = FrameType(header.type)
    except ValueError:
        raise FrameError(f"unknown frame type 0x{header.type:02x}") from None
    if type_ in CALL_FRAME_TYPES and header.stream_id == 0:
        raise FrameError(f"{type_.name} on stream 0")
    if type_ not in CALL_FRAME_TYPES and header.stream_id != 0:
        raise FrameError(f"{type_.name} on stream {header.stream_id}, expected 0")
