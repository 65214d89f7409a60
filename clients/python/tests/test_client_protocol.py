"""The client's side of the protocol against a scripted fake server: deadlines and CANCEL,
PING/PONG, stale streams, GOAWAY, frame limits, connection loss."""

from __future__ import annotations

import socket
import threading
from typing import Callable, Iterator, List, Optional, Tuple

import pytest

from claimline import ClaimlineClient, ClaimlineError, Method, StatusCode
from claimline import frames
from claimline.frames import FrameHeader, FrameType
from claimline.v1 import service_pb2 as svc
from claimline.v1 import wire_pb2


class Peer:
    """The server's end of one connection, for a script."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sock.settimeout(10.0)

    def read_exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise EOFError(f"peer closed after {len(data)} of {n} bytes")
            data += chunk
        return data

    def read_frame(self) -> Tuple[FrameHeader, bytes]:
        header = frames.decode_header(self.read_exact(frames.HEADER_SIZE))
        return header, self.read_exact(header.length)

    def send(self, type_: int, payload: bytes = b"", method: int = 0, stream_id: int = 0) -> None:
        self.sock.sendall(frames.encode_frame(type_, payload, method=method, stream_id=stream_id))

    def handshake(self, max_frame_size: int = 65536, max_deadline_ms: int = 0) -> wire_pb2.Hello:
        assert frames.decode_preface(self.read_exact(frames.PREFACE_SIZE)) == (1, 0)
        header, payload = self.read_frame()
        assert header.type == FrameType.HELLO and header.stream_id == 0
        ack = wire_pb2.HelloAck(
            session_id="s-test",
            server_name="fake",
            max_frame_size=max_frame_size,
            role="admin",
            max_deadline_ms=max_deadline_ms,
        )
        self.send(FrameType.HELLO_ACK, ack.SerializeToString())
        return wire_pb2.Hello.FromString(payload)

    def read_request(self) -> Tuple[FrameHeader, int, bytes]:
        header, payload = self.read_frame()
        assert header.type == FrameType.REQUEST, header
        timeout_ms, message = frames.decode_request_payload(payload)
        return header, timeout_ms, message


Script = Callable[[Peer], None]


class FakeServer:
    def __init__(self, script: Script) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.script = script
        self.error: Optional[BaseException] = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            conn, _ = self.listener.accept()
            with conn:
                self.script(Peer(conn))
        except BaseException as error:  # reported by join()
            self.error = error

    def connect(self, timeout: float = 5.0) -> ClaimlineClient:
        return ClaimlineClient.connect("127.0.0.1", self.port, "token", "pytest-fake", timeout=timeout)

    def join(self) -> None:
        self.thread.join(timeout=10.0)
        self.listener.close()
        assert not self.thread.is_alive(), "fake server script did not finish"
        if self.error is not None:
            raise self.error


@pytest.fixture
def fake() -> Iterator[Callable[[Script], FakeServer]]:
    servers: List[FakeServer] = []

    def start(script: Script) -> FakeServer:
        server = FakeServer(script)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.listener.close()


STATS = svc.GetStatsResponse(escalations=7, claims_total=3)


def test_timeout_sends_cancel_and_late_answers_are_discarded(fake: Callable[[Script], FakeServer]) -> None:
    seen: List[Tuple[int, int]] = []
    done = threading.Event()

    def script(peer: Peer) -> None:
        peer.handshake()
        header, timeout_ms, _ = peer.read_request()
        seen.append((header.stream_id, timeout_ms))
        cancel, payload = peer.read_frame()  # the client gave up: CANCEL for that stream
        assert cancel == FrameHeader(length=0, type=FrameType.CANCEL, stream_id=header.stream_id)
        # A late answer to the cancelled stream, a PING, then the next call's answer.
        peer.send(FrameType.RESPONSE, STATS.SerializeToString(), Method.GET_STATS, header.stream_id)
        header2, _, _ = peer.read_request()
        seen.append((header2.stream_id, 0))
        peer.send(FrameType.PING, b"12345678")
        peer.send(FrameType.ERROR, wire_pb2.RpcStatus(code=5).SerializeToString(), Method.GET_CLAIM, header.stream_id)
        peer.send(FrameType.RESPONSE, STATS.SerializeToString(), Method.GET_STATS, header2.stream_id)
        pong, ping_payload = peer.read_frame()
        assert pong.type == FrameType.PONG and ping_payload == b"12345678"
        done.wait(5)

    server = fake(script)
    with server.connect() as client:
        with pytest.raises(ClaimlineError) as caught:
            client.get_stats(svc.GetStatsRequest(), timeout=0.2)
        assert caught.value.code == StatusCode.DEADLINE_EXCEEDED
        answer = client.get_stats(svc.GetStatsRequest(), timeout=5.0)
        assert answer == STATS
        done.set()
    server.join()
    assert seen[0] == (1, 200)
    assert seen[1][0] > seen[0][0]  # stream ids increase


def test_get_contact_by_call_id_and_max_deadline(fake: Callable[[Script], FakeServer]) -> None:
    contact = svc.GetContactResponse()
    contact.contact.call_id = "UCID-1"
    contact.draft.call_id = "UCID-1"
    requests: List[svc.GetContactRequest] = []

    def script(peer: Peer) -> None:
        peer.handshake(max_deadline_ms=30000)
        for _ in range(3):
            header, timeout_ms, message = peer.read_request()
            assert header.method == Method.GET_CONTACT == 13 and timeout_ms == 2000
            requests.append(svc.GetContactRequest.FromString(message))
            if len(requests) < 3:
                peer.send(FrameType.RESPONSE, contact.SerializeToString(), Method.GET_CONTACT, header.stream_id)
            else:
                status = wire_pb2.RpcStatus(code=5, reason="CONTACT_NOT_FOUND", message="no contact")
                peer.send(FrameType.ERROR, status.SerializeToString(), Method.GET_CONTACT, header.stream_id)

    server = fake(script)
    with server.connect() as client:
        assert client.max_deadline_ms == 30000
        assert client.get_contact("UCID-1", timeout=2.0) == contact
        assert client.get_contact(svc.GetContactRequest(call_id="UCID-1"), timeout=2.0) == contact
        with pytest.raises(ClaimlineError) as caught:
            client.get_contact("UCID-2", timeout=2.0)
        assert caught.value.code == StatusCode.NOT_FOUND and caught.value.reason == "CONTACT_NOT_FOUND"
    server.join()
    assert [r.call_id for r in requests] == ["UCID-1", "UCID-1", "UCID-2"]


def test_ping_while_waiting_is_answered(fake: Callable[[Script], FakeServer]) -> None:
    def script(peer: Peer) -> None:
        peer.handshake()
        header, _, _ = peer.read_request()
        peer.send(FrameType.PING, b"\x00\x01\x02\x03\x04\x05\x06\x07")
        pong, payload = peer.read_frame()
        assert pong.type == FrameType.PONG and payload == b"\x00\x01\x02\x03\x04\x05\x06\x07"
        peer.send(FrameType.RESPONSE, STATS.SerializeToString(), Method.GET_STATS, header.stream_id)
        peer.read_frame()  # the client's GOAWAY on close

    server = fake(script)
    with server.connect() as client:
        assert client.get_stats(svc.GetStatsRequest()) == STATS
    server.join()


def test_goaway_during_call_is_unavailable(fake: Callable[[Script], FakeServer]) -> None:
    def script(peer: Peer) -> None:
        peer.handshake()
        peer.read_request()
        goaway = wire_pb2.GoAway(last_stream_id=0, code=0, reason="SHUTDOWN", message="bye")
        peer.send(FrameType.GOAWAY, goaway.SerializeToString())

    server = fake(script)
    client = server.connect()
    with pytest.raises(ClaimlineError) as caught:
        client.get_stats(svc.GetStatsRequest())
    assert caught.value.code == StatusCode.UNAVAILABLE and caught.value.reason == "SHUTDOWN"
    assert "safe to retry" in caught.value.message
    assert client.closed
    server.join()


def test_graceful_goaway_still_delivers_covered_streams(fake: Callable[[Script], FakeServer]) -> None:
    def script(peer: Peer) -> None:
        peer.handshake()
        header, _, _ = peer.read_request()
        goaway = wire_pb2.GoAway(last_stream_id=header.stream_id, code=0, reason="SHUTDOWN")
        peer.send(FrameType.GOAWAY, goaway.SerializeToString())
        peer.send(FrameType.RESPONSE, STATS.SerializeToString(), Method.GET_STATS, header.stream_id)

    server = fake(script)
    client = server.connect()
    assert client.get_stats(svc.GetStatsRequest()) == STATS
    with pytest.raises(ClaimlineError) as caught:  # no new streams after GOAWAY
        client.get_stats(svc.GetStatsRequest())
    assert caught.value.code == StatusCode.UNAVAILABLE
    server.join()
    client.close()


def test_connection_loss_is_unavailable(fake: Callable[[Script], FakeServer]) -> None:
    def script(peer: Peer) -> None:
        peer.handshake()
        peer.read_request()
        # closes without answering

    server = fake(script)
    client = server.connect()
    with pytest.raises(ClaimlineError) as caught:
        client.get_stats(svc.GetStatsRequest())
    assert caught.value.code == StatusCode.UNAVAILABLE and caught.value.reason == "CONNECTION_LOST"
    server.join()


def test_oversized_frame_is_refused_before_reading(fake: Callable[[Script], FakeServer]) -> None:
    received: List[wire_pb2.GoAway] = []

    def script(peer: Peer) -> None:
        peer.handshake(max_frame_size=1024)
        header, _, _ = peer.read_request()
        # Only the header of a frame over the limit: the client must not wait for its payload.
        peer.sock.sendall(frames.encode_header(FrameHeader(2048, FrameType.RESPONSE, 0, Method.GET_STATS, header.stream_id)))
        goaway_header, payload = peer.read_frame()
        assert goaway_header.type == FrameType.GOAWAY
        received.append(wire_pb2.GoAway.FromString(payload))

    server = fake(script)
    client = server.connect()
    assert client.max_frame_size == 1024
    with pytest.raises(ClaimlineError) as caught:
        client.get_stats(svc.GetStatsRequest(), timeout=5.0)
    assert caught.value.code == StatusCode.UNAVAILABLE and caught.value.reason == "FRAME_TOO_LARGE"
    server.join()
    assert received[0].code == StatusCode.RESOURCE_EXHAUSTED and received[0].reason == "FRAME_TOO_LARGE"


def test_request_over_the_servers_limit_is_not_sent(fake: Callable[[Script], FakeServer]) -> None:
    def script(peer: Peer) -> None:
        peer.handshake(max_frame_size=64)
        header, _, _ = peer.read_request()  # only the small one arrives
        peer.send(FrameType.RESPONSE, b"", Method.GET_CLAIM, header.stream_id)
        peer.read_frame()

    server = fake(script)
    with server.connect() as client:
        with pytest.raises(ClaimlineError) as caught:
            client.get_claim(svc.GetClaimRequest(claim_number="x" * 100))
        assert caught.value.code == StatusCode.RESOURCE_EXHAUSTED
        assert client.get_claim(svc.GetClaimRequest(claim_number="2026-000001")) == svc.GetClaimResponse()
    server.join()


def test_protocol_error_from_server(fake: Callable[[Script], FakeServer]) -> None:
    received: List[wire_pb2.GoAway] = []

    def script(peer: Peer) -> None:
        peer.handshake()
        peer.read_request()
        peer.send(0x2A, b"")  # unknown frame type
        _, payload = peer.read_frame()
        received.append(wire_pb2.GoAway.FromString(payload))

    server = fake(script)
    client = server.connect()
    with pytest.raises(ClaimlineError) as caught:
        client.get_stats(svc.GetStatsRequest())
    assert caught.value.code == StatusCode.UNAVAILABLE and caught.value.reason == "PROTOCOL_ERROR"
    server.join()
    assert received[0].code == StatusCode.INTERNAL and received[0].reason == "PROTOCOL_ERROR"


def test_handshake_goaway_raises_its_code(fake: Callable[[Script], FakeServer]) -> None:
    def script(peer: Peer) -> None:
        peer.read_exact(frames.PREFACE_SIZE)
        peer.read_frame()
        goaway = wire_pb2.GoAway(code=16, reason="UNAUTHENTICATED", message="bad token")
        peer.send(FrameType.GOAWAY, goaway.SerializeToString())

    server = fake(script)
    with pytest.raises(ClaimlineError) as caught:
        server.connect()
    assert caught.value.code == StatusCode.UNAUTHENTICATED and caught.value.message == "bad token"
    server.join()


def test_handshake_timeout(fake: Callable[[Script], FakeServer]) -> None:
    release = threading.Event()

    def script(peer: Peer) -> None:
        peer.read_exact(frames.PREFACE_SIZE)
        peer.read_frame()
        release.wait(5)  # never answers

    server = fake(script)
    with pytest.raises(ClaimlineError) as caught:
        server.connect(timeout=0.3)
    assert caught.value.code == StatusCode.DEADLINE_EXCEEDED
    release.set()
    server.join()
