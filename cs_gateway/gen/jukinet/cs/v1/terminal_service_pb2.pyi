from cs_gateway.gen.jukinet.cs.v1 import identity_pb2 as _identity_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Purpose(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PURPOSE_UNSPECIFIED: _ClassVar[Purpose]
    PURPOSE_IDENTITY_CHECK: _ClassVar[Purpose]
    PURPOSE_CERTIFICATE_ISSUE: _ClassVar[Purpose]
    PURPOSE_RECORD_CORRECTION: _ClassVar[Purpose]
PURPOSE_UNSPECIFIED: Purpose
PURPOSE_IDENTITY_CHECK: Purpose
PURPOSE_CERTIFICATE_ISSUE: Purpose
PURPOSE_RECORD_CORRECTION: Purpose

class LoginRequest(_message.Message):
    __slots__ = ("operator_id", "password", "totp_code")
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    TOTP_CODE_FIELD_NUMBER: _ClassVar[int]
    operator_id: str
    password: str
    totp_code: str
    def __init__(self, operator_id: _Optional[str] = ..., password: _Optional[str] = ..., totp_code: _Optional[str] = ...) -> None: ...

class LoginResponse(_message.Message):
    __slots__ = ("session_token", "operator_role", "idle_timeout_seconds", "lifetime_seconds")
    SESSION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ROLE_FIELD_NUMBER: _ClassVar[int]
    IDLE_TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    LIFETIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    session_token: str
    operator_role: str
    idle_timeout_seconds: int
    lifetime_seconds: int
    def __init__(self, session_token: _Optional[str] = ..., operator_role: _Optional[str] = ..., idle_timeout_seconds: _Optional[int] = ..., lifetime_seconds: _Optional[int] = ...) -> None: ...

class LogoutRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class LogoutResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class LookupRequest(_message.Message):
    __slots__ = ("juminhyo_code", "purpose")
    JUMINHYO_CODE_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    juminhyo_code: str
    purpose: Purpose
    def __init__(self, juminhyo_code: _Optional[str] = ..., purpose: _Optional[_Union[Purpose, str]] = ...) -> None: ...

class LookupResponse(_message.Message):
    __slots__ = ("record", "individual_number_masked")
    RECORD_FIELD_NUMBER: _ClassVar[int]
    INDIVIDUAL_NUMBER_MASKED_FIELD_NUMBER: _ClassVar[int]
    record: _identity_pb2.IdentityRecord
    individual_number_masked: bool
    def __init__(self, record: _Optional[_Union[_identity_pb2.IdentityRecord, _Mapping]] = ..., individual_number_masked: _Optional[bool] = ...) -> None: ...

class SearchRequest(_message.Message):
    __slots__ = ("purpose", "juminhyo_code", "individual_number", "name", "address", "birth_date", "sex")
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    JUMINHYO_CODE_FIELD_NUMBER: _ClassVar[int]
    INDIVIDUAL_NUMBER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    BIRTH_DATE_FIELD_NUMBER: _ClassVar[int]
    SEX_FIELD_NUMBER: _ClassVar[int]
    purpose: Purpose
    juminhyo_code: str
    individual_number: str
    name: str
    address: str
    birth_date: _identity_pb2.Date
    sex: _identity_pb2.Sex
    def __init__(self, purpose: _Optional[_Union[Purpose, str]] = ..., juminhyo_code: _Optional[str] = ..., individual_number: _Optional[str] = ..., name: _Optional[str] = ..., address: _Optional[str] = ..., birth_date: _Optional[_Union[_identity_pb2.Date, _Mapping]] = ..., sex: _Optional[_Union[_identity_pb2.Sex, str]] = ...) -> None: ...

class SearchResult(_message.Message):
    __slots__ = ("record",)
    RECORD_FIELD_NUMBER: _ClassVar[int]
    record: _identity_pb2.IdentityRecord
    def __init__(self, record: _Optional[_Union[_identity_pb2.IdentityRecord, _Mapping]] = ...) -> None: ...

class SearchResponse(_message.Message):
    __slots__ = ("results", "more_found", "individual_number_masked")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    MORE_FOUND_FIELD_NUMBER: _ClassVar[int]
    INDIVIDUAL_NUMBER_MASKED_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SearchResult]
    more_found: bool
    individual_number_masked: bool
    def __init__(self, results: _Optional[_Iterable[_Union[SearchResult, _Mapping]]] = ..., more_found: _Optional[bool] = ..., individual_number_masked: _Optional[bool] = ...) -> None: ...

class BeginCardCheckRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BeginCardCheckResponse(_message.Message):
    __slots__ = ("nonce", "valid_seconds")
    NONCE_FIELD_NUMBER: _ClassVar[int]
    VALID_SECONDS_FIELD_NUMBER: _ClassVar[int]
    nonce: bytes
    valid_seconds: int
    def __init__(self, nonce: _Optional[bytes] = ..., valid_seconds: _Optional[int] = ...) -> None: ...

class CardFace(_message.Message):
    __slots__ = ("name", "address", "birth_date", "sex")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    BIRTH_DATE_FIELD_NUMBER: _ClassVar[int]
    SEX_FIELD_NUMBER: _ClassVar[int]
    name: str
    address: str
    birth_date: _identity_pb2.Date
    sex: _identity_pb2.Sex
    def __init__(self, name: _Optional[str] = ..., address: _Optional[str] = ..., birth_date: _Optional[_Union[_identity_pb2.Date, _Mapping]] = ..., sex: _Optional[_Union[_identity_pb2.Sex, str]] = ...) -> None: ...

class VerifyCardRequest(_message.Message):
    __slots__ = ("purpose", "nonce", "certificate", "signature", "face")
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    FACE_FIELD_NUMBER: _ClassVar[int]
    purpose: Purpose
    nonce: bytes
    certificate: bytes
    signature: bytes
    face: CardFace
    def __init__(self, purpose: _Optional[_Union[Purpose, str]] = ..., nonce: _Optional[bytes] = ..., certificate: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., face: _Optional[_Union[CardFace, _Mapping]] = ...) -> None: ...

class FieldComparison(_message.Message):
    __slots__ = ("field", "card_value", "cs_value", "match")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    CARD_VALUE_FIELD_NUMBER: _ClassVar[int]
    CS_VALUE_FIELD_NUMBER: _ClassVar[int]
    MATCH_FIELD_NUMBER: _ClassVar[int]
    field: str
    card_value: str
    cs_value: str
    match: bool
    def __init__(self, field: _Optional[str] = ..., card_value: _Optional[str] = ..., cs_value: _Optional[str] = ..., match: _Optional[bool] = ...) -> None: ...

class VerifyCardResponse(_message.Message):
    __slots__ = ("record", "individual_number_masked", "comparison")
    RECORD_FIELD_NUMBER: _ClassVar[int]
    INDIVIDUAL_NUMBER_MASKED_FIELD_NUMBER: _ClassVar[int]
    COMPARISON_FIELD_NUMBER: _ClassVar[int]
    record: _identity_pb2.IdentityRecord
    individual_number_masked: bool
    comparison: _containers.RepeatedCompositeFieldContainer[FieldComparison]
    def __init__(self, record: _Optional[_Union[_identity_pb2.IdentityRecord, _Mapping]] = ..., individual_number_masked: _Optional[bool] = ..., comparison: _Optional[_Iterable[_Union[FieldComparison, _Mapping]]] = ...) -> None: ...
