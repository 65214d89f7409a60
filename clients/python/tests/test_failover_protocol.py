"""Failover rules against scripted fake servers: what is sent again, to which address, with
which bytes; what is surfaced instead (PROTOCOL.md 3.7 and 9.5)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Callable, Iterator, List, Optional, Tuple

import pytest

from claimline import ClaimlineClient, ClaimlineError, Method, StatusCode, new_idempotency_key
from claimline.frames import FrameHeader, FrameType
from claimline.v1 import service_pb2 as svc
from claimline.v1 import types_pb2 as t
from claimline.v1 import wire_pb2

from test_client_protocol import Peer

Request = Tuple[FrameHeader, int, bytes]  # header, timeout_ms, message bytes


class Fake:
    """A fake server on its own port; `script(peer, n, fake)` plays its n-th connection (0, 1, ...)."""

    def __init__(self, script: Callable[[Peer, int, "Fake"], None]) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port: int = self.listener.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.script = script
        self.connections = 0
        self.requests: List[Request] = []
        self.errors: List[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            n = self.connections
            self.connections += 1
            try:
                with conn:
                    self.script(Peer(conn), n, self)
            except BaseException as error:  # reported by stop()
                self.errors.append(error)

    def read_request(self, peer: Peer) -> Request:
        request = peer.read_request()
        self.requests.append(request)
        return request

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10.0)
        self.listener.close()
        assert not self._thread.is_alive(), "fake server did not finish"
        if self.errors:
            raise self.errors[0]


@pytest.fixture
def fakes() -> Iterator[Callable[[Callable[[Peer, int, Fake], None]], Fake]]:
    started: List[Fake] = []

    def start(script: Callable[[Peer, int, Fake], None]) -> Fake:
        fake = Fake(script)
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.stop()


def until_closed(peer: Peer) -> None:
    """Reads (and drops) what the client sends until it closes or says GOAWAY."""
    try:
        while True:
            header, _ = peer.read_frame()
            if header.type == FrameType.GOAWAY:
                return
    except (EOFError, OSError):
        return


def error_frame(peer: Peer, header: FrameHeader, code: int, reason: str = "", retry_after_ms: int = 0) -> None:
    status = wire_pb2.RpcStatus(code=code, reason=reason, message=f"scripted {reason}", retry_after_ms=retry_after_ms)
    peer.send(FrameType.ERROR, status.SerializeToString(), header.method, header.stream_id)


ESCALATED = svc.EscalateResponse(decision=t.ESCALATE_DECISION_FILE_CLAIM, rule="scripted")
STATS = svc.GetStatsResponse(escalations=42)


def answer(peer: Peer, header: FrameHeader) -> None:
    body = ESCALATED if header.method == Method.ESCALATE else STATS
    peer.send(FrameType.RESPONSE, body.SerializeToString(), header.method, header.stream_id)


def serve(peer: Peer, n: int, fake: Fake) -> None:
    """A healthy server: answers every request until the client leaves."""
    peer.handshake()
    try:
        while True:
            header, _ = peer.read_frame()
            if header.type == FrameType.GOAWAY:
                return
            assert header.type == FrameType.REQUEST
            fake.requests.append((header, 0, b""))
            answer(peer, header)
    except (EOFError, OSError):
        return


def write(key: str = "") -> svc.EscalateRequest:
    return svc.EscalateRequest(idempotency_key=key, call_id="UCID-1", agent_id="ivr-7")


def connect(*fakes_: Fake, **options: object) -> ClaimlineClient:
    return ClaimlineClient.connect(
        addresses=[fake.address for fake in fakes_], token="token", client_name="pytest-fake", timeout=5.0, **options  # type: ignore[arg-type]
    )


def answer_once(peer: Peer, n: int, fake: Fake) -> None:
    """Answers one request (recording its bytes), then waits for the client to leave."""
    peer.handshake()
    header, _, _ = fake.read_request(peer)
    answer(peer, header)
    until_closed(peer)


def read_then_close(peer: Peer, n: int, fake: Fake) -> None:
    peer.handshake()
    fake.read_request(peer)
    # closes without answering: the outcome of the request is unknown


def test_write_without_key_and_unknown_outcome_is_surfaced(fakes: Callable[..., Fake]) -> None:
    first, second = fakes(read_then_close), fakes(serve)
    with connect(first, second) as client:
        with pytest.raises(ClaimlineError) as caught:
            client.escalate(write(), timeout=3.0)
        error = caught.value
        # PROTOCOL.md 8.1: a write whose outcome is unknown is never reported "not applied"
        # (before 8.1 this was the lost connection's own CONNECTION_LOST).
        assert error.code == StatusCode.UNAVAILABLE and error.reason == "OUTCOME_UNKNOWN"
        assert "no idempotency key and may have been applied: not retried" in error.message
        assert second.connections == 0 and client.last_served_address is None
        assert client.address is None  # the lost connection is closed; the next call opens one
        # The lost connection made `first` suspect: the current address is `second` now (8.1).
        assert client.failovers == 1
        # Reads are retried freely after the same kind of loss: the next call goes to `second`.
        assert client.get_stats(svc.GetStatsRequest(), timeout=3.0) == STATS
        assert client.last_served_address == second.address and client.failovers == 1


def test_write_with_key_is_sent_again_with_the_same_bytes(fakes: Callable[..., Fake]) -> None:
    first, second = fakes(read_then_close), fakes(answer_once)
    key = new_idempotency_key()
    with connect(first, second) as client:
        assert client.escalate(write(key), timeout=3.0) == ESCALATED
        assert client.last_served_address == second.address and client.failovers == 1
    (h1, t1, m1), (h2, t2, m2) = first.requests[0], second.requests[0]
    assert m1 == m2 and svc.EscalateRequest.FromString(m2).idempotency_key == key
    assert h1.method == h2.method == Method.ESCALATE
    assert 0 < t2 <= t1 <= 3000  # each attempt sends what is left of the call's time


def test_outcome_unknown_is_retried_with_the_same_key(fakes: Callable[..., Fake]) -> None:
    def outcome_unknown(peer: Peer, n: int, fake: Fake) -> None:
        peer.handshake()
        header, _, _ = fake.read_request(peer)
        error_frame(peer, header, StatusCode.UNAVAILABLE, "OUTCOME_UNKNOWN")
        until_closed(peer)

    first, second = fakes(outcome_unknown), fakes(answer_once)
    key = new_idempotency_key()
    with connect(first, second) as client:
        assert client.escalate(write(key), timeout=3.0) == ESCALATED
        assert client.failovers == 1 and client.last_served_address == second.address
    assert first.requests[0][2] == second.requests[0][2]


def test_outcome_unknown_without_key_is_surfaced(fakes: Callable[..., Fake]) -> None:
    def outcome_unknown(peer: Peer, n: int, fake: Fake) -> None:
        peer.handshake()
        header, _, _ = fake.read_request(peer)
        error_frame(peer, header, StatusCode.UNAVAILABLE, "OUTCOME_UNKNOWN")
        until_closed(peer)

    first, second = fakes(outcome_unknown), fakes(serve)
    with connect(first, second) as client:
        with pytest.raises(ClaimlineError) as caught:
            client.escalate(write(), timeout=3.0)
        assert caught.value.code == StatusCode.UNAVAILABLE and caught.value.reason == "OUTCOME_UNKNOWN"
        assert "not retried" in caught.value.message
        assert second.connections == 0


def test_unavailable_not_applied_goes_to_the_next_address_at_once(fakes: Callable[..., Fake]) -> None:
    def store_failed(peer: Peer, n: int, fake: Fake) -> None:
        peer.handshake()
        header, _, _ = fake.read_request(peer)
        error_frame(peer, header, StatusCode.UNAVAILABLE, "STORE_FAILED", retry_after_ms=10_000)
        until_closed(peer)

    first, second = fakes(store_failed), fakes(serve)
    with connect(first, second) as client:
        started = time.monotonic()
        # Not applied: safe to send again even without a key (the other address is not in backoff).
        assert client.escalate(write(), timeout=3.0) == ESCALATED
        assert time.monotonic() - started < 1.0
        assert client.last_served_address == second.address and client.failovers == 1
        assert client.get_stats(svc.GetStatsRequest()) == STATS  # stays on `second`
        assert client.last_served_address == second.address
    assert first.connections == 1


def test_goaway_above_the_stream_sends_any_call_again(fakes: Callable[..., Fake]) -> None:
    def going_away(peer: Peer, n: int, fake: Fake) -> None:
        peer.handshake()
        fake.read_request(peer)
        goaway = wire_pb2.GoAway(last_stream_id=0, code=0, reason="SHUTDOWN", message="bye")
        peer.send(FrameType.GOAWAY, goaway.SerializeToString())

    first, second = fakes(going_away), fakes(serve)
    with connect(first, second) as client:
        assert client.escalate(write(), timeout=3.0) == ESCALATED  # no key, but never processed
        assert client.last_served_address == second.address and client.failovers == 1


def test_goaway_covering_the_stream_then_close_is_unknown(fakes: Callable[..., Fake]) -> None:
    def covered_then_gone(peer: Peer, n: int, fake: Fake) -> None:
        peer.handshake()
        header, _, _ = fake.read_request(peer)
        goaway = wire_pb2.GoAway(last_stream_id=header.stream_id, code=0, reason="SHUTDOWN", message="bye")
        peer.send(FrameType.GOAWAY, goaway.SerializeToString())
        # ... and closes without the answer it promised

    first, second = fakes(covered_then_gone), fakes(serve)
    with connect(first, second) as client:
        with pytest.raises(ClaimlineError) as caught:
            client.escalate(write(), timeout=3.0)
        assert caught.value.code == StatusCode.UNAVAILABLE and "not retried" in caught.value.message
        assert second.connections == 0


def test_final_codes_are_never_retried(fakes: Callable[..., Fake]) -> None:
    codes = [
        (StatusCode.INVALID_ARGUMENT, "INVALID_FIELD"),
        (StatusCode.FAILED_PRECONDITION, "CONTACT_STATE"),
        (StatusCode.ALREADY_EXISTS, "IDEMPOTENCY_KEY_REUSED"),
        (StatusCode.PERMISSION_DENIED, "ROLE"),
        (StatusCode.NOT_FOUND, "CLAIM_NOT_FOUND"),
        (StatusCode.RESOURCE_EXHAUSTED, "RESPONSE_TOO_LARGE"),
        # Not DEADLINE_EXCEEDED: since PROTOCOL.md 8.1 the server's DEADLINE ("not applied") is
        # sent again within the budget (test_failover_client.py).
    ]

    def refuse(peer: Peer, n: int, fake: Fake) -> None:
        peer.handshake()
        for code, reason in codes:
            header, _, _ = fake.read_request(peer)
            error_frame(peer, header, code, reason)
        until_closed(peer)

    first, second = fakes(refuse), fakes(serve)
    with connect(first, second) as client:
        for code, reason in codes:
            with pytest.raises(ClaimlineError) as caught:
                client.escalate(write(new_idempotency_key()), timeout=3.0)
            assert (caught.value.code, caught.value.reason) == (code, reason)
            assert caught.value.message == f"scripted {reason}"  # as the server sent it
            assert client.address == first.address and client.last_served_address is None
        assert client.failovers == 0
    assert second.connections == 0 and first.connections == 1


def test_attempt_timeout_on_a_silent_connection_resets_it_and_moves_on(fakes: Callable[..., Fake]) -> None:
    """PROTOCOL.md 8.1 step 3 (before 8.1 the call ended DEADLINE_EXCEEDED after CANCEL and kept
    the connection): nothing received since the request was written, so the connection is reset
    (the fake server's read fails with ECONNRESET), and the call goes to the second address."""
    reset_seen: List[bool] = []

    def silent(peer: Peer, n: int, fake: Fake) -> None:
        peer.handshake()
        fake.read_request(peer)
        try:
            peer.read_frame()  # no CANCEL, no GOAWAY: the client resets
        except ConnectionResetError:
            reset_seen.append(True)
        except EOFError:
            reset_seen.append(False)

    first, second = fakes(silent), fakes(serve)
    with connect(first, second, attempt_timeout=0.4) as client:
        started = time.monotonic()
        assert client.get_stats(svc.GetStatsRequest(), timeout=3.0) == STATS
        elapsed = time.monotonic() - started
        assert 0.35 <= elapsed < 2.0, elapsed
        assert client.last_served_address == second.address and client.failovers == 1
        assert client.address == second.address
    deadline = time.monotonic() + 5.0
    while not reset_seen and time.monotonic() < deadline:
        time.sleep(0.01)
    assert reset_seen == [True]
    assert first.requests[0][1] == 400  # the REQUEST carried the attempt's timeout, not the call's


def test_one_address_waits_out_retry_after_within_the_deadline(fakes: Callable[..., Fake]) -> None:
    def busy_then_fine(peer: Peer, n: int, fake: Fake) -> None:
        peer.handshake()
        header, _, _ = fake.read_request(peer)
        if n == 0:
            error_frame(peer, header, StatusCode.UNAVAILABLE, "STORE_READ", retry_after_ms=300)
        elif n == 1:
            answer(peer, header)
        else:
            error_frame(peer, header, StatusCode.UNAVAILABLE, "STORE_READ", retry_after_ms=5000)
        until_closed(peer)

    only = fakes(busy_then_fine)
    with connect(only) as client:
        started = time.monotonic()
        assert client.get_stats(svc.GetStatsRequest(), timeout=3.0) == STATS
        assert time.monotonic() - started >= 0.3  # the server's hint is honoured
        assert client.failovers == 0
        # Connection 1 is still open; lose it so the next call makes connection 2.
        assert client._sock is not None
        client._sock.shutdown(socket.SHUT_RDWR)
        started = time.monotonic()
        with pytest.raises(ClaimlineError) as caught:  # a hint past the deadline: no waiting it out
            client.get_stats(svc.GetStatsRequest(), timeout=1.0)
        assert time.monotonic() - started < 0.9
        assert caught.value.code == StatusCode.UNAVAILABLE and caught.value.reason == "STORE_READ"


@pytest.mark.parametrize(
    "code,reason,fails_over",
    [
        (StatusCode.RESOURCE_EXHAUSTED, "TOO_MANY_CONNECTIONS", True),
        (StatusCode.RESOURCE_EXHAUSTED, "HANDSHAKE_EVICTED", True),
        (StatusCode.OK, "SHUTDOWN", True),
        (StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED", False),
        (StatusCode.INVALID_ARGUMENT, "INVALID_CLIENT_NAME", False),
    ],
)
def test_handshake_refusals(fakes: Callable[..., Fake], code: int, reason: str, fails_over: bool) -> None:
    def refuse(peer: Peer, n: int, fake: Fake) -> None:
        peer.read_exact(8)
        peer.read_frame()
        goaway = wire_pb2.GoAway(code=code, reason=reason, message="scripted")
        peer.send(FrameType.GOAWAY, goaway.SerializeToString())

    first, second = fakes(refuse), fakes(serve)
    if fails_over:
        with connect(first, second) as client:
            assert client.address == second.address and client.failovers == 1
    else:
        with pytest.raises(ClaimlineError) as caught:
            connect(first, second)
        assert caught.value.code == code and caught.value.reason == reason
        assert second.connections == 0


def test_addresses_are_parsed_and_checked() -> None:
    from claimline import parse_addresses

    assert parse_addresses(" a:1 , b:2") == [("a", 1), ("b", 2)]
    assert parse_addresses(["[::1]:7400", ("h", 9)]) == [("::1", 7400), ("h", 9)]
    assert parse_addresses("::1:7400") == [("::1", 7400)]  # the last colon separates the port
    for bad in ["", ",", "a", "a:0", "a:70000", "a:1,", "a:1,,b:2", ":7400", "[]:1", "[::1]7400", ["a:1", ""], []]:
        with pytest.raises(ValueError):
            parse_addresses(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ClaimlineClient.connect("127.0.0.1", 1, token="t", client_name="n", addresses=["127.0.0.1:1"])
    with pytest.raises(TypeError):
        ClaimlineClient.connect(addresses=["127.0.0.1:1"], token="t")


def test_close_stops_the_client(fakes: Callable[..., Fake]) -> None:
    only = fakes(serve)
    client = connect(only)
    assert client.get_stats(svc.GetStatsRequest()) == STATS
    client.close()
    with pytest.raises(ClaimlineError) as caught:
        client.get_stats(svc.GetStatsRequest())
    assert caught.value.reason == "CLIENT_CLOSED" and client.closed
    with pytest.raises(ClaimlineError):
        client.poll()
    assert only.connections == 1


def test_poll_drops_a_lost_connection_quietly(fakes: Callable[..., Fake]) -> None:
    def script(peer: Peer, n: int, fake: Fake) -> None:
        if n > 0:
            return serve(peer, n, fake)
        peer.handshake()  # then the server closes the idle connection
        goaway = wire_pb2.GoAway(last_stream_id=0, code=0, reason="IDLE_TIMEOUT", message="idle")
        peer.send(FrameType.GOAWAY, goaway.SerializeToString())

    only = fakes(script)
    client = connect(only)
    deadline = time.monotonic() + 3.0
    while client.connected and time.monotonic() < deadline:
        client.poll()  # notes the GOAWAY IDLE_TIMEOUT and drops the connection, no error
        time.sleep(0.02)
    assert not client.connected and not client.closed
    started = time.monotonic()
    assert client.get_stats(svc.GetStatsRequest()) == STATS  # a new connection, at once
    assert time.monotonic() - started < 0.5  # idleness is no failure: no backoff
    assert client.failovers == 0 and only.connections == 2
    client.close()
