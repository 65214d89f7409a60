"""TLS and mutual TLS (PROTOCOL.md 2.1), end to end against claimlined started with --tls-cert,
for the blocking and the asyncio client. The certificates are made at test time
(tools/tls/make-certs.sh, fixture `tls_certs`): ca.pem, server.pem (CN=localhost, SAN
DNS:localhost, IP:127.0.0.1), admin.pem (CN=ops-console,O=Claimline Test: client ops-console,
admin, no token), ivr.pem (CN=ivr-gateway: client ivr-gateway), stranger.pem (no client has its
subject), rogue.pem (signed by rogue-ca.pem, another CA)."""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import time
import uuid
from pathlib import Path
from typing import Any, Awaitable, List, Optional, TypeVar

import pytest

from claimline import (
    TLS_CERTIFICATE_VERIFY_FAILED,
    TLS_HANDSHAKE_FAILED,
    AsyncClaimlineClient,
    ClaimlineClient,
    ClaimlineError,
    StatusCode,
    TLSConfig,
    new_idempotency_key,
)
from claimline.v1 import service_pb2 as svc
from claimline.v1 import types_pb2 as t

from conftest import ADMIN_TOKEN, AGENT_TOKEN, IVR_TOKEN, Server
from test_failover import closed_port

CLAIM_NUMBER = re.compile(r"^\d{4}-\d{6}$")
#: A refusal must come this fast: a hang (e.g. a TLS client waiting for a handshake the server
#: will never finish) would take the 5 s connect timeout or more.
PROMPT_S = 3.0
T = TypeVar("T")


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, 60))


class Blocking:
    """A blocking ClaimlineClient behind the asyncio client's interface (methods awaitable), so
    one test body serves both clients."""

    def __init__(self, client: ClaimlineClient) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.client, name)
        if not callable(attr):
            return attr

        async def method(*args: Any, **kwargs: Any) -> Any:
            return attr(*args, **kwargs)

        return method


async def connect(
    kind: str, server: Server, token: str, tls: Any, name: str = "pytest-tls", host: Optional[str] = None
) -> Any:
    """A connected client of `kind` ("blocking" or "aio"); the caller awaits its close()."""
    host = server.host if host is None else host
    if kind == "blocking":
        return Blocking(ClaimlineClient.connect(host, server.port, token, name, timeout=5.0, tls=tls))
    return await AsyncClaimlineClient.connect(host, server.port, token, name, timeout=5.0, tls=tls)


async def connect_addresses(kind: str, addresses: List[str], tls: Any, timeout: float) -> Any:
    """A failover client of `kind` over `addresses`, admin token."""
    if kind == "blocking":
        return Blocking(
            ClaimlineClient.connect(
                addresses=addresses, token=ADMIN_TOKEN, client_name="pytest-tls-fo", timeout=timeout, tls=tls
            )
        )
    return await AsyncClaimlineClient.connect(
        addresses=addresses, token=ADMIN_TOKEN, client_name="pytest-tls-fo", timeout=timeout, tls=tls
    )


async def refused(kind: str, server: Server, token: str, tls: Any) -> ClaimlineError:
    """Connects, expecting a ClaimlineError within PROMPT_S seconds; returns it."""
    started = time.monotonic()
    with pytest.raises(ClaimlineError) as caught:
        client = await connect(kind, server, token, tls)
        await client.close()
    elapsed = time.monotonic() - started
    assert elapsed < PROMPT_S, f"refused after {elapsed:.1f} s: {caught.value!r}"
    return caught.value


KINDS = ["blocking", "aio"]


# -- TLSConfig ------------------------------------------------------------------------------------


def test_tls_config_makes_a_verifying_context(tls_certs: Path) -> None:
    context = TLSConfig(ca_file=str(tls_certs / "ca.pem")).create_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    relaxed = TLSConfig(ca_file=tls_certs / "ca.pem", verify_hostname=False).create_context()
    assert relaxed.verify_mode == ssl.CERT_REQUIRED and not relaxed.check_hostname
    system = TLSConfig().create_context()  # the system's trust store
    assert system.verify_mode == ssl.CERT_REQUIRED and system.check_hostname


