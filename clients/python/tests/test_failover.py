"""Failover between claimlined instances (connect(addresses=...)), against real processes.

Each instance has its own --data-dir (its own SQLite store), so nothing carries over between
them: these tests check where calls go, not shared state.
"""

from __future__ import annotations

import contextlib
import socket
import time
import uuid
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

from claimline import ClaimlineClient, ClaimlineError, StatusCode, new_idempotency_key
from claimline.v1 import service_pb2 as svc
from claimline.v1 import types_pb2 as t

from conftest import ADMIN_TOKEN, IVR_TOKEN, Server, run_claimlined

SLACK_S = 1.5  # scheduling slack on top of a deadline the client must keep


@contextlib.contextmanager
def two_servers(tmp: Path) -> Iterator[Tuple[Server, Server]]:
    (tmp / "a").mkdir()
    (tmp / "b").mkdir()
    with run_claimlined(tmp / "a") as a, run_claimlined(tmp / "b") as b:
        yield a, b


def closed_port() -> int:
    """A loopback port nobody listens on (connect is refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@contextlib.contextmanager
def silent_listener() -> Iterator[int]:
    """A port whose TCP handshake completes (the kernel's backlog) but that never answers HELLO."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield s.getsockname()[1]


def escalate_request(key: str = "") -> svc.EscalateRequest:
    return svc.EscalateRequest(
        idempotency_key=key or new_idempotency_key(),
        call_id=f"UCID-{uuid.uuid4()}",
        subscriber=t.Subscriber(msisdn="+79161234567", value_tier=t.VALUE_TIER_2, region="77"),
        category=t.CategoryRef(group=t.CLAIM_GROUP_BILLING, category=t.CATEGORY_CHARGED_WHILE_BLOCKED),
        agent_id="ivr-7",
    )


def test_sigkill_of_the_first_moves_calls_to_the_second(tmp_path: Path) -> None:
    with two_servers(tmp_path) as (a, b):
        client = ClaimlineClient.connect(addresses=[a.address, b.address], token=ADMIN_TOKEN, client_name="pytest-fo")
        with client:
            assert client.addresses == (a.address, b.address)
            assert client.address == a.address and client.failovers == 0  # starts at the first
            assert client.get_stats(svc.GetStatsRequest(), timeout=3.0).escalations == 0
            assert client.last_served_address == a.address
            first = client.escalate(escalate_request(), timeout=3.0)
            assert first.decision == t.ESCALATE_DECISION_TRANSFER_TO_SECOND_LINE
            assert client.last_served_address == a.address

            a.kill()

            # A read: the dead connection is noticed, the call goes to b.
            started = time.monotonic()
            stats = client.get_stats(svc.GetStatsRequest(), timeout=3.0)
            assert time.monotonic() - started < 3.0
            assert stats.escalations == 0  # b's own store: nothing of a's
            assert client.last_served_address == b.address and client.address == b.address
            assert client.failovers == 1
            # A write with its key, and more calls: all on b, no further failover.
            request = escalate_request()
            answer = client.escalate(request, timeout=3.0)
            assert answer.decision == t.ESCALATE_DECISION_TRANSFER_TO_SECOND_LINE
            assert client.escalate(request, timeout=3.0) == answer  # same key: the first answer
            assert client.get_stats(svc.GetStatsRequest(), timeout=3.0).escalations == 1
            assert client.last_served_address == b.address and client.failovers == 1
            assert not client.closed and client.connected
        assert client.closed and not client.connected


def test_graceful_shutdown_of_the_first_moves_calls_to_the_second(tmp_path: Path) -> None:
    with two_servers(tmp_path) as (a, b):
        with ClaimlineClient.connect(
            addresses=f"{a.address},{b.address}", token=IVR_TOKEN, client_name="pytest-fo"
        ) as client:
            client.get_stats(svc.GetStatsRequest(), timeout=3.0)
            assert client.last_served_address == a.address
            assert a.stop() == 0  # SIGTERM: GOAWAY SHUTDOWN, then close
            answer = client.escalate(escalate_request(), timeout=3.0)
            assert answer.decision == t.ESCALATE_DECISION_TRANSFER_TO_SECOND_LINE
            assert client.last_served_address == b.address and client.failovers == 1


def test_first_address_refused_goes_to_the_second(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    with run_claimlined(tmp_path / "b") as b:
        dead = f"127.0.0.1:{closed_port()}"
        started = time.monotonic()
        with ClaimlineClient.connect(addresses=[dead, b.address], token=ADMIN_TOKEN, client_name="pytest-fo") as client:
            assert time.monotonic() - started < 2.0
            assert client.address == b.address and client.failovers == 1
            assert client.get_stats(svc.GetStatsRequest(), timeout=3.0).claims_total == 0
            assert client.last_served_address == b.address


def test_silent_first_address_is_given_up_after_connect_timeout(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    with run_claimlined(tmp_path / "b") as b, silent_listener() as silent:
        started = time.monotonic()
        with ClaimlineClient.connect(
            addresses=[f"127.0.0.1:{silent}", b.address],
            token=ADMIN_TOKEN,
            client_name="pytest-fo",
            timeout=5.0,
            connect_timeout=0.5,
        ) as client:
            elapsed = time.monotonic() - started
            assert 0.4 < elapsed < 0.5 + SLACK_S, elapsed
            assert client.address == b.address and client.failovers == 1


def test_all_addresses_refused_is_a_clear_error_within_the_deadline() -> None:
    addresses = [f"127.0.0.1:{closed_port()}", f"127.0.0.1:{closed_port()}"]
    started = time.monotonic()
    with pytest.raises(ClaimlineError) as caught:
        ClaimlineClient.connect(addresses=addresses, token=ADMIN_TOKEN, client_name="pytest-fo", timeout=3.0)
    assert time.monotonic() - started < 3.0 + SLACK_S
    error = caught.value
    assert error.code == StatusCode.UNAVAILABLE and error.reason == "CONNECT_FAILED"
    assert all(address in error.message for address in addresses), error.message
    assert "attempt" in error.message


def test_all_addresses_silent_ends_at_the_deadline() -> None:
    with silent_listener() as one, silent_listener() as two:
        started = time.monotonic()
        with pytest.raises(ClaimlineError) as caught:
            ClaimlineClient.connect(
                addresses=[f"127.0.0.1:{one}", f"127.0.0.1:{two}"],
                token=ADMIN_TOKEN,
                client_name="pytest-fo",
                timeout=1.5,
                connect_timeout=0.4,
            )
        elapsed = time.monotonic() - started
    assert elapsed < 1.5 + SLACK_S, elapsed
    assert caught.value.code in (StatusCode.DEADLINE_EXCEEDED, StatusCode.UNAVAILABLE), caught.value


def test_all_instances_dying_fails_the_call_within_its_deadline(tmp_path: Path) -> None:
    with two_servers(tmp_path) as (a, b):
        client = ClaimlineClient.connect(addresses=[a.address, b.address], token=ADMIN_TOKEN, client_name="pytest-fo")
        client.get_stats(svc.GetStatsRequest(), timeout=3.0)
        a.kill()
        b.kill()
        # (Before PROTOCOL.md 8.1 a timeout of None was bounded by a count of attempts; now only
        # the budget ends a call, and None's budget is the server's ceiling, 30 s.)
        for timeout in (2.0, 1.0):
            started = time.monotonic()
            with pytest.raises(ClaimlineError) as caught:
                client.get_stats(svc.GetStatsRequest(), timeout=timeout)
            assert time.monotonic() - started < 2.0 + SLACK_S
            assert caught.value.code == StatusCode.UNAVAILABLE, caught.value
            assert client.address is None and not client.connected
            assert client.last_served_address == a.address  # the last success, before the crash
        # A write with a key fails the same way, and says the outcome may be unknown only if
        # it may be (here: nothing was sent, every connect was refused).
        with pytest.raises(ClaimlineError) as caught:
            client.escalate(escalate_request(), timeout=2.0)
        assert caught.value.code == StatusCode.UNAVAILABLE
        assert "may have been applied" not in caught.value.message
        assert not client.closed
        client.close()
        with pytest.raises(ClaimlineError) as caught:
            client.get_stats(svc.GetStatsRequest())
        assert caught.value.reason == "CLIENT_CLOSED"


def test_non_retryable_answers_are_not_failed_over(tmp_path: Path) -> None:
    with two_servers(tmp_path) as (a, b):
        with ClaimlineClient.connect(addresses=[a.address, b.address], token=IVR_TOKEN, client_name="pytest-fo") as ivr:
            bad = escalate_request()
            bad.category.category = t.CATEGORY_IMPROPER_SERVICE  # not in group billing
            with pytest.raises(ClaimlineError) as caught:
                ivr.escalate(bad, timeout=3.0)
            assert caught.value.code == StatusCode.INVALID_ARGUMENT and "category.category" in caught.value.fields
            with pytest.raises(ClaimlineError) as caught:  # the ivr role may not retain
                ivr.retain(svc.RetainRequest(idempotency_key=new_idempotency_key(), call_id="UCID-x"), timeout=3.0)
            assert caught.value.code == StatusCode.PERMISSION_DENIED
            request = escalate_request()
            ivr.escalate(request, timeout=3.0)
            with pytest.raises(ClaimlineError) as caught:  # the contact is open already
                again = escalate_request()
                again.call_id = request.call_id
                ivr.escalate(again, timeout=3.0)
            assert caught.value.code == StatusCode.FAILED_PRECONDITION
            reused = svc.EscalateRequest()
            reused.CopyFrom(request)
            reused.agent_id = "ivr-8"  # the same key with another request
            with pytest.raises(ClaimlineError) as caught:
                ivr.escalate(reused, timeout=3.0)
            assert caught.value.code == StatusCode.ALREADY_EXISTS
            assert ivr.failovers == 0 and ivr.address == a.address
        # b never saw any of it.
        with b.connect(ADMIN_TOKEN) as admin:
            assert admin.get_stats(svc.GetStatsRequest()).escalations == 0


def test_bad_token_is_not_failed_over(tmp_path: Path) -> None:
    with two_servers(tmp_path) as (a, b):
        with pytest.raises(ClaimlineError) as caught:
            ClaimlineClient.connect(addresses=[a.address, b.address], token="not-a-token", client_name="pytest-fo")
        assert caught.value.code == StatusCode.UNAUTHENTICATED
        assert "attempt" not in caught.value.message  # one attempt: the server's own answer


def test_random_start_and_single_address_reconnect(tmp_path: Path) -> None:
    with two_servers(tmp_path) as (a, b):
        seen: List[str] = []
        for _ in range(24):
            with ClaimlineClient.connect(
                addresses=[a.address, b.address], token=ADMIN_TOKEN, client_name="pytest-fo", random_start=True
            ) as client:
                assert client.address is not None
                seen.append(client.address)
        assert set(seen) <= {a.address, b.address}
        assert len(set(seen)) == 2, seen  # 2**-23 odds of a false failure

        # One address given as a list: a lost connection is replaced by a new one to the same
        # address (after its short backoff), not counted as a failover.
        with ClaimlineClient.connect(addresses=[b.address], token=ADMIN_TOKEN, client_name="pytest-fo") as client:
            assert client.get_stats(svc.GetStatsRequest()).escalations >= 0
            assert client._sock is not None
            client._sock.shutdown(socket.SHUT_RDWR)  # the connection breaks under the client
            assert client.get_stats(svc.GetStatsRequest()).escalations >= 0
            assert client.last_served_address == b.address and client.failovers == 0
