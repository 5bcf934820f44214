from cs_gateway.gen.jukinet.cs.v1 import identity_pb2 as _identity_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UpdateRequest(_message.Message):
    __slots__ = ("request_id", "change_reason", "change_date", "change_reason_detail", "operator_id", "terminal_id", "entry")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGE_REASON_FIELD_NUMBER: _ClassVar[int]
    CHANGE_DATE_FIELD_NUMBER: _ClassVar[int]
    CHANGE_REASON_DETAIL_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    TERMINAL_ID_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    change_reason: _identity_pb2.ChangeReason
    change_date: _identity_pb2.Date
    change_reason_detail: str
    operator_id: str
    terminal_id: str
    entry: _identity_pb2.ResidentEntry
    def __init__(self, request_id: _Optional[str] = ..., change_reason: _Optional[_Union[_identity_pb2.ChangeReason, str]] = ..., change_date: _Optional[_Union[_identity_pb2.Date, _Mapping]] = ..., change_reason_detail: _Optional[str] = ..., operator_id: _Optional[str] = ..., terminal_id: _Optional[str] = ..., entry: _Optional[_Union[_identity_pb2.ResidentEntry, _Mapping]] = ...) -> None: ...

class Refusal(_message.Message):
    __slots__ = ("reason", "field", "message_ja", "message_en", "position")
    REASON_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_JA_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_EN_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    reason: str
    field: str
    message_ja: str
    message_en: str
    position: int
    def __init__(self, reason: _Optional[str] = ..., field: _Optional[str] = ..., message_ja: _Optional[str] = ..., message_en: _Optional[str] = ..., position: _Optional[int] = ...) -> None: ...

class UpdateResult(_message.Message):
    __slots__ = ("request_id", "record", "refusal", "replayed")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    record: _identity_pb2.IdentityRecord
    refusal: Refusal
    replayed: bool
    def __init__(self, request_id: _Optional[str] = ..., record: _Optional[_Union[_identity_pb2.IdentityRecord, _Mapping]] = ..., refusal: _Optional[_Union[Refusal, _Mapping]] = ..., replayed: _Optional[bool] = ...) -> None: ...

class GetRecordRequest(_message.Message):
    __slots__ = ("juminhyo_code",)
    JUMINHYO_CODE_FIELD_NUMBER: _ClassVar[int]
    juminhyo_code: str
    def __init__(self, juminhyo_code: _Optional[str] = ...) -> None: ...

class GetHistoryRequest(_message.Message):
    __slots__ = ("juminhyo_code",)
    JUMINHYO_CODE_FIELD_NUMBER: _ClassVar[int]
    juminhyo_code: str
    def __init__(self, juminhyo_code: _Optional[str] = ...) -> None: ...

class History(_message.Message):
    __slots__ = ("versions",)
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[_identity_pb2.IdentityRecord]
    def __init__(self, versions: _Optional[_Iterable[_Union[_identity_pb2.IdentityRecord, _Mapping]]] = ...) -> None: ...
