"""Golden vectors (proto/vectors/v1.json): the generated classes and frames.py, byte for byte."""

from __future__ import annotations

from typing import Any, Dict, List, Type

import pytest
from google.protobuf import text_format
from google.protobuf.message import Message

from claimline import frames
from claimline.frames import FrameHeader, FrameType
from claimline.methods import Method
from claimline.v1 import service_pb2, types_pb2, wire_pb2

from conftest import load_vectors

VECTORS = load_vectors()
MESSAGE_VECTORS = [v for v in VECTORS if "message" in v]
FRAME_VECTORS = [v for v in VECTORS if v["kind"] == "frame"]


def _message_classes() -> Dict[str, Type[Message]]:
    classes: Dict[str, Type[Message]] = {}
    for module in (wire_pb2, types_pb2, service_pb2):
        for name, descriptor in module.DESCRIPTOR.message_types_by_name.items():
            classes[descriptor.full_name] = getattr(module, name)
    return classes


CLASSES = _message_classes()


def _ids(vectors: List[Dict[str, Any]]) -> List[str]:
    return [v["name"] for v in vectors]


def test_vectors_cover_every_frame_type_and_method() -> None:
    assert {v["frame"]["type"] for v in FRAME_VECTORS} == {t.name for t in FrameType}
    methods = {v["frame"]["method"] for v in FRAME_VECTORS if v["frame"]["type"] == "REQUEST"}
    assert methods == {int(m) for m in Method}


@pytest.mark.parametrize("vector", MESSAGE_VECTORS, ids=_ids(MESSAGE_VECTORS))
def test_message_round_trips_byte_exact(vector: Dict[str, Any]) -> None:
    message = vector["message"]
    cls = CLASSES[message["type"]]
    data = bytes.fromhex(message["hex"])
    parsed = cls.FromString(data)
    assert parsed.SerializeToString() == data
    assert parsed.SerializeToString(deterministic=True) == data


@pytest.mark.parametrize("vector", MESSAGE_VECTORS, ids=_ids(MESSAGE_VECTORS))
def test_message_text_format(vector: Dict[str, Any]) -> None:
    message = vector["message"]
    cls = CLASSES[message["type"]]
    data = bytes.fromhex(message["hex"])
    assert text_format.Parse(message["text"], cls()).SerializeToString() == data
    # and the other way: Python prints the same text (UTF-8 strings unescaped)
    assert text_format.MessageToString(cls.FromString(data), as_utf8=True) == message["text"]


@pytest.mark.parametrize("vector", FRAME_VECTORS, ids=_ids(FRAME_VECTORS))
def test_frame_header_and_reencoding(vector: Dict[str, Any]) -> None:
    data = bytes.fromhex(vector["hex"])
    expected = vector["frame"]
    header = frames.decode_header(data)
    assert header == FrameHeader(
        length=expected["payload_length"],
        type=expected["type_code"],
        flags=expected["flags"],
        method=expected["method"],
        stream_id=expected["stream_id"],
    )
    assert header.type_name == expected["type"]
    if "method_name" in expected:
        assert Method(header.method).name == _upper_snake(expected["method_name"])
    frames.check_stream_id(header)  # the vectors obey the stream id rules
    assert frames.encode_header(header) == data[: frames.HEADER_SIZE]

    decoded_header, payload = frames.decode_frame(data)
    assert decoded_header == header
    assert len(payload) == header.length
    message_hex = vector.get("message", {}).get("hex")
    if header.type == FrameType.REQUEST:
        timeout_ms, message = frames.decode_request_payload(payload)
        assert timeout_ms == expected["timeout_ms"]
        assert message.hex() == message_hex
        payload = frames.encode_request_payload(timeout_ms, message)
    elif message_hex is not None:
        assert payload.hex() == message_hex
    reencoded = frames.encode_frame(
        header.type, payload, method=header.method, stream_id=header.stream_id, flags=header.flags
    )
    assert reencoded == data


def _upper_snake(camel: str) -> str:
    return "".join("_" + c if c.isupper() and i else c for i, c in enumerate(camel)).upper()


def test_preface() -> None:
    (vector,) = [v for v in VECTORS if v["kind"] == "preface"]
    data = bytes.fromhex(vector["hex"])
    assert frames.PREFACE == data
    assert frames.encode_preface(1, 0) == data
    assert frames.decode_preface(data) == (1, 0)
    with pytest.raises(frames.FrameError):
        frames.decode_preface(b"GET / HT")


def test_ping_and_pong_carry_the_same_bytes() -> None:
    ping, pong = (bytes.fromhex(v["hex"]) for v in VECTORS if v["name"] in ("ping", "pong"))
    assert frames.decode_frame(ping)[1] == frames.decode_frame(pong)[1]
    assert frames.encode_frame(FrameType.PONG, frames.decode_frame(ping)[1]) == pong


def test_header_errors() -> None:
    with pytest.raises(frames.FrameError):
        frames.decode_header(b"\x00" * 11)
    with pytest.raises(frames.FrameError):
        frames.decode_request_payload(b"\x00\x00\x01")
    with pytest.raises(frames.FrameError):
        frames.check_stream_id(FrameHeader(length=0, type=FrameType.CANCEL, stream_id=0))
    with pytest.raises(frames.FrameError):
        frames.check_stream_id(FrameHeader(length=8, type=FrameType.PING, stream_id=3))
    with pytest.raises(frames.FrameError):
        frames.check_stream_id(FrameHeader(length=0, type=0x2A))
    with pytest.raises(frames.FrameError):
        frames.decode_frame(bytes.fromhex("00000008070000000000000001020304"))  # payload cut short
