from claimline.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CategoryCount(_message.Message):
    __slots__ = ["category", "claims"]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    CLAIMS_FIELD_NUMBER: _ClassVar[int]
    category: _types_pb2.CategoryRef
    claims: int
    def __init__(self, category: _Optional[_Union[_types_pb2.CategoryRef, _Mapping]] = ..., claims: _Optional[int] = ...) -> None: ...

class DecisionCount(_message.Message):
    __slots__ = ["decision", "escalations", "rule"]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    ESCALATIONS_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    decision: _types_pb2.EscalateDecision
    escalations: int
    rule: str
    def __init__(self, decision: _Optional[_Union[_types_pb2.EscalateDecision, str]] = ..., rule: _Optional[str] = ..., escalations: _Optional[int] = ...) -> None: ...

class DeclareIncidentRequest(_message.Message):
    __slots__ = ["categories", "idempotency_key", "playbook_text", "playbook_url", "regions", "title"]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    PLAYBOOK_TEXT_FIELD_NUMBER: _ClassVar[int]
    PLAYBOOK_URL_FIELD_NUMBER: _ClassVar[int]
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    categories: _containers.RepeatedCompositeFieldContainer[_types_pb2.CategoryRef]
    idempotency_key: str
    playbook_text: str
    playbook_url: str
    regions: _containers.RepeatedScalarFieldContainer[str]
    title: str
    def __init__(self, idempotency_key: _Optional[str] = ..., title: _Optional[str] = ..., regions: _Optional[_Iterable[str]] = ..., categories: _Optional[_Iterable[_Union[_types_pb2.CategoryRef, _Mapping]]] = ..., playbook_url: _Optional[str] = ..., playbook_text: _Optional[str] = ...) -> None: ...

class DeclareIncidentResponse(_message.Message):
    __slots__ = ["incident"]
    INCIDENT_FIELD_NUMBER: _ClassVar[int]
    incident: _types_pb2.Incident
    def __init__(self, incident: _Optional[_Union[_types_pb2.Incident, _Mapping]] = ...) -> None: ...

class EscalateRequest(_message.Message):
    __slots__ = ["agent_id", "call_id", "category", "idempotency_key", "place_id", "subscriber"]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    PLACE_ID_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBER_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    call_id: str
    category: _types_pb2.CategoryRef
    idempotency_key: str
    place_id: str
    subscriber: _types_pb2.Subscriber
    def __init__(self, idempotency_key: _Optional[str] = ..., call_id: _Optional[str] = ..., subscriber: _Optional[_Union[_types_pb2.Subscriber, _Mapping]] = ..., category: _Optional[_Union[_types_pb2.CategoryRef, _Mapping]] = ..., agent_id: _Optional[str] = ..., place_id: _Optional[str] = ...) -> None: ...

class EscalateResponse(_message.Message):
    __slots__ = ["decision", "incident", "rule", "state"]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    INCIDENT_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    decision: _types_pb2.EscalateDecision
    incident: _types_pb2.Incident
    rule: str
    state: _types_pb2.ContactState
    def __init__(self, decision: _Optional[_Union[_types_pb2.EscalateDecision, str]] = ..., rule: _Optional[str] = ..., incident: _Optional[_Union[_types_pb2.Incident, _Mapping]] = ..., state: _Optional[_Union[_types_pb2.ContactState, str]] = ...) -> None: ...

class FailureReasonCount(_message.Message):
    __slots__ = ["count", "reason"]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    count: int
    reason: _types_pb2.RetentionFailureReason
    def __init__(self, reason: _Optional[_Union[_types_pb2.RetentionFailureReason, str]] = ..., count: _Optional[int] = ...) -> None: ...

class FileComplaintRequest(_message.Message):
    __slots__ = ["agent_id", "call_id", "category", "description", "failure_reason", "idempotency_key", "incident_id", "place_id", "subscriber"]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    INCIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    PLACE_ID_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBER_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    call_id: str
    category: _types_pb2.CategoryRef
    description: str
    failure_reason: _types_pb2.RetentionFailureReason
    idempotency_key: str
    incident_id: str
    place_id: str
    subscriber: _types_pb2.Subscriber
    def __init__(self, idempotency_key: _Optional[str] = ..., call_id: _Optional[str] = ..., category: _Optional[_Union[_types_pb2.CategoryRef, _Mapping]] = ..., subscriber: _Optional[_Union[_types_pb2.Subscriber, _Mapping]] = ..., place_id: _Optional[str] = ..., description: _Optional[str] = ..., failure_reason: _Optional[_Union[_types_pb2.RetentionFailureReason, str]] = ..., incident_id: _Optional[str] = ..., agent_id: _Optional[str] = ...) -> None: ...

