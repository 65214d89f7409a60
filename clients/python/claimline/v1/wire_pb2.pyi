from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FieldViolation(_message.Message):
    __slots__ = ["description", "field"]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    description: str
    field: str
    def __init__(self, field: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class GoAway(_message.Message):
    __slots__ = ["code", "last_stream_id", "message", "reason"]
    CODE_FIELD_NUMBER: _ClassVar[int]
    LAST_STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    code: int
    last_stream_id: int
    message: str
    reason: str
    def __init__(self, last_stream_id: _Optional[int] = ..., code: _Optional[int] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class Hello(_message.Message):
    __slots__ = ["client_name", "token"]
    CLIENT_NAME_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    client_name: str
    token: str
    def __init__(self, client_name: _Optional[str] = ..., token: _Optional[str] = ...) -> None: ...

class HelloAck(_message.Message):
    __slots__ = ["idle_timeout_ms", "keepalive_interval_ms", "max_concurrent_streams", "max_deadline_ms", "max_frame_size", "role", "server_name", "session_id"]
    IDLE_TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    KEEPALIVE_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENT_STREAMS_FIELD_NUMBER: _ClassVar[int]
    MAX_DEADLINE_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_FRAME_SIZE_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    SERVER_NAME_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    idle_timeout_ms: int
    keepalive_interval_ms: int
    max_concurrent_streams: int
    max_deadline_ms: int
    max_frame_size: int
    role: str
    server_name: str
    session_id: str
    def __init__(self, session_id: _Optional[str] = ..., server_name: _Optional[str] = ..., max_frame_size: _Optional[int] = ..., max_concurrent_streams: _Optional[int] = ..., keepalive_interval_ms: _Optional[int] = ..., idle_timeout_ms: _Optional[int] = ..., role: _Optional[str] = ..., max_deadline_ms: _Optional[int] = ...) -> None: ...

class RpcStatus(_message.Message):
    __slots__ = ["code", "current_state", "field_violations", "message", "reason", "retry_after_ms"]
    CODE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_STATE_FIELD_NUMBER: _ClassVar[int]
    FIELD_VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    code: int
    current_state: str
    field_violations: _containers.RepeatedCompositeFieldContainer[FieldViolation]
    message: str
    reason: str
    retry_after_ms: int
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., field_violations: _Optional[_Iterable[_Union[FieldViolation, _Mapping]]] = ..., current_state: _Optional[str] = ..., retry_after_ms: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...
