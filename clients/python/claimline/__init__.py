"""Python client of Claimline protocol v1 (see proto/PROTOCOL.md).

TLS and mutual TLS: ``connect(..., tls=TLSConfig(...))`` (``claimline.tls``). Failover between
instances (``connect(addresses=[...])``) follows PROTOCOL.md 8.1 (``claimline.failover``,
``FailoverSettings``).
The generated messages are in ``claimline.v1`` (``service_pb2``, ``types_pb2``, ``wire_pb2``).
"""

from claimline.client import ClaimlineClient, new_idempotency_key, parse_addresses
from claimline.errors import ClaimlineError, FieldViolation, StatusCode, code_name
from claimline.failover import FailoverSettings
from claimline.methods import Method
from claimline.tls import TLS_CERTIFICATE_VERIFY_FAILED, TLS_HANDSHAKE_FAILED, TLSConfig
from claimline.aio import AsyncClaimlineClient

__all__ = [
    "AsyncClaimlineClient",
    "ClaimlineClient",
    "ClaimlineError",
    "FailoverSettings",
    "FieldViolation",
    "Method",
    "StatusCode",
    "TLSConfig",
    "TLS_CERTIFICATE_VERIFY_FAILED",
    "TLS_HANDSHAKE_FAILED",
    "code_name",
    "new_idempotency_key",
    "parse_addresses",
]