def test_tls_config_bad_files_are_value_errors(tls_certs: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="CA file"):
        TLSConfig(ca_file=str(tmp_path / "missing.pem")).create_context()
    with pytest.raises(ValueError, match="client certificate"):
        TLSConfig(ca_file=str(tls_certs / "ca.pem"), cert_file=str(tls_certs / "admin.pem")).create_context()  # no key
    with pytest.raises(ValueError, match="client certificate"):
        TLSConfig(cert_file=str(tls_certs / "admin.pem"), key_file=str(tls_certs / "ivr.key")).create_context()
    with pytest.raises(ValueError, match="key_file"):
        TLSConfig(key_file=str(tls_certs / "admin.key")).create_context()


@pytest.mark.parametrize("kind", KINDS)
def test_tls_argument_type_is_checked(kind: str, tls_server: Server) -> None:
    with pytest.raises(TypeError, match="TLSConfig or an ssl.SSLContext"):
        run(connect(kind, tls_server, ADMIN_TOKEN, tls="ca.pem"))


# -- token authentication over TLS ------------------------------------------------------------


def _escalate(call_id: str) -> svc.EscalateRequest:
    return svc.EscalateRequest(
        idempotency_key=new_idempotency_key(),
        call_id=call_id,
        subscriber=t.Subscriber(msisdn="+79161234567", account_id="ACC-0042", value_tier=t.VALUE_TIER_2, region="77"),
        category=t.CategoryRef(group=t.CLAIM_GROUP_BILLING, category=t.CATEGORY_CHARGED_WHILE_BLOCKED),
        agent_id="ivr-7",
    )


@pytest.mark.parametrize("kind", KINDS)
def test_whole_contact_over_tls(kind: str, tls_server: Server) -> None:
    async def contact() -> None:
        call_id = f"UCID-{uuid.uuid4()}"
        ivr = await connect(kind, tls_server, IVR_TOKEN, tls_server.tls(), "pytest-tls-ivr")
        agent = await connect(kind, tls_server, AGENT_TOKEN, tls_server.tls(), "pytest-tls-agent")
        try:
            assert ivr.role == "ivr" and agent.role == "agent" and ivr.session_id
            escalated = await ivr.escalate(_escalate(call_id))
            assert escalated.decision == t.ESCALATE_DECISION_TRANSFER_TO_SECOND_LINE
            assert escalated.state == t.CONTACT_STATE_WITH_SECOND_LINE
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
            complaint.description = "Списали плату, пока номер был заблокирован (по TLS)."
            filed = await agent.file_complaint(complaint)
            assert CLAIM_NUMBER.match(filed.claim_number), filed.claim_number
            got = await ivr.get_claim(svc.GetClaimRequest(claim_number=filed.claim_number))
            assert got.claim == filed.claim
            # The same key again: the same claim.
            assert (await agent.file_complaint(complaint)).claim_number == filed.claim_number
        finally:
            await ivr.close()
            await agent.close()
        assert ivr.closed and agent.closed

    run(contact())


@pytest.mark.parametrize("kind", KINDS)
def test_caller_made_ssl_context(kind: str, tls_server: Server, tls_certs: Path) -> None:
    async def body() -> None:
        context = ssl.create_default_context(cafile=str(tls_certs / "ca.pem"))
        client = await connect(kind, tls_server, ADMIN_TOKEN, context)
        try:
            assert client.role == "admin"
            await client.get_second_line_mode(svc.GetSecondLineModeRequest())
        finally:
            await client.close()

    run(body())


@pytest.mark.parametrize("kind", KINDS)
def test_host_name_checks(kind: str, tls_server: Server) -> None:
    async def body() -> None:
        # By name: the certificate's DNS SAN (every other test connects by IP: its IP SAN).
        client = await connect(kind, tls_server, ADMIN_TOKEN, tls_server.tls(), host="localhost")
        assert client.role == "admin"
        await client.close()
        # Another name than the certificate's: refused, unless told to check the chain only.
        error = await refused(kind, tls_server, ADMIN_TOKEN, tls_server.tls(server_hostname="claimline.example.com"))
        assert error.code == StatusCode.UNAVAILABLE and error.reason == TLS_CERTIFICATE_VERIFY_FAILED, repr(error)
        assert "claimline.example.com" in error.message
        relaxed = tls_server.tls(server_hostname="claimline.example.com", verify_hostname=False)
        client = await connect(kind, tls_server, ADMIN_TOKEN, relaxed)
        assert client.role == "admin"
        await client.close()

    run(body())


