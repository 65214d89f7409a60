"""The asyncio client (claimline.aio) against a live claimlined, and its deadline, GOAWAY and
connection-loss handling against the scripted fake server of test_client_protocol."""

from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, List, Tuple

import pytest

from claimline import AsyncClaimlineClient, ClaimlineError, Method, StatusCode, new_idempotency_key
from claimline.frames import FrameHeader, FrameType
from claimline.v1 import service_pb2 as svc
from claimline.v1 import types_pb2 as t
from claimline.v1 import wire_pb2

from conftest import ADMIN_TOKEN, AGENT_TOKEN, IVR_TOKEN, Server, run_claimlined
from test_client_protocol import STATS, FakeServer, Peer, Script, fake  # noqa: F401 (fixture)
from test_failover import closed_port, escalate_request

CLAIM_NUMBER = re.compile(r"^\d{4}-\d{6}$")


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(asyncio.wait_for(coro, 60))


async def connect(server: Server, token: str, name: str = "pytest-aio") -> AsyncClaimlineClient:
    return await AsyncClaimlineClient.connect(server.host, server.port, token, name, timeout=5.0)


def test_whole_contact(server: Server) -> None:
    async def contact() -> None:
        call_id = f"UCID-{uuid.uuid4()}"
        ivr = await connect(server, IVR_TOKEN, "pytest-aio-ivr")
        agent = await connect(server, AGENT_TOKEN, "pytest-aio-agent")
        async with ivr, agent:
            assert ivr.role == "ivr" and agent.role == "agent" and ivr.session_id
            escalated = await ivr.escalate(
                svc.EscalateRequest(
                    idempotency_key=new_idempotency_key(),
                    call_id=call_id,
                    subscriber=t.Subscriber(msisdn="+79161234567", value_tier=t.VALUE_TIER_2, region="77"),
                    category=t.CategoryRef(group=t.CLAIM_GROUP_BILLING, category=t.CATEGORY_CHARGED_WHILE_BLOCKED),
                    agent_id="ivr-7",
                ),
                timeout=3.0,
            )
            assert escalated.decision == t.ESCALATE_DECISION_TRANSFER_TO_SECOND_LINE
            retained = await agent.retain(
                svc.RetainRequest(
                    idempotency_key=new_idempotency_key(),
                    call_id=call_id,
                    outcome=t.RETENTION_OUTCOME_IMPOSSIBLE,
                    failure_reason=t.RETENTION_FAILURE_REASON_LONG_REVIEW,
                    agent_id="agent-1024",
                )
            )
            assert retained.claim_required and retained.state == t.CONTACT_STATE_CLAIM_REQUIRED
            complaint = svc.FileComplaintRequest()
            complaint.CopyFrom(retained.draft)
            complaint.idempotency_key = new_idempotency_key()
            complaint.description = "Списали плату, пока номер был заблокирован."
            filed = await agent.file_complaint(complaint, timeout=5.0)
            assert CLAIM_NUMBER.match(filed.claim_number), filed.claim_number
            got = await ivr.get_claim(svc.GetClaimRequest(claim_number=filed.claim_number))
            assert got.claim == filed.claim
            assert (await agent.file_complaint(complaint)).claim_number == filed.claim_number  # same key
            # Errors are the blocking client's.
            with pytest.raises(ClaimlineError) as caught:
                await ivr.get_claim(svc.GetClaimRequest(claim_number="2000-999999"))
            assert caught.value.code == StatusCode.NOT_FOUND
        assert ivr.closed and agent.closed

    run(contact())


def test_fifty_concurrent_calls_on_one_connection(server: Server) -> None:
    async def many() -> None:
        async with await connect(server, ADMIN_TOKEN, "pytest-aio-many") as client:
            # 50 escalations with distinct call ids, then 50 get_contact, all in flight at once.
            call_ids = [f"UCID-{uuid.uuid4()}" for _ in range(50)]
            requests = [escalate_request() for _ in call_ids]
            for request, call_id in zip(requests, call_ids):
                request.call_id = call_id
            answers = await asyncio.gather(*(client.escalate(r, timeout=10.0) for r in requests))
            assert all(a.decision == t.ESCALATE_DECISION_TRANSFER_TO_SECOND_LINE for a in answers)
            contacts = await asyncio.gather(*(client.get_contact(c, timeout=10.0) for c in call_ids))
            # Every answer is the one of its own stream: the call ids match.
            assert [c.contact.call_id for c in contacts] == call_ids
            assert client.in_flight == 0
            assert client.connected and client.failovers == 0

    run(many())


