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


def _retain_impossible(call_id: str) -> svc.RetainRequest:
    return svc.RetainRequest(
        idempotency_key=new_idempotency_key(),
        call_id=call_id,
        outcome=t.RETENTION_OUTCOME_IMPOSSIBLE,
        failure_reason=t.RETENTION_FAILURE_REASON_LONG_REVIEW,
        agent_id="agent-1024",
    )


def test_get_contact_follows_the_contact(server: Server) -> None:
    call_id = f"UCID-{uuid.uuid4()}"
    with server.connect(IVR_TOKEN, "pytest-ivr") as ivr, server.connect(AGENT_TOKEN, "pytest-agent") as agent:
        assert ivr.max_deadline_ms > 0  # the server's ceiling, advertised in HELLO_ACK
        ivr.escalate(_escalate_request(call_id, t.CLAIM_GROUP_BILLING, t.CATEGORY_BALANCE_DESYNC))

        # With the second line: no claim yet, so no draft. Any role may read a contact.
        got = ivr.get_contact(call_id)
        contact = got.contact
        assert contact.call_id == call_id
        assert contact.state == t.CONTACT_STATE_WITH_SECOND_LINE
        assert contact.decision == t.ESCALATE_DECISION_TRANSFER_TO_SECOND_LINE
        assert contact.rule == "second_line_normal"
        assert contact.subscriber == _subscriber()
        assert contact.category == t.CategoryRef(group=t.CLAIM_GROUP_BILLING, category=t.CATEGORY_BALANCE_DESYNC)
        assert contact.first_line_agent_id == "ivr-7"
        assert contact.failure_reason == t.RETENTION_FAILURE_REASON_UNSPECIFIED
        assert contact.created_at_ms > 0 and contact.expires_at_ms > contact.updated_at_ms >= contact.created_at_ms
        assert not got.HasField("draft")

        # Retain impossible: a claim is required and GetContact gives the same draft as Retain did.
        retained = agent.retain(_retain_impossible(call_id))
        got = agent.get_contact(svc.GetContactRequest(call_id=call_id), timeout=2.0)
        assert got.contact.state == t.CONTACT_STATE_CLAIM_REQUIRED
        assert got.contact.decision == t.ESCALATE_DECISION_TRANSFER_TO_SECOND_LINE
        assert got.contact.rule == "second_line_normal"
        assert got.contact.failure_reason == t.RETENTION_FAILURE_REASON_LONG_REVIEW
        assert got.contact.second_line_agent_id == "agent-1024"
        assert got.HasField("draft")
        assert got.draft == retained.draft
        assert got.draft.call_id == call_id and got.draft.failure_reason == t.RETENTION_FAILURE_REASON_LONG_REVIEW

        # The recovered draft files the claim; then the contact names it and has no draft.
        complaint = svc.FileComplaintRequest()
        complaint.CopyFrom(got.draft)
        complaint.idempotency_key = new_idempotency_key()
        complaint.description = DESCRIPTION
        filed = agent.file_complaint(complaint)
        got = ivr.get_contact(call_id)
        assert got.contact.state == t.CONTACT_STATE_CLAIM_FILED
        assert got.contact.claim_number == filed.claim_number
        assert not got.HasField("draft")


def test_get_contact_not_found(server: Server) -> None:
    with server.connect(AGENT_TOKEN) as client:
        with pytest.raises(ClaimlineError) as caught:
            client.get_contact(f"UCID-never-{uuid.uuid4()}")
        assert caught.value.code == StatusCode.NOT_FOUND
        assert caught.value.reason == "CONTACT_NOT_FOUND"
        with pytest.raises(ClaimlineError) as caught:
            client.get_contact("")
        assert caught.value.code == StatusCode.INVALID_ARGUMENT
        assert "call_id" in caught.value.fields
        assert client.get_stats(svc.GetStatsRequest()).escalations >= 0  # still usable


def _file_direct(agent: ClaimlineClient, group: t.ClaimGroup, category: t.Category) -> svc.FileComplaintResponse:
    """A quality-of-service claim without Escalate: it names its place and carries no failure reason."""
    return agent.file_complaint(
        svc.FileComplaintRequest(
            idempotency_key=new_idempotency_key(),
            call_id=f"UCID-{uuid.uuid4()}",
            category=t.CategoryRef(group=group, category=category),
            subscriber=_subscriber(),
            place_id="SHOP-77-0012" if group == t.CLAIM_GROUP_SHOP else "DLR-0042",
            description=DESCRIPTION,
            agent_id="agent-1024",
        )
    )


def _numbers(client: ClaimlineClient, request: svc.ListClaimsRequest) -> list:
    request.page_size = 1000
    return [claim.claim_number for claim in client.list_claims(request).claims]