# -- mutual TLS -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_client_certificate_with_empty_token_is_that_client(kind: str, tls_server: Server) -> None:
    async def body() -> None:
        admin = await connect(kind, tls_server, "", tls_server.tls(cert="admin"), "pytest-ops-console")
        ivr = await connect(kind, tls_server, "", tls_server.tls(cert="ivr"), "pytest-ivr-gateway")
        try:
            assert admin.role == "admin" and admin.hello_ack.role == "admin"
            assert ivr.role == "ivr"
            # A call only supervisor and admin may make: setting the mode it already has.
            mode = (await admin.get_second_line_mode(svc.GetSecondLineModeRequest())).mode
            answer = await admin.set_second_line_mode(
                svc.SetSecondLineModeRequest(idempotency_key=new_idempotency_key(), mode=mode, reason="pytest mTLS")
            )
            assert answer.mode == mode
            with pytest.raises(ClaimlineError) as caught:
                await ivr.set_second_line_mode(
                    svc.SetSecondLineModeRequest(idempotency_key=new_idempotency_key(), mode=mode, reason="pytest mTLS")
                )
            assert caught.value.code == StatusCode.PERMISSION_DENIED
        finally:
            await admin.close()
            await ivr.close()

    run(body())


@pytest.mark.parametrize("kind", KINDS)
def test_certificate_and_its_own_token(kind: str, tls_server: Server) -> None:
    async def body() -> None:
        client = await connect(kind, tls_server, "ivr-gateway-token", tls_server.tls(cert="ivr"))
        assert client.role == "ivr"
        await client.close()

    run(body())


@pytest.mark.parametrize("kind", KINDS)
def test_token_of_another_client_on_a_certificate_is_unauthenticated(kind: str, tls_server: Server) -> None:
    error = run(refused(kind, tls_server, ADMIN_TOKEN, tls_server.tls(cert="ivr")))
    assert error.code == StatusCode.UNAUTHENTICATED and error.reason == "UNAUTHENTICATED", repr(error)


@pytest.mark.parametrize("kind", KINDS)
def test_unmapped_certificate_needs_a_token(kind: str, tls_server: Server) -> None:
    async def body() -> None:
        error = await refused(kind, tls_server, "", tls_server.tls(cert="stranger"))
        assert error.code == StatusCode.UNAUTHENTICATED, repr(error)
        # Without a certificate, a token works on a server that asks for one but does not require it.
        client = await connect(kind, tls_server, ADMIN_TOKEN, tls_server.tls())
        assert client.role == "admin"
        await client.close()

    run(body())


@pytest.mark.parametrize("kind", KINDS)
def test_required_client_certificate(kind: str, mtls_server: Server) -> None:
    async def body() -> None:
        client = await connect(kind, mtls_server, "", mtls_server.tls(cert="admin"))
        assert client.role == "admin"
        await client.close()
        # No certificate: the server fails the handshake (TLS 1.3: an alert after the client's side).
        error = await refused(kind, mtls_server, ADMIN_TOKEN, mtls_server.tls())
        assert error.code == StatusCode.UNAVAILABLE and error.reason == TLS_HANDSHAKE_FAILED, repr(error)
        assert "TLS" in error.message
        # A certificate of another CA: refused the same way.
        error = await refused(kind, mtls_server, "", mtls_server.tls(cert="rogue"))
        assert error.code == StatusCode.UNAVAILABLE and error.reason == TLS_HANDSHAKE_FAILED, repr(error)

    run(body())


# -- the wrong transport, the wrong CA ------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_plain_client_on_a_tls_port_is_told_tls_required(kind: str, tls_server: Server) -> None:
    error = run(refused(kind, tls_server, ADMIN_TOKEN, None))
    assert error.code == 9 and error.code_name == "FAILED_PRECONDITION", repr(error)
    assert error.reason == "TLS_REQUIRED"