def test_deadline_cancels_only_its_stream(fake: Callable[[Script], FakeServer]) -> None:  # noqa: F811
    seen: List[Tuple[int, int]] = []

    def script(peer: Peer) -> None:
        peer.handshake()
        slow, slow_timeout, _ = peer.read_request()
        quick, quick_timeout, _ = peer.read_request()
        seen.extend([(slow.stream_id, slow_timeout), (quick.stream_id, quick_timeout)])
        peer.send(FrameType.RESPONSE, STATS.SerializeToString(), Method.GET_STATS, quick.stream_id)
        cancel, _ = peer.read_frame()  # the slow call gave up
        assert cancel == FrameHeader(length=0, type=FrameType.CANCEL, stream_id=slow.stream_id)
        peer.send(FrameType.RESPONSE, STATS.SerializeToString(), Method.GET_STATS, slow.stream_id)  # late: dropped
        header, _, _ = peer.read_request()
        peer.send(FrameType.PING, b"abcdefgh")
        peer.send(FrameType.RESPONSE, STATS.SerializeToString(), Method.GET_STATS, header.stream_id)
        pong, payload = peer.read_frame()
        assert pong.type == FrameType.PONG and payload == b"abcdefgh"
        peer.read_frame()  # the client's GOAWAY on close

    server = fake(script)

    async def calls() -> None:
        client = await AsyncClaimlineClient.connect("127.0.0.1", server.port, "token", "pytest-aio-fake")
        async with client:
            started = time.monotonic()
            slow = asyncio.ensure_future(client.get_stats(svc.GetStatsRequest(), timeout=0.3))
            await asyncio.sleep(0.05)
            assert await client.get_stats(svc.GetStatsRequest(), timeout=5.0) == STATS
            with pytest.raises(ClaimlineError) as caught:
                await slow
            assert caught.value.code == StatusCode.DEADLINE_EXCEEDED
            assert 0.25 < time.monotonic() - started < 2.0
            assert await client.get_stats(svc.GetStatsRequest(), timeout=5.0) == STATS  # connection stays

    run(calls())
    server.join()
    assert seen[0] == (1, 300) and seen[1][0] == 2 and 4000 < seen[1][1] <= 5000


def test_goaway_fails_uncovered_streams_and_loss_fails_the_rest(fake: Callable[[Script], FakeServer]) -> None:  # noqa: F811
    def script(peer: Peer) -> None:
        peer.handshake()
        first, _, _ = peer.read_request()
        second, _, _ = peer.read_request()
        goaway = wire_pb2.GoAway(last_stream_id=first.stream_id, code=0, reason="SHUTDOWN", message="bye")
        peer.send(FrameType.GOAWAY, goaway.SerializeToString())
        peer.send(FrameType.RESPONSE, STATS.SerializeToString(), Method.GET_STATS, first.stream_id)

    server = fake(script)

    async def calls() -> None:
        client = await AsyncClaimlineClient.connect("127.0.0.1", server.port, "token", "pytest-aio-fake")
        first = asyncio.ensure_future(client.get_stats(svc.GetStatsRequest()))
        await asyncio.sleep(0.05)
        second = asyncio.ensure_future(client.get_stats(svc.GetStatsRequest()))
        results = await asyncio.gather(first, second, return_exceptions=True)
        assert results[0] == STATS  # covered by the graceful GOAWAY: still answered
        error = results[1]
        assert isinstance(error, ClaimlineError) and error.code == StatusCode.UNAVAILABLE
        assert error.reason == "SHUTDOWN" and "safe to retry" in error.message
        with pytest.raises(ClaimlineError) as caught:  # no new streams after GOAWAY
            await client.get_stats(svc.GetStatsRequest())
        assert caught.value.code == StatusCode.UNAVAILABLE
        await client.close()

    run(calls())
    server.join()


def test_bad_token_is_unauthenticated(server: Server) -> None:
    with pytest.raises(ClaimlineError) as caught:
        run(AsyncClaimlineClient.connect(server.host, server.port, "wrong-token", "pytest-aio"))
    assert caught.value.code == StatusCode.UNAUTHENTICATED


