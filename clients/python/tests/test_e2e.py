"""End to end against a live claimlined (the `server` fixture starts it with the dev config)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from claimline import ClaimlineClient, ClaimlineError, StatusCode, new_idempotency_key
from claimline.v1 import service_pb2 as svc
from claimline.v1 import types_pb2 as t

from conftest import ADMIN_TOKEN, AGENT_TOKEN, IVR_TOKEN, Server, run_claimlined

CLAIM_NUMBER = re.compile(r"^\d{4}-\d{6}$")
DESCRIPTION = "Списали абонентскую плату, пока номер был заблокирован; просит пересчёт."


def _subscriber() -> t.Subscriber:
    return t.Subscriber(msisdn="+79161234567", account_id="ACC-0042", value_tier=t.VALUE_TIER_2, region="77")


def _escalate_request(call_id: str, group: t.ClaimGroup, category: t.Category) -> svc.EscalateRequest:
    return svc.EscalateRequest(
        idempotency_key=new_idempotency_key(),
        call_id=call_id,
        subscriber=_subscriber(),
        category=t.CategoryRef(group=group, category=category),
        agent_id="ivr-7",
    )


def test_whole_contact(server: Server) -> None:
    call_id = f"UCID-{uuid.uuid4()}"
    with server.connect(IVR_TOKEN, "pytest-ivr") as ivr, server.connect(AGENT_TOKEN, "pytest-agent") as agent:
        assert ivr.role == "ivr" and agent.role == "agent"
        assert ivr.session_id and ivr.max_frame_size == 65536

        escalated = ivr.escalate(_escalate_request(call_id, t.CLAIM_GROUP_BILLING, t.CATEGORY_CHARGED_WHILE_BLOCKED))
        assert escalated.decision == t.ESCALATE_DECISION_TRANSFER_TO_SECOND_LINE
        assert escalated.state == t.CONTACT_STATE_WITH_SECOND_LINE

        retained = agent.retain(
            svc.RetainRequest(
                idempotency_key=new_idempotency_key(),
                call_id=call_id,
                outcome=t.RETENTION_OUTCOME_IMPOSSIBLE,
                failure_reason=t.RETENTION_FAILURE_REASON_LONG_REVIEW,
                agent_id="agent-1024",
                note="Нужна проверка начислений за март.",
            )
        )
        assert retained.claim_required
        assert retained.state == t.CONTACT_STATE_CLAIM_REQUIRED
        draft = retained.draft
        assert draft.call_id == call_id
        assert draft.category == t.CategoryRef(group=t.CLAIM_GROUP_BILLING, category=t.CATEGORY_CHARGED_WHILE_BLOCKED)
        assert draft.subscriber.msisdn == "+79161234567"
        assert draft.failure_reason == t.RETENTION_FAILURE_REASON_LONG_REVIEW

        complaint = svc.FileComplaintRequest()
        complaint.CopyFrom(draft)
        complaint.idempotency_key = new_idempotency_key()
        complaint.description = DESCRIPTION
        filed = agent.file_complaint(complaint)
        assert CLAIM_NUMBER.match(filed.claim_number), filed.claim_number
        assert filed.claim.claim_number == filed.claim_number
        assert filed.claim.description == DESCRIPTION
        assert filed.claim.status == t.CLAIM_STATUS_ACKNOWLEDGED
        assert filed.department and filed.due_at_ms > 0

        got = ivr.get_claim(svc.GetClaimRequest(claim_number=filed.claim_number))
        assert got.claim == filed.claim

        # A retry with the same key (e.g. after a lost answer) returns the same claim, on any connection.
        with server.connect(AGENT_TOKEN, "pytest-agent-retry") as again:
            retried = again.file_complaint(complaint)
        assert retried.claim_number == filed.claim_number

        # The same key with another request is refused.
        other = svc.FileComplaintRequest()
        other.CopyFrom(complaint)
        other.description = "Другое описание."
        with pytest.raises(ClaimlineError) as caught:
            agent.file_complaint(other)
        assert caught.value.code == StatusCode.ALREADY_EXISTS
        assert caught.value.reason == "IDEMPOTENCY_KEY_REUSED"

        # the connections live on after stream errors
        assert agent.get_claim(svc.GetClaimRequest(claim_number=filed.claim_number)).claim == filed.claim


def test_invalid_argument_names_the_field(server: Server) -> None:
    with server.connect(ADMIN_TOKEN) as client:
        bad = _escalate_request(f"UCID-{uuid.uuid4()}", t.CLAIM_GROUP_BILLING, t.CATEGORY_IMPROPER_SERVICE)
        with pytest.raises(ClaimlineError) as caught:
            client.escalate(bad)
        error = caught.value
        assert error.code == 3 and error.code_name == "INVALID_ARGUMENT"
        assert "category.category" in error.fields, error.field_violations
        # still usable
        ok = client.escalate(_escalate_request(f"UCID-{uuid.uuid4()}", t.CLAIM_GROUP_BILLING, t.CATEGORY_CHARGED_WHILE_BLOCKED))
        assert ok.decision != t.ESCALATE_DECISION_UNSPECIFIED


def test_bad_token_is_unauthenticated(server: Server) -> None:
    with pytest.raises(ClaimlineError) as caught:
        server.connect("not-a-token")
    assert caught.value.code == 16 and caught.value.code_name == "UNAUTHENTICATED"
    assert caught.value.reason == "UNAUTHENTICATED"


def test_role_and_unknown_method(server: Server) -> None:
    with server.connect(IVR_TOKEN) as ivr:
        with pytest.raises(ClaimlineError) as caught:
            ivr.retain(svc.RetainRequest(idempotency_key=new_idempotency_key(), call_id="UCID-x"))
        assert caught.value.code == StatusCode.PERMISSION_DENIED
        with pytest.raises(ClaimlineError) as caught:
            ivr.call(99, svc.GetStatsRequest(), svc.GetStatsResponse)
        assert caught.value.code == StatusCode.UNIMPLEMENTED
        assert ivr.get_stats(svc.GetStatsRequest()).escalations >= 0


def test_not_found(server: Server) -> None:
    with server.connect(AGENT_TOKEN) as client:
        with pytest.raises(ClaimlineError) as caught:
            client.get_claim(svc.GetClaimRequest(claim_number="1999-999999"))
        assert caught.value.code == StatusCode.NOT_FOUND


def test_failed_precondition_carries_the_state(server: Server) -> None:
    with server.connect(ADMIN_TOKEN) as client:
        with pytest.raises(ClaimlineError) as caught:
            client.retain(
                svc.RetainRequest(
                    idempotency_key=new_idempotency_key(),
                    call_id=f"UCID-{uuid.uuid4()}",  # never escalated
                    outcome=t.RETENTION_OUTCOME_RETAINED,
                    agent_id="agent-1",
                )
            )
        assert caught.value.code == StatusCode.FAILED_PRECONDITION, caught.value
        assert caught.value.reason == "CONTACT_STATE"
        assert caught.value.current_state == "CONTACT_STATE_UNSPECIFIED"


def test_shutdown_goaway_is_unavailable(tmp_path: Path) -> None:
    """SIGTERM: the server sends GOAWAY and closes; the next call fails with UNAVAILABLE, not a hang."""
    with run_claimlined(tmp_path) as own:
        client = own.connect(ADMIN_TOKEN)
        assert client.get_stats(svc.GetStatsRequest()).claims_total == 0
        assert own.stop() == 0
        with pytest.raises(ClaimlineError) as caught:
            client.get_stats(svc.GetStatsRequest())
        assert caught.value.code == StatusCode.UNAVAILABLE
        assert caught.value.reason == "SHUTDOWN"
        assert client.goaway is not None and client.goaway.last_stream_id == 1
        assert client.closed
        with pytest.raises(ClaimlineError) as caught:
            client.get_stats(svc.GetStatsRequest())
        assert caught.value.code == StatusCode.UNAVAILABLE
        client.close()


def test_unreachable_server_is_unavailable(tmp_path: Path) -> None:
    with run_claimlined(tmp_path) as own:
        port = own.port
    with pytest.raises(ClaimlineError) as caught:
        ClaimlineClient.connect("127.0.0.1", port, ADMIN_TOKEN, "pytest", timeout=2.0)
    assert caught.value.code == StatusCode.UNAVAILABLE