def test_list_claims_by_category_and_department(server: Server) -> None:
    with server.connect(AGENT_TOKEN, "pytest-agent") as agent, server.connect(IVR_TOKEN, "pytest-ivr") as ivr:
        shop_rude = _file_direct(agent, t.CLAIM_GROUP_SHOP, t.CATEGORY_DISSATISFACTION)
        shop_inept = _file_direct(agent, t.CLAIM_GROUP_SHOP, t.CATEGORY_INCOMPETENCE)
        shop_leak = _file_direct(agent, t.CLAIM_GROUP_SHOP, t.CATEGORY_CONFIDENTIALITY_BREACH)
        dealer_inept = _file_direct(agent, t.CLAIM_GROUP_DEALER, t.CATEGORY_INCOMPETENCE)
        dealer_leak = _file_direct(agent, t.CLAIM_GROUP_DEALER, t.CATEGORY_CONFIDENTIALITY_BREACH)

        # A group alone: the whole group, and nothing else.
        page = ivr.list_claims(svc.ListClaimsRequest(category=t.CategoryRef(group=t.CLAIM_GROUP_SHOP), page_size=1000))
        numbers = [claim.claim_number for claim in page.claims]
        assert {shop_rude.claim_number, shop_inept.claim_number, shop_leak.claim_number} <= set(numbers)
        assert dealer_inept.claim_number not in numbers and dealer_leak.claim_number not in numbers
        assert all(claim.category.group == t.CLAIM_GROUP_SHOP for claim in page.claims)

        # One category of one group.
        only = t.CategoryRef(group=t.CLAIM_GROUP_DEALER, category=t.CATEGORY_INCOMPETENCE)
        page = ivr.list_claims(svc.ListClaimsRequest(category=only, page_size=1000))
        assert dealer_inept.claim_number in [claim.claim_number for claim in page.claims]
        assert all(claim.category == only for claim in page.claims)
        assert shop_inept.claim_number not in [claim.claim_number for claim in page.claims]

        # A department, across groups: confidentiality breaches go to one service whatever the group.
        assert shop_leak.department == dealer_leak.department != shop_rude.department
        page = ivr.list_claims(svc.ListClaimsRequest(department=shop_leak.department, page_size=1000))
        numbers = [claim.claim_number for claim in page.claims]
        assert {shop_leak.claim_number, dealer_leak.claim_number} <= set(numbers)
        assert shop_rude.claim_number not in numbers
        assert all(claim.department == shop_leak.department for claim in page.claims)

        # Both filters at once, and the filters with the other ones.
        both = svc.ListClaimsRequest(category=t.CategoryRef(group=t.CLAIM_GROUP_SHOP), department=shop_rude.department)
        numbers = _numbers(ivr, both)
        assert {shop_rude.claim_number, shop_inept.claim_number} <= set(numbers)
        assert shop_leak.claim_number not in numbers
        filed = svc.ListClaimsRequest(status=t.CLAIM_STATUS_ACKNOWLEDGED, department=dealer_inept.department)
        assert dealer_inept.claim_number in _numbers(ivr, filed)
        assert _numbers(ivr, svc.ListClaimsRequest(department="Нет такого отдела")) == []

        # A category that is not in its group, or a category without its group, is refused.
        with pytest.raises(ClaimlineError) as caught:
            ivr.list_claims(
                svc.ListClaimsRequest(category=t.CategoryRef(group=t.CLAIM_GROUP_SHOP, category=t.CATEGORY_MIGRATION))
            )
        assert caught.value.code == StatusCode.INVALID_ARGUMENT and "category.category" in caught.value.fields
        with pytest.raises(ClaimlineError) as caught:
            ivr.list_claims(svc.ListClaimsRequest(category=t.CategoryRef(category=t.CATEGORY_INCOMPETENCE)))
        assert caught.value.code == StatusCode.INVALID_ARGUMENT and "category.group" in caught.value.fields


def _by_decision(stats: svc.GetStatsResponse) -> dict:
    return {(row.decision, row.rule): row.escalations for row in stats.escalations_by_decision}


def test_stats_escalations_by_decision(server: Server) -> None:
    with server.connect(ADMIN_TOKEN) as admin:
        before = admin.get_stats(svc.GetStatsRequest())
        transfer = _escalate_request(f"UCID-{uuid.uuid4()}", t.CLAIM_GROUP_BILLING, t.CATEGORY_MIGRATION)
        consult = _escalate_request(f"UCID-{uuid.uuid4()}", t.CLAIM_GROUP_OTHER, t.CATEGORY_SELF_SERVICE_MALFUNCTION)
        consult.subscriber.value_tier = t.VALUE_TIER_3
        shop = _escalate_request(f"UCID-{uuid.uuid4()}", t.CLAIM_GROUP_SHOP, t.CATEGORY_IMPROPER_SERVICE)
        shop.place_id = "SHOP-77-0012"
        answers = [admin.escalate(request) for request in (transfer, consult, shop)]
        assert [(a.decision, a.rule) for a in answers] == [
            (t.ESCALATE_DECISION_TRANSFER_TO_SECOND_LINE, "second_line_normal"),
            (t.ESCALATE_DECISION_FIRST_LINE_CONSULTATION, "value_tier_consultation"),
            (t.ESCALATE_DECISION_FILE_CLAIM, "quality_of_service"),
        ]
        after = admin.get_stats(svc.GetStatsRequest())

    assert after.escalations == before.escalations + 3
    old, new = _by_decision(before), _by_decision(after)
    for answer in answers:
        key = (answer.decision, answer.rule)
        assert new[key] == old.get(key, 0) + 1, (key, old, new)
    assert {k: v for k, v in new.items() if k not in {(a.decision, a.rule) for a in answers}} == {
        k: v for k, v in old.items() if k not in {(a.decision, a.rule) for a in answers}
    }
    # every escalation counted once, rows ordered by decision then rule, no empty rows
    assert sum(new.values()) == after.escalations
    rows = [(row.decision, row.rule) for row in after.escalations_by_decision]
    assert rows == sorted(rows) and len(rows) == len(set(rows))
    assert all(row.escalations > 0 and row.rule for row in after.escalations_by_decision)
