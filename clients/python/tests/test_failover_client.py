"""PROTOCOL.md 8.1 as both clients carry it out (claimline.client and claimline.aio), against
scripted fake servers on 127.0.0.1 (ephemeral ports, one thread per connection): keepalive,
attempt timeouts that reset a silent connection (the fake server sees the RST), what is sent
again and what the caller is told, retry_after_ms, budgets rather than counts.

Timing: the settings are shortened (a few hundred ms) to keep the tests quick; every bound
asserted is either guaranteed by the algorithm (a pause is never shorter than retry_after_ms)
or loose by a second or more. The planner itself is checked against the scenario table in
test_failover_scenarios.py."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any, Awaitable, Callable, Iterator, List, Tuple, TypeVar

import pytest

from claimline import AsyncClaimlineClient, ClaimlineClient, ClaimlineError, Method, StatusCode, new_idempotency_key
from claimline.failover import FailoverSettings, make_settings
from claimline.frames import FrameHeader, FrameType
from claimline.v1 import service_pb2 as svc
from claimline.v1 import types_pb2 as t
from claimline.v1 import wire_pb2

from test_client_protocol import Peer

T = TypeVar("T")
KINDS = ["blocking", "aio"]
Request = Tuple[FrameHeader, int, bytes]  # header, timeout_ms, message

ESCALATED = svc.EscalateResponse(decision=t.ESCALATE_DECISION_FILE_CLAIM, rule="scripted")
STATS = svc.GetStatsResponse(escalations=42)


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, 60))


class Fake:
    """A fake claimlined: `script(peer, n, fake)` plays its n-th connection (0, 1, ...), each in
    a thread of its own. Records the requests, and how each connection ended for the server
    (`ends[n]`: "reset" when the client sent RST, "closed" for FIN)."""

    def __init__(self, script: Callable[[Peer, int, "Fake"], None]) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port: int = self.listener.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.script = script
        self.connections = 0
        self.requests: List[Request] = []
        self.frames: List[Tuple[int, int]] = []  # (connection, frame type) of what was read after requests
        self.ends: dict = {}
        self.errors: List[BaseException] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: List[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, daemon=True)
        self._accepter.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                n = self.connections
                self.connections += 1
            thread = threading.Thread(target=self._play, args=(conn, n), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _play(self, conn: socket.socket, n: int) -> None:
        try:
            with conn:
                self.script(Peer(conn), n, self)
        except BaseException as error:  # reported by stop()
            self.errors.append(error)

    def read_request(self, peer: Peer) -> Request:
        request = peer.read_request()
        with self._lock:
            self.requests.append(request)
        return request

    def until_gone(self, peer: Peer, n: int) -> List[int]:
        """Reads frames until the client leaves; records how (`ends[n]`); returns their types."""
        types: List[int] = []
        try:
            while True:
                header, payload = peer.read_frame()
                types.append(header.type)
                with self._lock:
                    self.frames.append((n, header.type))
                if header.type == FrameType.GOAWAY:
                    self.ends[n] = "goaway"
                    return types
        except ConnectionResetError:
            self.ends[n] = "reset"
        except EOFError:
            self.ends[n] = "closed"
        except socket.timeout:
            self.ends[n] = "timeout"
        return types

    def stop(self) -> None:
        self._stop.set()
        self._accepter.join(timeout=10.0)
        self.listener.close()
        for thread in self._threads:
            thread.join(timeout=15.0)
        assert not any(thread.is_alive() for thread in self._threads), "a fake connection did not finish"
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


class Blocking:
    """A blocking ClaimlineClient behind the asyncio client's interface (methods awaitable)."""

    def __init__(self, client: ClaimlineClient) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.client, name)
        if not callable(attr):
            return attr

        async def method(*args: Any, **kwargs: Any) -> Any:
            return attr(*args, **kwargs)

        return method


async def connect(kind: str, *fakes_: Fake, **options: Any) -> Any:
    addresses = [fake.address for fake in fakes_]
    if kind == "blocking":
        return Blocking(
            ClaimlineClient.connect(addresses=addresses, token="token", client_name="pytest-8.1", timeout=5.0, **options)
        )
    return await AsyncClaimlineClient.connect(
        addresses=addresses, token="token", client_name="pytest-8.1", timeout=5.0, **options
    )