@pytest.mark.parametrize("kind", KINDS)
def test_tls_client_on_a_plain_port_fails_the_handshake(kind: str, server: Server, tls_certs: Path) -> None:
    tls = TLSConfig(ca_file=str(tls_certs / "ca.pem"))
    error = run(refused(kind, server, ADMIN_TOKEN, tls))
    assert error.code == StatusCode.UNAVAILABLE and error.reason == TLS_HANDSHAKE_FAILED, repr(error)


@pytest.mark.parametrize("kind", KINDS)
def test_server_of_another_ca_fails_verification(kind: str, tls_server: Server) -> None:
    error = run(refused(kind, tls_server, ADMIN_TOKEN, tls_server.tls(ca="rogue-ca")))
    assert error.code == StatusCode.UNAVAILABLE and error.reason == TLS_CERTIFICATE_VERIFY_FAILED, repr(error)
    assert "certificate" in error.message


@pytest.mark.parametrize("kind", KINDS)
def test_silent_server_is_a_deadline_not_a_hang(kind: str, tls_certs: Path) -> None:
    # Accepts TCP, never answers the ClientHello.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        tls = TLSConfig(ca_file=str(tls_certs / "ca.pem"))
        started = time.monotonic()
        with pytest.raises(ClaimlineError) as caught:
            if kind == "blocking":
                ClaimlineClient.connect("127.0.0.1", port, ADMIN_TOKEN, "pytest-tls", timeout=1.0, tls=tls)
            else:
                run(AsyncClaimlineClient.connect("127.0.0.1", port, ADMIN_TOKEN, "pytest-tls", timeout=1.0, tls=tls))
        assert 0.9 < time.monotonic() - started < PROMPT_S
        assert caught.value.code == StatusCode.DEADLINE_EXCEEDED, repr(caught.value)
        assert "TLS" in caught.value.message or "timed out" in caught.value.message


@pytest.mark.parametrize("kind", KINDS)
def test_plain_failover_client_on_tls_addresses_ends_tls_required(kind: str, tls_server: Server) -> None:
    started = time.monotonic()
    with pytest.raises(ClaimlineError) as caught:
        run(connect_addresses(kind, [tls_server.address], None, 5.0))
    assert time.monotonic() - started < PROMPT_S
    assert caught.value.code == StatusCode.FAILED_PRECONDITION and caught.value.reason == "TLS_REQUIRED"


# -- failover: every address with the same TLS settings -------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_failover_over_tls(kind: str, server: Server, tls_server: Server) -> None:
    async def body() -> None:
        # A refused port, then a plain server (the TLS handshake fails), then the TLS server:
        # a TLS failure counts as that address failing, like a refused connect.
        addresses = [f"127.0.0.1:{closed_port()}", server.address, tls_server.address]
        client = await connect_addresses(kind, addresses, tls_server.tls(), timeout=10.0)
        try:
            assert client.address == tls_server.address and client.failovers == 2
            answer = await client.escalate(_escalate(f"UCID-{uuid.uuid4()}"))
            assert answer.decision != t.ESCALATE_DECISION_UNSPECIFIED
            assert client.last_served_address == tls_server.address
        finally:
            await client.close()

    run(body())


@pytest.mark.parametrize("kind", KINDS)
def test_failover_gives_up_with_the_tls_error(kind: str, tls_server: Server) -> None:
    started = time.monotonic()
    with pytest.raises(ClaimlineError) as caught:
        run(connect_addresses(kind, [tls_server.address, tls_server.address], tls_server.tls(ca="rogue-ca"), 5.0))
    assert time.monotonic() - started < 5.5
    # PROTOCOL.md 8.1: every attempt failed to connect, so CONNECT_FAILED naming every address
    # with what happened there (before 8.1: the last attempt's TLS reason).
    assert caught.value.code == StatusCode.UNAVAILABLE and caught.value.reason == "CONNECT_FAILED"
    assert TLS_CERTIFICATE_VERIFY_FAILED in caught.value.message and tls_server.address in caught.value.message
    assert "attempt" in caught.value.message
