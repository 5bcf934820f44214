from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SignedNotice(_message.Message):
    __slots__ = ("update_seq", "body", "signature")
    UPDATE_SEQ_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    update_seq: int
    body: bytes
    signature: bytes
    def __init__(self, update_seq: _Optional[int] = ..., body: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class NoticeAck(_message.Message):
    __slots__ = ("update_seq", "status", "reason")
    class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATUS_UNSPECIFIED: _ClassVar[NoticeAck.Status]
        APPLIED: _ClassVar[NoticeAck.Status]
        DUPLICATE: _ClassVar[NoticeAck.Status]
        REFUSED: _ClassVar[NoticeAck.Status]
    STATUS_UNSPECIFIED: NoticeAck.Status
    APPLIED: NoticeAck.Status
    DUPLICATE: NoticeAck.Status
    REFUSED: NoticeAck.Status
    UPDATE_SEQ_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    update_seq: int
    status: NoticeAck.Status
    reason: str
    def __init__(self, update_seq: _Optional[int] = ..., status: _Optional[_Union[NoticeAck.Status, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class TreeNodesRequest(_message.Message):
    __slots__ = ("prefixes",)
    PREFIXES_FIELD_NUMBER: _ClassVar[int]
    prefixes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, prefixes: _Optional[_Iterable[str]] = ...) -> None: ...

class TreeNode(_message.Message):
    __slots__ = ("prefix", "hash", "count")
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    prefix: str
    hash: bytes
    count: int
    def __init__(self, prefix: _Optional[str] = ..., hash: _Optional[bytes] = ..., count: _Optional[int] = ...) -> None: ...

class TreeNodesReply(_message.Message):
    __slots__ = ("nodes",)
    NODES_FIELD_NUMBER: _ClassVar[int]
    nodes: _containers.RepeatedCompositeFieldContainer[TreeNode]
    def __init__(self, nodes: _Optional[_Iterable[_Union[TreeNode, _Mapping]]] = ...) -> None: ...

class BucketRequest(_message.Message):
    __slots__ = ("prefixes",)
    PREFIXES_FIELD_NUMBER: _ClassVar[int]
    prefixes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, prefixes: _Optional[_Iterable[str]] = ...) -> None: ...

class BucketEntry(_message.Message):
    __slots__ = ("juminhyo_code", "record_hash")
    JUMINHYO_CODE_FIELD_NUMBER: _ClassVar[int]
    RECORD_HASH_FIELD_NUMBER: _ClassVar[int]
    juminhyo_code: str
    record_hash: bytes
    def __init__(self, juminhyo_code: _Optional[str] = ..., record_hash: _Optional[bytes] = ...) -> None: ...

class BucketReply(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[BucketEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[BucketEntry, _Mapping]]] = ...) -> None: ...

class RecordsRequest(_message.Message):
    __slots__ = ("juminhyo_codes",)
    JUMINHYO_CODES_FIELD_NUMBER: _ClassVar[int]
    juminhyo_codes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, juminhyo_codes: _Optional[_Iterable[str]] = ...) -> None: ...

class CanonicalRecord(_message.Message):
    __slots__ = ("juminhyo_code", "body")
    JUMINHYO_CODE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    juminhyo_code: str
    body: bytes
    def __init__(self, juminhyo_code: _Optional[str] = ..., body: _Optional[bytes] = ...) -> None: ...

class RecordsReply(_message.Message):
    __slots__ = ("records",)
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[CanonicalRecord]
    def __init__(self, records: _Optional[_Iterable[_Union[CanonicalRecord, _Mapping]]] = ...) -> None: ...

class FullFileRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