def error_frame(peer: Peer, header: FrameHeader, code: int, reason: str, retry_after_ms: int = 0) -> None:
    status = wire_pb2.RpcStatus(code=code, reason=reason, message=f"scripted {reason}", retry_after_ms=retry_after_ms)
    peer.send(FrameType.ERROR, status.SerializeToString(), header.method, header.stream_id)


def answer(peer: Peer, header: FrameHeader) -> None:
    body = ESCALATED if header.method == Method.ESCALATE else STATS
    peer.send(FrameType.RESPONSE, body.SerializeToString(), header.method, header.stream_id)


def serve(peer: Peer, n: int, fake: Fake) -> None:
    """A healthy server: answers every request (and PING) until the client leaves."""
    peer.handshake()
    try:
        while True:
            header, payload = peer.read_frame()
            if header.type == FrameType.GOAWAY:
                return
            if header.type == FrameType.PING:
                peer.send(FrameType.PONG, payload)
                continue
            if header.type != FrameType.REQUEST:
                continue
            fake.requests.append((header, 0, b""))
            answer(peer, header)
    except (EOFError, OSError):
        return


def silent_after_request(peer: Peer, n: int, fake: Fake) -> None:
    """Reads one request and answers nothing, PINGs included (a frozen instance whose kernel
    still takes bytes), until the client leaves."""
    peer.handshake()
    fake.read_request(peer)
    fake.until_gone(peer, n)


def write(key: str) -> svc.EscalateRequest:
    return svc.EscalateRequest(idempotency_key=key, call_id="UCID-1", agent_id="ivr-7")