class FileComplaintResponse(_message.Message):
    __slots__ = ["claim", "claim_number", "department", "due_at_ms"]
    CLAIM_FIELD_NUMBER: _ClassVar[int]
    CLAIM_NUMBER_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    DUE_AT_MS_FIELD_NUMBER: _ClassVar[int]
    claim: _types_pb2.Claim
    claim_number: str
    department: str
    due_at_ms: int
    def __init__(self, claim_number: _Optional[str] = ..., department: _Optional[str] = ..., due_at_ms: _Optional[int] = ..., claim: _Optional[_Union[_types_pb2.Claim, _Mapping]] = ...) -> None: ...

class GetClaimRequest(_message.Message):
    __slots__ = ["claim_number"]
    CLAIM_NUMBER_FIELD_NUMBER: _ClassVar[int]
    claim_number: str
    def __init__(self, claim_number: _Optional[str] = ...) -> None: ...

class GetClaimResponse(_message.Message):
    __slots__ = ["claim"]
    CLAIM_FIELD_NUMBER: _ClassVar[int]
    claim: _types_pb2.Claim
    def __init__(self, claim: _Optional[_Union[_types_pb2.Claim, _Mapping]] = ...) -> None: ...

class GetContactRequest(_message.Message):
    __slots__ = ["call_id"]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    call_id: str
    def __init__(self, call_id: _Optional[str] = ...) -> None: ...

class GetContactResponse(_message.Message):
    __slots__ = ["contact", "draft"]
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    DRAFT_FIELD_NUMBER: _ClassVar[int]
    contact: _types_pb2.Contact
    draft: FileComplaintRequest
    def __init__(self, contact: _Optional[_Union[_types_pb2.Contact, _Mapping]] = ..., draft: _Optional[_Union[FileComplaintRequest, _Mapping]] = ...) -> None: ...

class GetSecondLineModeRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class GetStatsRequest(_message.Message):
    __slots__ = ["from_ms", "to_ms"]
    FROM_MS_FIELD_NUMBER: _ClassVar[int]
    TO_MS_FIELD_NUMBER: _ClassVar[int]
    from_ms: int
    to_ms: int
    def __init__(self, from_ms: _Optional[int] = ..., to_ms: _Optional[int] = ...) -> None: ...

class GetStatsResponse(_message.Message):
    __slots__ = ["claims_by_category", "claims_by_group", "claims_total", "declined", "escalations", "escalations_by_decision", "impossible_by_reason", "retained"]
    CLAIMS_BY_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    CLAIMS_BY_GROUP_FIELD_NUMBER: _ClassVar[int]
    CLAIMS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    DECLINED_FIELD_NUMBER: _ClassVar[int]
    ESCALATIONS_BY_DECISION_FIELD_NUMBER: _ClassVar[int]
    ESCALATIONS_FIELD_NUMBER: _ClassVar[int]
    IMPOSSIBLE_BY_REASON_FIELD_NUMBER: _ClassVar[int]
    RETAINED_FIELD_NUMBER: _ClassVar[int]
    claims_by_category: _containers.RepeatedCompositeFieldContainer[CategoryCount]
    claims_by_group: _containers.RepeatedCompositeFieldContainer[GroupCount]
    claims_total: int
    declined: int
    escalations: int
    escalations_by_decision: _containers.RepeatedCompositeFieldContainer[DecisionCount]
    impossible_by_reason: _containers.RepeatedCompositeFieldContainer[FailureReasonCount]
    retained: int
    def __init__(self, claims_by_group: _Optional[_Iterable[_Union[GroupCount, _Mapping]]] = ..., claims_by_category: _Optional[_Iterable[_Union[CategoryCount, _Mapping]]] = ..., retained: _Optional[int] = ..., declined: _Optional[int] = ..., impossible_by_reason: _Optional[_Iterable[_Union[FailureReasonCount, _Mapping]]] = ..., escalations: _Optional[int] = ..., claims_total: _Optional[int] = ..., escalations_by_decision: _Optional[_Iterable[_Union[DecisionCount, _Mapping]]] = ...) -> None: ...

class GroupCount(_message.Message):
    __slots__ = ["claims", "group"]
    CLAIMS_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    claims: int
    group: _types_pb2.ClaimGroup
    def __init__(self, group: _Optional[_Union[_types_pb2.ClaimGroup, str]] = ..., claims: _Optional[int] = ...) -> None: ...

class ListClaimsRequest(_message.Message):
    __slots__ = ["category", "created_from_ms", "created_to_ms", "department", "msisdn", "page_size", "page_token", "status"]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    CREATED_FROM_MS_FIELD_NUMBER: _ClassVar[int]
    CREATED_TO_MS_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    MSISDN_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    category: _types_pb2.CategoryRef
    created_from_ms: int
    created_to_ms: int
    department: str
    msisdn: str
    page_size: int
    page_token: str
    status: _types_pb2.ClaimStatus
    def __init__(self, msisdn: _Optional[str] = ..., status: _Optional[_Union[_types_pb2.ClaimStatus, str]] = ..., created_from_ms: _Optional[int] = ..., created_to_ms: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., category: _Optional[_Union[_types_pb2.CategoryRef, _Mapping]] = ..., department: _Optional[str] = ...) -> None: ...

