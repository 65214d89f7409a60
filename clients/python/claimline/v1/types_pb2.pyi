from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

CATEGORY_BALANCE_DESYNC: Category
CATEGORY_BLOCKED_WITH_POSITIVE_BALANCE: Category
CATEGORY_CHARGED_WHILE_BLOCKED: Category
CATEGORY_CONFIDENTIALITY_BREACH: Category
CATEGORY_DISSATISFACTION: Category
CATEGORY_IMPROPER_SERVICE: Category
CATEGORY_INCOMPETENCE: Category
CATEGORY_MIGRATION: Category
CATEGORY_NOT_BLOCKED_WITH_NEGATIVE_BALANCE: Category
CATEGORY_SELF_SERVICE_MALFUNCTION: Category
CATEGORY_SLOW_SERVICE: Category
CATEGORY_TARIFF_CHANGE_DISSATISFACTION: Category
CATEGORY_UNSPECIFIED: Category
CLAIM_GROUP_BILLING: ClaimGroup
CLAIM_GROUP_CONTACT_CENTRE: ClaimGroup
CLAIM_GROUP_DEALER: ClaimGroup
CLAIM_GROUP_OTHER: ClaimGroup
CLAIM_GROUP_SHOP: ClaimGroup
CLAIM_GROUP_UNSPECIFIED: ClaimGroup
CLAIM_STATUS_ACKNOWLEDGED: ClaimStatus
CLAIM_STATUS_CANCELLED: ClaimStatus
CLAIM_STATUS_CLOSED: ClaimStatus
CLAIM_STATUS_HELD: ClaimStatus
CLAIM_STATUS_IN_PROGRESS: ClaimStatus
CLAIM_STATUS_PENDING: ClaimStatus
CLAIM_STATUS_REJECTED: ClaimStatus
CLAIM_STATUS_RESOLVED: ClaimStatus
CLAIM_STATUS_UNSPECIFIED: ClaimStatus
CONTACT_STATE_CLAIM_FILED: ContactState
CONTACT_STATE_CLAIM_REQUIRED: ContactState
CONTACT_STATE_DECLINED: ContactState
CONTACT_STATE_FIRST_LINE_CONSULTATION: ContactState
CONTACT_STATE_FOLLOWING_PLAYBOOK: ContactState
CONTACT_STATE_RETAINED: ContactState
CONTACT_STATE_UNSPECIFIED: ContactState
CONTACT_STATE_WITH_SECOND_LINE: ContactState
DESCRIPTOR: _descriptor.FileDescriptor
ESCALATE_DECISION_FILE_CLAIM: EscalateDecision
ESCALATE_DECISION_FIRST_LINE_CONSULTATION: EscalateDecision
ESCALATE_DECISION_FOLLOW_INCIDENT_PLAYBOOK: EscalateDecision
ESCALATE_DECISION_TRANSFER_TO_SECOND_LINE: EscalateDecision
ESCALATE_DECISION_UNSPECIFIED: EscalateDecision
RETENTION_FAILURE_REASON_CAUSE_UNKNOWN: RetentionFailureReason
RETENTION_FAILURE_REASON_EXCEEDS_AUTHORITY: RetentionFailureReason
RETENTION_FAILURE_REASON_LABORIOUS_RECALCULATION: RetentionFailureReason
RETENTION_FAILURE_REASON_LONG_REVIEW: RetentionFailureReason
RETENTION_FAILURE_REASON_UNSPECIFIED: RetentionFailureReason
RETENTION_OUTCOME_DECLINED: RetentionOutcome
RETENTION_OUTCOME_IMPOSSIBLE: RetentionOutcome
RETENTION_OUTCOME_RETAINED: RetentionOutcome
RETENTION_OUTCOME_UNSPECIFIED: RetentionOutcome
SECOND_LINE_MODE_CLOSED: SecondLineMode
SECOND_LINE_MODE_DEGRADED: SecondLineMode
SECOND_LINE_MODE_NORMAL: SecondLineMode
SECOND_LINE_MODE_UNSPECIFIED: SecondLineMode
VALUE_TIER_1: ValueTier
VALUE_TIER_2: ValueTier
VALUE_TIER_3: ValueTier
VALUE_TIER_4: ValueTier
VALUE_TIER_UNSPECIFIED: ValueTier

class CategoryRef(_message.Message):
    __slots__ = ["category", "group"]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    category: Category
    group: ClaimGroup
    def __init__(self, group: _Optional[_Union[ClaimGroup, str]] = ..., category: _Optional[_Union[Category, str]] = ...) -> None: ...