def wait_for(predicate: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


# -- keepalive --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_keepalive_pings_a_silent_connection_and_resets_it_without_pong(kind: str, fakes: Callable[..., Fake]) -> None:
    """One address (the attempt may use the whole budget): the call waits on a silent
    connection, PINGs it after keepalive_interval, gets no frame within keepalive_timeout and
    resets it (the server sees RST); the outcome is `lost`, a read is sent again, on a new
    connection, and answered."""
    pings: List[bytes] = []

    def script(peer: Peer, n: int, fake: Fake) -> None:
        if n > 0:
            return serve(peer, n, fake)
        peer.handshake()
        fake.read_request(peer)
        header, payload = peer.read_frame()
        assert header.type == FrameType.PING and header.stream_id == 0, header
        pings.append(payload)
        fake.until_gone(peer, n)

    only = fakes(script)

    async def body() -> None:
        client = await connect(kind, only, keepalive_interval=0.3, keepalive_timeout=0.3)
        try:
            started = time.monotonic()
            assert await client.get_stats(svc.GetStatsRequest(), timeout=5.0) == STATS
            elapsed = time.monotonic() - started
            assert 0.55 <= elapsed < 3.0, elapsed  # at least interval + timeout, far below the budget
        finally:
            await client.close()

    run(body())
    assert wait_for(lambda: 0 in only.ends)
    assert only.ends[0] == "reset" and len(pings) == 1 and len(pings[0]) == 8
    assert only.connections == 2 and only.requests[0][1] == 5000  # one address: the whole budget


@pytest.mark.parametrize("kind", KINDS)
def test_keepalive_pong_keeps_a_slow_call(kind: str, fakes: Callable[..., Fake]) -> None:
    """A server that answers PINGs but takes longer than the keepalive to answer the call: the
    connection is alive, the call gets its answer on it."""

    def slow(peer: Peer, n: int, fake: Fake) -> None:
        peer.handshake()
        header, _, _ = fake.read_request(peer)
        answer_at = time.monotonic() + 1.2
        peer.sock.settimeout(0.05)
        while time.monotonic() < answer_at:
            try:
                ping, payload = peer.read_frame()
            except socket.timeout:
                continue
            assert ping.type == FrameType.PING
            peer.send(FrameType.PONG, payload)
        peer.sock.settimeout(10.0)
        answer(peer, header)
        fake.until_gone(peer, n)

    only = fakes(slow)

    async def body() -> None:
        # A PONG has a whole second to come back (the fake polls every 50 ms).
        client = await connect(kind, only, keepalive_interval=0.2, keepalive_timeout=1.0)
        try:
            assert await client.get_stats(svc.GetStatsRequest(), timeout=5.0) == STATS
        finally:
            await client.close()

    run(body())
    assert only.connections == 1 and len(only.requests) == 1


def refuse_hello(peer: Peer) -> None:
    """GOAWAY TOO_MANY_CONNECTIONS instead of HELLO_ACK: connect_failed, nothing sent."""
    peer.read_exact(8)
    peer.read_frame()
    goaway = wire_pb2.GoAway(code=StatusCode.RESOURCE_EXHAUSTED, reason="TOO_MANY_CONNECTIONS", message="full")
    peer.send(FrameType.GOAWAY, goaway.SerializeToString())


def test_blocking_client_checks_an_idle_connection_before_its_next_call(fakes: Callable[..., Fake]) -> None:
    """idle_keepalive (a blocking client runs no timer): before a call on a connection idle that
    long, PING; no frame within keepalive_timeout: reset. That is no attempt (8.1): the client
    opens a new connection, and the attempt's outcome is that one's (here refused: connect_failed),
    so even a write without a key goes on to the next address: nothing of it was sent."""

    def answers_once_then_freezes(peer: Peer, n: int, fake: Fake) -> None:
        if n > 0:
            return refuse_hello(peer)
        peer.handshake()
        header, _, _ = fake.read_request(peer)
        answer(peer, header)
        fake.until_gone(peer, n)  # the PING, unanswered, then the reset

    first, second = fakes(answers_once_then_freezes), fakes(serve)
    with ClaimlineClient.connect(
        addresses=[first.address, second.address], token="token", client_name="pytest-8.1",
        idle_keepalive=0.3, keepalive_timeout=0.3,
    ) as client:
        assert client.get_stats(svc.GetStatsRequest()) == STATS
        time.sleep(0.5)
        assert client.escalate(write(""), timeout=5.0) == ESCALATED  # no key: safe, never sent to `first`
        assert client.last_served_address == second.address
    assert wait_for(lambda: 0 in first.ends)
    assert first.ends[0] == "reset" and len(first.requests) == 1 and first.connections == 2
    assert [kind for n, kind in first.frames if n == 0] == [FrameType.PING]


def test_aio_client_pings_an_idle_connection_and_resets_it(fakes: Callable[..., Fake]) -> None:
    """The asyncio client's keepalive task PINGs a connection idle for idle_keepalive, and resets
    it when no frame follows. No call's attempt: the next call opens a new connection there
    (refused here), then goes on to the second address."""

    def freezes_after_hello(peer: Peer, n: int, fake: Fake) -> None:
        if n > 0:
            return refuse_hello(peer)
        peer.handshake()
        fake.until_gone(peer, n)

    first, second = fakes(freezes_after_hello), fakes(serve)

    async def body() -> None:
        client = await connect("aio", first, second, idle_keepalive=0.3, keepalive_timeout=0.3)
        try:
            assert client.address == first.address
            deadline = time.monotonic() + 5.0
            while client.connected and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert not client.connected
            assert await client.escalate(write(""), timeout=5.0) == ESCALATED
            assert client.last_served_address == second.address and client.failovers == 1
        finally:
            await client.close()

    run(body())
    assert wait_for(lambda: 0 in first.ends)
    assert first.ends[0] == "reset" and first.requests == [] and first.connections == 2
    assert [kind for n, kind in first.frames if n == 0] == [FrameType.PING]


# -- attempt timeouts -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_attempt_timeout_on_a_silent_connection_resets_it_and_moves_on(kind: str, fakes: Callable[..., Fake]) -> None:
    first, second = fakes(silent_after_request), fakes(serve)

    async def body() -> None:
        client = await connect(kind, first, second, attempt_timeout=0.4)
        try:
            started = time.monotonic()
            assert await client.get_stats(svc.GetStatsRequest(), timeout=5.0) == STATS
            assert 0.35 <= time.monotonic() - started < 3.0
            assert client.last_served_address == second.address and client.failovers == 1
        finally:
            await client.close()

    run(body())
    assert wait_for(lambda: 0 in first.ends)
    assert first.ends[0] == "reset"
    assert first.requests[0][1] == 400  # the REQUEST carries the attempt's timeout


def test_attempt_timeout_resets_every_call_waiting_on_the_connection(fakes: Callable[..., Fake]) -> None:
    """Several calls in flight on a frozen instance (the asyncio client; the blocking one has one
    at a time): the first attempt timeout resets the connection, the others end `lost` with it
    and move on at once; the instance counts one failure (it is suspect for suspect_base_ms, not
    longer)."""
    calls = 5

    def frozen(peer: Peer, n: int, fake: Fake) -> None:
        peer.handshake()
        for _ in range(calls):
            fake.read_request(peer)
        fake.until_gone(peer, n)

    first, second = fakes(frozen), fakes(serve)

    async def body() -> None:
        client = await connect("aio", first, second, attempt_timeout=0.5)
        try:
            started = time.monotonic()
            keys = [new_idempotency_key() for _ in range(calls)]
            answers = await asyncio.gather(*(client.escalate(write(key), timeout=5.0) for key in keys))
            assert answers == [ESCALATED] * calls
            assert time.monotonic() - started < 3.0
            assert client.failovers == 1
            assert client._book._failures[0] == 1  # one connection, one failure
        finally:
            await client.close()

    run(body())
    assert first.ends[0] == "reset" and len(first.requests) == calls


@pytest.mark.parametrize("kind", KINDS)
def test_attempt_timeout_after_other_frames_sends_cancel(kind: str, fakes: Callable[..., Fake]) -> None:
    """Something arrived since the request was written (here a PING): the connection is not
    silent, so the client sends CANCEL for its stream instead of resetting, and moves on."""

    def chatty(peer: Peer, n: int, fake: Fake) -> None:
        peer.handshake()
        header, _, _ = fake.read_request(peer)
        peer.send(FrameType.PING, b"12345678")
        while True:  # our PING's PONG, maybe the client's keepalive PING, then CANCEL
            frame, payload = peer.read_frame()
            if frame.type == FrameType.PING:
                peer.send(FrameType.PONG, payload)
            elif frame.type != FrameType.PONG:
                break
        assert frame.type == FrameType.CANCEL and frame.stream_id == header.stream_id, frame
        fake.until_gone(peer, n)

    first, second = fakes(chatty), fakes(serve)

    async def body() -> None:
        # The fake's PING must arrive within the attempt: a whole second for it.
        client = await connect(kind, first, second, attempt_timeout=1.0)
        try:
            assert await client.get_stats(svc.GetStatsRequest(), timeout=5.0) == STATS
            assert client.last_served_address == second.address
        finally:
            await client.close()

    run(body())
    assert wait_for(lambda: 0 in first.ends)
    assert first.ends[0] == "goaway"  # left gracefully, not reset


# -- what is sent again, and what the caller is told -------------------------------------------


def read_then_close(peer: Peer, n: int, fake: Fake) -> None:
    peer.handshake()
    fake.read_request(peer)
    # closes without answering: the request's outcome is unknown


@pytest.mark.parametrize("kind", KINDS)
def test_keyed_write_lost_on_the_first_is_answered_by_the_second(kind: str, fakes: Callable[..., Fake]) -> None:
    first, second = fakes(read_then_close), fakes(serve)
    key = new_idempotency_key()

    async def body() -> None:
        client = await connect(kind, first, second)
        try:
            assert await client.escalate(write(key), timeout=5.0) == ESCALATED
            assert client.last_served_address == second.address
        finally:
            await client.close()

    run(body())
    assert len(first.requests) == 1 and svc.EscalateRequest.FromString(first.requests[0][2]).idempotency_key == key


@pytest.mark.parametrize("kind", KINDS)
def test_keyed_write_unknown_then_not_applied_ends_outcome_unknown(kind: str, fakes: Callable[..., Fake]) -> None:
    """The first attempt may have been applied (the connection closed after the request was
    written); every later attempt, on either instance, says "not applied" until the budget runs
    out: the caller is told OUTCOME_UNKNOWN, never the last attempt's STORE_UNAVAILABLE."""

    def unavailable(peer: Peer, fake: Fake) -> None:
        """Answers every request UNAVAILABLE STORE_UNAVAILABLE ("not applied")."""
        try:
            while True:
                header, _ = peer.read_frame()
                if header.type == FrameType.GOAWAY:
                    return
                if header.type == FrameType.REQUEST:
                    fake.requests.append((header, 0, b""))
                    error_frame(peer, header, StatusCode.UNAVAILABLE, "STORE_UNAVAILABLE")
        except (EOFError, OSError):
            return

    def lost_then_unavailable(peer: Peer, n: int, fake: Fake) -> None:
        peer.handshake()
        if n == 0:
            fake.read_request(peer)
            return  # closes after the request was written: lost
        unavailable(peer, fake)

    def always_unavailable(peer: Peer, n: int, fake: Fake) -> None:
        peer.handshake()
        unavailable(peer, fake)

    first = fakes(lost_then_unavailable)
    second = fakes(always_unavailable)
    key = new_idempotency_key()

    async def body() -> None:
        client = await connect(kind, first, second)
        try:
            started = time.monotonic()
            with pytest.raises(ClaimlineError) as caught:
                await client.escalate(write(key), timeout=2.0)
            assert time.monotonic() - started < 2.0 + 1.0
            error = caught.value
            assert (error.code, error.reason) == (StatusCode.UNAVAILABLE, "OUTCOME_UNKNOWN"), error
            assert "retry with the same idempotency key" in error.message
        finally:
            await client.close()

    run(body())
    attempts = len(first.requests) + len(second.requests)
    assert attempts >= 4 and len(second.requests) >= 1  # by budget, not by count: the pauses decide


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("how", ["closed", "silent"])
def test_keyless_write_is_not_sent_again_after_an_unknown_outcome(kind: str, how: str, fakes: Callable[..., Fake]) -> None:
    first = fakes(read_then_close if how == "closed" else silent_after_request)
    second = fakes(serve)

    async def body() -> None:
        client = await connect(kind, first, second, attempt_timeout=0.4)
        try:
            with pytest.raises(ClaimlineError) as caught:
                await client.escalate(write(""), timeout=5.0)
            assert (caught.value.code, caught.value.reason) == (StatusCode.UNAVAILABLE, "OUTCOME_UNKNOWN")
            assert "not retried" in caught.value.message
            # A read after the same failure goes to the second instance.
            assert await client.get_stats(svc.GetStatsRequest(), timeout=5.0) == STATS
            assert client.last_served_address == second.address
        finally:
            await client.close()

    run(body())
    assert len(first.requests) == 1 and second.requests and all(
        h.method == Method.GET_STATS for h, _, _ in second.requests
    )


@pytest.mark.parametrize("kind", KINDS)
def test_retry_after_is_honoured(kind: str, fakes: Callable[..., Fake]) -> None:
    """One address answering UNAVAILABLE with retry_after_ms 400: the next attempt waits at
    least that long (the random factor spreads the backoff, never the server's hint)."""

    def busy_then_fine(peer: Peer, n: int, fake: Fake) -> None:
        peer.handshake()
        header, _, _ = fake.read_request(peer)
        error_frame(peer, header, StatusCode.UNAVAILABLE, "STORE_UNAVAILABLE", retry_after_ms=400)
        header, _, _ = fake.read_request(peer)
        answer(peer, header)
        fake.until_gone(peer, n)

    only = fakes(busy_then_fine)

    async def body() -> None:
        client = await connect(kind, only)
        try:
            started = time.monotonic()
            assert await client.get_stats(svc.GetStatsRequest(), timeout=5.0) == STATS
            assert 0.395 <= time.monotonic() - started < 3.0
        finally:
            await client.close()

    run(body())
    assert only.connections == 1 and len(only.requests) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_server_deadline_is_sent_again(kind: str, fakes: Callable[..., Fake]) -> None:
    """DEADLINE_EXCEEDED from the server says "not applied" (section 9.5): 8.1 sends the call
    again within its budget, a write without a key included."""

    def late_then_fine(peer: Peer, n: int, fake: Fake) -> None:
        peer.handshake()
        header, _, _ = fake.read_request(peer)
        error_frame(peer, header, StatusCode.DEADLINE_EXCEEDED, "DEADLINE")
        header, _, _ = fake.read_request(peer)
        answer(peer, header)
        fake.until_gone(peer, n)

    only = fakes(late_then_fine)

    async def body() -> None:
        client = await connect(kind, only)
        try:
            assert await client.escalate(write(""), timeout=5.0) == ESCALATED
        finally:
            await client.close()

    run(body())
    assert len(only.requests) == 2 and only.requests[0][2] == only.requests[1][2]


@pytest.mark.parametrize("kind", KINDS)
def test_only_the_budget_ends_a_call(kind: str, fakes: Callable[..., Fake]) -> None:
    """Two instances that refuse every HELLO (GOAWAY TOO_MANY_CONNECTIONS): the client keeps
    trying, with growing pauses, until the budget cannot hold the next one (more attempts than
    the 5 that bounded a call before 8.1), and says CONNECT_FAILED naming both addresses."""

    def refuse(peer: Peer, n: int, fake: Fake) -> None:
        refuse_hello(peer)

    first, second = fakes(refuse), fakes(refuse)

    async def body() -> None:
        started = time.monotonic()
        with pytest.raises(ClaimlineError) as caught:
            if kind == "blocking":
                ClaimlineClient.connect(addresses=[first.address, second.address], token="t", client_name="n", timeout=2.0)
            else:
                await AsyncClaimlineClient.connect(
                    addresses=[first.address, second.address], token="t", client_name="n", timeout=2.0
                )
        assert time.monotonic() - started < 2.0 + 1.0
        error = caught.value
        assert (error.code, error.reason) == (StatusCode.UNAVAILABLE, "CONNECT_FAILED")
        assert first.address in error.message and second.address in error.message
        assert "TOO_MANY_CONNECTIONS" in error.message

    run(body())
    assert first.connections + second.connections > 5


def test_settings_are_configurable_and_checked() -> None:
    custom = FailoverSettings(attempt_timeout_ms=250, suspect_base_ms=100)
    assert make_settings() == FailoverSettings()
    assert make_settings(custom, connect_timeout=0.2) == FailoverSettings(
        attempt_timeout_ms=250, suspect_base_ms=100, connect_timeout_ms=200
    )
    assert make_settings(backoff=0.1, max_backoff=2.0).suspect_max_ms == 2000
    for bad in ({"attempt_timeout": 0}, {"keepalive_timeout": -1}):
        with pytest.raises(ValueError):
            make_settings(**bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        make_settings(FailoverSettings(backoff_initial_ms=-1))
    with pytest.raises(TypeError):
        make_settings({"attempt_timeout_ms": 1})  # type: ignore[arg-type]
    with pytest.warns(DeprecationWarning, match="max_attempts"):
        make_settings(max_attempts=3)
    with pytest.raises(ValueError):  # checked before anything is dialled
        ClaimlineClient.connect(addresses=["127.0.0.1:1"], token="t", client_name="n", attempt_timeout=0)
    with pytest.raises(ValueError):
        run(AsyncClaimlineClient.connect(addresses=["127.0.0.1:1"], token="t", client_name="n", connect_timeout=0))


# -- the planner's additions for the clients (pure) ----------------------------------------------


def test_failures_of_one_episode_count_once() -> None:
    """Many calls failing on one connection are one failure of its instance (k stays 1, so the
    suspicion stays suspect_base_ms); a failure of another connection counts again."""
    from claimline import failover

    book = failover.AddressBook(2)
    connection, other = object(), object()
    for now in (0.0, 1.0, 2.0):
        book.record(0, failover.LOST, now, episode=connection)
    assert book._failures[0] == 1 and book.is_suspect(0, 501.0) and not book.is_suspect(0, 503.0)
    assert book.current == 1 and book.failovers == 1
    book.record(0, failover.ATTEMPT_TIMEOUT, 600.0, episode=other)
    assert book._failures[0] == 2 and book.is_suspect(0, 1599.0) and not book.is_suspect(0, 1601.0)
    book.record(0, failover.UNAVAILABLE, 700.0, retry_after_ms=3000, episode=other)  # same episode, a longer hint
    assert book._failures[0] == 2 and book.is_suspect(0, 3699.0)


def test_the_random_factor_never_shortens_retry_after() -> None:
    """8.1 step 4: max(backoff × f, retry_after_ms), f in [0.5, 1]."""
    from claimline import failover

    book = failover.AddressBook(1)
    plan = failover.CallPlan(book, failover.READ, 0.0, 10_000.0, jitter=lambda: 0.5)
    first = plan.next(0.0)
    assert isinstance(first, failover.Attempt)
    plan.record(first, failover.UNAVAILABLE, 1.0, retry_after_ms=400)
    second = plan.next(1.0)
    assert isinstance(second, failover.Attempt) and second.at_ms == 401.0  # not 201
    plan.record(second, failover.UNAVAILABLE, 402.0)
    third = plan.next(402.0)
    assert isinstance(third, failover.Attempt) and third.at_ms == 402.0 + 100 * 0.5  # the backoff is spread