class ListClaimsResponse(_message.Message):
    __slots__ = ["claims", "next_page_token"]
    CLAIMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    claims: _containers.RepeatedCompositeFieldContainer[_types_pb2.Claim]
    next_page_token: str
    def __init__(self, claims: _Optional[_Iterable[_Union[_types_pb2.Claim, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListIncidentsRequest(_message.Message):
    __slots__ = ["include_withdrawn"]
    INCLUDE_WITHDRAWN_FIELD_NUMBER: _ClassVar[int]
    include_withdrawn: bool
    def __init__(self, include_withdrawn: bool = ...) -> None: ...

class ListIncidentsResponse(_message.Message):
    __slots__ = ["incidents"]
    INCIDENTS_FIELD_NUMBER: _ClassVar[int]
    incidents: _containers.RepeatedCompositeFieldContainer[_types_pb2.Incident]
    def __init__(self, incidents: _Optional[_Iterable[_Union[_types_pb2.Incident, _Mapping]]] = ...) -> None: ...

class ReloadPolicyRequest(_message.Message):
    __slots__ = ["idempotency_key"]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    def __init__(self, idempotency_key: _Optional[str] = ...) -> None: ...

class ReloadPolicyResponse(_message.Message):
    __slots__ = ["policy_name", "policy_version", "previous_policy_name", "previous_policy_version", "rules"]
    POLICY_NAME_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_POLICY_NAME_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    policy_name: str
    policy_version: str
    previous_policy_name: str
    previous_policy_version: str
    rules: int
    def __init__(self, policy_name: _Optional[str] = ..., policy_version: _Optional[str] = ..., rules: _Optional[int] = ..., previous_policy_name: _Optional[str] = ..., previous_policy_version: _Optional[str] = ...) -> None: ...

class RetainRequest(_message.Message):
    __slots__ = ["agent_id", "call_id", "failure_reason", "idempotency_key", "note", "outcome"]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    call_id: str
    failure_reason: _types_pb2.RetentionFailureReason
    idempotency_key: str
    note: str
    outcome: _types_pb2.RetentionOutcome
    def __init__(self, idempotency_key: _Optional[str] = ..., call_id: _Optional[str] = ..., outcome: _Optional[_Union[_types_pb2.RetentionOutcome, str]] = ..., failure_reason: _Optional[_Union[_types_pb2.RetentionFailureReason, str]] = ..., agent_id: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class RetainResponse(_message.Message):
    __slots__ = ["claim_required", "draft", "state"]
    CLAIM_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    DRAFT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    claim_required: bool
    draft: FileComplaintRequest
    state: _types_pb2.ContactState
    def __init__(self, claim_required: bool = ..., state: _Optional[_Union[_types_pb2.ContactState, str]] = ..., draft: _Optional[_Union[FileComplaintRequest, _Mapping]] = ...) -> None: ...

class SecondLineModeResponse(_message.Message):
    __slots__ = ["changed_at_ms", "changed_by", "mode", "reason"]
    CHANGED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    CHANGED_BY_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    changed_at_ms: int
    changed_by: str
    mode: _types_pb2.SecondLineMode
    reason: str
    def __init__(self, mode: _Optional[_Union[_types_pb2.SecondLineMode, str]] = ..., changed_at_ms: _Optional[int] = ..., changed_by: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class SetSecondLineModeRequest(_message.Message):
    __slots__ = ["idempotency_key", "mode", "reason"]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    mode: _types_pb2.SecondLineMode
    reason: str
    def __init__(self, idempotency_key: _Optional[str] = ..., mode: _Optional[_Union[_types_pb2.SecondLineMode, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class UpdateClaimStatusRequest(_message.Message):
    __slots__ = ["claim_number", "idempotency_key", "note", "status"]
    CLAIM_NUMBER_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    claim_number: str
    idempotency_key: str
    note: str
    status: _types_pb2.ClaimStatus
    def __init__(self, idempotency_key: _Optional[str] = ..., claim_number: _Optional[str] = ..., status: _Optional[_Union[_types_pb2.ClaimStatus, str]] = ..., note: _Optional[str] = ...) -> None: ...

class UpdateClaimStatusResponse(_message.Message):
    __slots__ = ["claim"]
    CLAIM_FIELD_NUMBER: _ClassVar[int]
    claim: _types_pb2.Claim
    def __init__(self, claim: _Optional[_Union[_types_pb2.Claim, _Mapping]] = ...) -> None: ...

class WithdrawIncidentRequest(_message.Message):
    __slots__ = ["idempotency_key", "incident_id", "note"]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    INCIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    incident_id: str
    note: str
    def __init__(self, idempotency_key: _Optional[str] = ..., incident_id: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class WithdrawIncidentResponse(_message.Message):
    __slots__ = ["incident"]
    INCIDENT_FIELD_NUMBER: _ClassVar[int]
    incident: _types_pb2.Incident
    def __init__(self, incident: _Optional[_Union[_types_pb2.Incident, _Mapping]] = ...) -> None: ...