def test_fails_over_from_a_dead_first_address(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    with run_claimlined(tmp_path / "b") as b:
        dead = f"127.0.0.1:{closed_port()}"

        async def failover() -> None:
            started = time.monotonic()
            client = await AsyncClaimlineClient.connect(
                addresses=[dead, b.address], token=ADMIN_TOKEN, client_name="pytest-aio-fo"
            )
            async with client:
                assert time.monotonic() - started < 2.0
                assert client.address == b.address and client.failovers == 1
                answers = await asyncio.gather(*(client.escalate(escalate_request(), timeout=3.0) for _ in range(5)))
                assert all(a.decision == t.ESCALATE_DECISION_TRANSFER_TO_SECOND_LINE for a in answers)
                assert client.last_served_address == b.address

        run(failover())


def test_sigkill_moves_calls_in_flight_and_new_ones_to_the_second(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with run_claimlined(tmp_path / "a") as a, run_claimlined(tmp_path / "b") as b:

        async def failover() -> None:
            client = await AsyncClaimlineClient.connect(
                addresses=[a.address, b.address], token=ADMIN_TOKEN, client_name="pytest-aio-fo"
            )
            async with client:
                await client.get_stats(svc.GetStatsRequest(), timeout=3.0)
                assert client.last_served_address == a.address
                a.kill()
                started = time.monotonic()
                stats = await asyncio.gather(*(client.get_stats(svc.GetStatsRequest(), timeout=3.0) for _ in range(10)))
                assert time.monotonic() - started < 3.0
                assert all(s.escalations == 0 for s in stats)
                assert client.last_served_address == b.address and client.failovers == 1
                request = escalate_request()
                answer = await client.escalate(request, timeout=3.0)
                assert await client.escalate(request, timeout=3.0) == answer  # same key: the first answer

        run(failover())


def test_all_addresses_refused_within_the_deadline() -> None:
    addresses = [f"127.0.0.1:{closed_port()}", f"127.0.0.1:{closed_port()}"]
    started = time.monotonic()
    with pytest.raises(ClaimlineError) as caught:
        run(AsyncClaimlineClient.connect(addresses=addresses, token=ADMIN_TOKEN, client_name="pytest-aio", timeout=2.0))
    assert time.monotonic() - started < 3.5
    assert caught.value.code == StatusCode.UNAVAILABLE and caught.value.reason == "CONNECT_FAILED"
    assert "attempt(s)" in caught.value.message


def test_answers_in_reverse_order_reach_their_calls(fake: Callable[[Script], FakeServer]) -> None:  # noqa: F811
    """50 REQUESTs all in flight before any answer; answered last first, each its own stream's."""

    def script(peer: Peer) -> None:
        peer.handshake()
        requests = [peer.read_request() for _ in range(50)]
        assert sorted(h.stream_id for h, _, _ in requests) == list(range(1, 51))
        for header, _, message in reversed(requests):
            call_id = svc.GetContactRequest.FromString(message).call_id
            answer = svc.GetContactResponse(contact=t.Contact(call_id=call_id))
            peer.send(FrameType.RESPONSE, answer.SerializeToString(), Method.GET_CONTACT, header.stream_id)
        peer.read_frame()  # the client's GOAWAY on close

    server = fake(script)

    async def calls() -> None:
        async with await AsyncClaimlineClient.connect("127.0.0.1", server.port, "token", "pytest-aio-fake") as client:
            call_ids = [f"UCID-{n}" for n in range(50)]
            answers = await asyncio.gather(*(client.get_contact(c) for c in call_ids))
            assert [a.contact.call_id for a in answers] == call_ids

    run(calls())
    server.join()


def test_cancelled_task_sends_cancel(fake: Callable[[Script], FakeServer]) -> None:  # noqa: F811
    def script(peer: Peer) -> None:
        peer.handshake()
        header, _, _ = peer.read_request()
        cancel, _ = peer.read_frame()
        assert cancel == FrameHeader(length=0, type=FrameType.CANCEL, stream_id=header.stream_id)
        peer.read_frame()  # the client's GOAWAY on close

    server = fake(script)

    async def calls() -> None:
        async with await AsyncClaimlineClient.connect("127.0.0.1", server.port, "token", "pytest-aio-fake") as client:
            task = asyncio.ensure_future(client.get_stats(svc.GetStatsRequest(), timeout=None))
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert client.in_flight == 0 and client.connected

    run(calls())
    server.join()


def test_unavailable_answers_move_calls_in_flight_to_the_next_address(fake: Callable[[Script], FakeServer]) -> None:  # noqa: F811
    def unwell(peer: Peer) -> None:
        peer.handshake()
        requests = [peer.read_request() for _ in range(3)]
        status = wire_pb2.RpcStatus(code=StatusCode.UNAVAILABLE, reason="STORE_UNAVAILABLE", message="store down")
        for header, _, _ in requests:
            peer.send(FrameType.ERROR, status.SerializeToString(), Method.GET_STATS, header.stream_id)
        peer.read_frame()  # the client leaves: GOAWAY

    def well(peer: Peer) -> None:
        peer.handshake()
        for _ in range(3):
            header, _, _ = peer.read_request()
            peer.send(FrameType.RESPONSE, STATS.SerializeToString(), Method.GET_STATS, header.stream_id)
        peer.read_frame()

    first, second = fake(unwell), fake(well)

    async def calls() -> None:
        client = await AsyncClaimlineClient.connect(
            addresses=[f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}"], token="token", client_name="pytest-aio-fo"
        )
        async with client:
            answers = await asyncio.gather(*(client.get_stats(svc.GetStatsRequest(), timeout=5.0) for _ in range(3)))
            assert answers == [STATS] * 3
            assert client.last_served_address == f"127.0.0.1:{second.port}" and client.failovers == 1

    run(calls())
    first.join()
    second.join()
