"""The errors of both clients: every failure is a :class:`ClaimlineError` carrying a gRPC
canonical status code (PROTOCOL.md section 5). Its own module so that :mod:`claimline.failover`
can build a call's final error without importing a client."""

from __future__ import annotations

from enum import IntEnum
from typing import List, NamedTuple, Sequence

from claimline.v1 import wire_pb2

__all__ = ["ClaimlineError", "FieldViolation", "StatusCode", "code_name"]


class StatusCode(IntEnum):
    """gRPC's canonical status codes, as ERROR and GOAWAY carry them (section 5)."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


def code_name(code: int) -> str:
    try:
        return StatusCode(code).name
    except ValueError:
        return f"CODE_{code}"


class FieldViolation(NamedTuple):
    field: str  # dotted path, e.g. "subscriber.msisdn"
    description: str


class ClaimlineError(Exception):
    """A call or a connection that ended with a status other than OK."""

    def __init__(
        self,
        code: int,
        message: str = "",
        reason: str = "",
        field_violations: Sequence[FieldViolation] = (),
        current_state: str = "",
        retry_after_ms: int = 0,
    ) -> None:
        self.code: int = code
        self.message: str = message
        self.reason: str = reason
        self.field_violations: List[FieldViolation] = list(field_violations)
        self.current_state: str = current_state
        self.retry_after_ms: int = retry_after_ms
        super().__init__(str(self))

    @property
    def code_name(self) -> str:
        return code_name(self.code)

    @property
    def fields(self) -> List[str]:
        """The dotted paths of the invalid fields (INVALID_ARGUMENT)."""
        return [violation.field for violation in self.field_violations]

    @classmethod
    def from_status(cls, status: wire_pb2.RpcStatus) -> "ClaimlineError":
        return cls(
            code=status.code,
            message=status.message,
            reason=status.reason,
            field_violations=[FieldViolation(v.field, v.description) for v in status.field_violations],
            current_state=status.current_state,
            retry_after_ms=status.retry_after_ms,
        )

    def __str__(self) -> str:
        text = f"{self.code_name} ({self.code})"
        if self.reason:
            text += f" {self.reason}"
        if self.message:
            text += f": {self.message}"
        if self.current_state:
            text += f" [state {self.current_state}]"
        return text

    def __repr__(self) -> str:
        return (
            f"ClaimlineError(code={self.code}, message={self.message!r}, reason={self.reason!r}, "
            f"field_violations={self.field_violations!r}, current_state={self.current_state!r}, "
            f"retry_after_ms={self.retry_after_ms})"
        )