class Claim(_message.Message):
    __slots__ = ["agent_id", "call_id", "category", "claim_number", "created_at_ms", "department", "description", "due_at_ms", "failure_reason", "incident_id", "place_id", "status", "subscriber", "updated_at_ms"]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    CLAIM_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DUE_AT_MS_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    INCIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    PLACE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBER_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    call_id: str
    category: CategoryRef
    claim_number: str
    created_at_ms: int
    department: str
    description: str
    due_at_ms: int
    failure_reason: RetentionFailureReason
    incident_id: str
    place_id: str
    status: ClaimStatus
    subscriber: Subscriber
    updated_at_ms: int
    def __init__(self, claim_number: _Optional[str] = ..., call_id: _Optional[str] = ..., category: _Optional[_Union[CategoryRef, _Mapping]] = ..., subscriber: _Optional[_Union[Subscriber, _Mapping]] = ..., place_id: _Optional[str] = ..., description: _Optional[str] = ..., failure_reason: _Optional[_Union[RetentionFailureReason, str]] = ..., incident_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., department: _Optional[str] = ..., status: _Optional[_Union[ClaimStatus, str]] = ..., created_at_ms: _Optional[int] = ..., due_at_ms: _Optional[int] = ..., updated_at_ms: _Optional[int] = ...) -> None: ...

class Contact(_message.Message):
    __slots__ = ["call_id", "category", "claim_number", "created_at_ms", "decision", "expires_at_ms", "failure_reason", "first_line_agent_id", "incident_id", "place_id", "rule", "second_line_agent_id", "state", "subscriber", "updated_at_ms"]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    CLAIM_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    FIRST_LINE_AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    INCIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    PLACE_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    SECOND_LINE_AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBER_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    call_id: str
    category: CategoryRef
    claim_number: str
    created_at_ms: int
    decision: EscalateDecision
    expires_at_ms: int
    failure_reason: RetentionFailureReason
    first_line_agent_id: str
    incident_id: str
    place_id: str
    rule: str
    second_line_agent_id: str
    state: ContactState
    subscriber: Subscriber
    updated_at_ms: int
    def __init__(self, call_id: _Optional[str] = ..., state: _Optional[_Union[ContactState, str]] = ..., subscriber: _Optional[_Union[Subscriber, _Mapping]] = ..., category: _Optional[_Union[CategoryRef, _Mapping]] = ..., place_id: _Optional[str] = ..., decision: _Optional[_Union[EscalateDecision, str]] = ..., rule: _Optional[str] = ..., incident_id: _Optional[str] = ..., failure_reason: _Optional[_Union[RetentionFailureReason, str]] = ..., claim_number: _Optional[str] = ..., first_line_agent_id: _Optional[str] = ..., second_line_agent_id: _Optional[str] = ..., created_at_ms: _Optional[int] = ..., updated_at_ms: _Optional[int] = ..., expires_at_ms: _Optional[int] = ...) -> None: ...

class Incident(_message.Message):
    __slots__ = ["active", "categories", "declared_at_ms", "declared_by", "incident_id", "playbook_text", "playbook_url", "regions", "title", "withdrawn_at_ms"]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    DECLARED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    DECLARED_BY_FIELD_NUMBER: _ClassVar[int]
    INCIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    PLAYBOOK_TEXT_FIELD_NUMBER: _ClassVar[int]
    PLAYBOOK_URL_FIELD_NUMBER: _ClassVar[int]
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWN_AT_MS_FIELD_NUMBER: _ClassVar[int]
    active: bool
    categories: _containers.RepeatedCompositeFieldContainer[CategoryRef]
    declared_at_ms: int
    declared_by: str
    incident_id: str
    playbook_text: str
    playbook_url: str
    regions: _containers.RepeatedScalarFieldContainer[str]
    title: str
    withdrawn_at_ms: int
    def __init__(self, incident_id: _Optional[str] = ..., title: _Optional[str] = ..., regions: _Optional[_Iterable[str]] = ..., categories: _Optional[_Iterable[_Union[CategoryRef, _Mapping]]] = ..., playbook_url: _Optional[str] = ..., playbook_text: _Optional[str] = ..., active: bool = ..., declared_at_ms: _Optional[int] = ..., withdrawn_at_ms: _Optional[int] = ..., declared_by: _Optional[str] = ...) -> None: ...

class Subscriber(_message.Message):
    __slots__ = ["account_id", "msisdn", "region", "value_tier"]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    MSISDN_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    VALUE_TIER_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    msisdn: str
    region: str
    value_tier: ValueTier
    def __init__(self, msisdn: _Optional[str] = ..., account_id: _Optional[str] = ..., value_tier: _Optional[_Union[ValueTier, str]] = ..., region: _Optional[str] = ...) -> None: ...

class ClaimGroup(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Category(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class ValueTier(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class RetentionFailureReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class RetentionOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class EscalateDecision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class SecondLineMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class ClaimStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class ContactState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
