from cs_gateway.gen.jukinet.cs.v1 import identity_pb2 as _identity_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Kubun3045(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    KUBUN_3045_NONE: _ClassVar[Kubun3045]
    KUBUN_3045_CHUCHOKI: _ClassVar[Kubun3045]
    KUBUN_3045_TOKUBETSU_EIJU: _ClassVar[Kubun3045]
    KUBUN_3045_ICHIJI_HIGO: _ClassVar[Kubun3045]
    KUBUN_3045_KARI_TAIZAI: _ClassVar[Kubun3045]
    KUBUN_3045_SHUSSEI_KEIKA: _ClassVar[Kubun3045]
    KUBUN_3045_KOKUSEKI_SOSHITSU_KEIKA: _ClassVar[Kubun3045]
KUBUN_3045_NONE: Kubun3045
KUBUN_3045_CHUCHOKI: Kubun3045
KUBUN_3045_TOKUBETSU_EIJU: Kubun3045
KUBUN_3045_ICHIJI_HIGO: Kubun3045
KUBUN_3045_KARI_TAIZAI: Kubun3045
KUBUN_3045_SHUSSEI_KEIKA: Kubun3045
KUBUN_3045_KOKUSEKI_SOSHITSU_KEIKA: Kubun3045

class SofusakiInfo(_message.Message):
    __slots__ = ("sofusaki_number", "sofusaki_postal_code", "sofusaki_address_length", "sofusaki_address", "sofusaki_address_gaiji_count", "sofusaki_name_length", "sofusaki_name", "sofusaki_name_gaiji_count", "municipality_code", "municipality_name_length", "municipality_name", "municipality_postal_code", "municipality_address_length", "municipality_address", "municipality_address_gaiji_count", "municipality_phone", "issue_place_name_length", "issue_place_name", "issue_place_name_gaiji_count", "issue_place_postal_code", "issue_place_address_length", "issue_place_address", "issue_place_address_gaiji_count", "issue_place_phone", "card_place_name_length", "card_place_name", "card_place_name_gaiji_count", "card_place_postal_code", "card_place_address_length", "card_place_address", "card_place_address_gaiji_count", "card_place_phone", "person_count", "processed_on", "operator_id", "terminal_id", "print_class", "juminhyo_code", "name_kanji_length", "name_kanji", "name_kanji_gaiji_count", "name_kana_length", "name_kana", "postal_code", "address_length", "address", "address_gaiji_count", "birth_date", "sex", "individual_number", "kubun_30_45", "residence_expiry", "substitute_result", "substitute_name_length", "substitute_name", "substitute_address_length", "substitute_address", "substitute_name_positions", "substitute_address_positions", "gaiji_flag", "gaiji_pattern", "former_surname_kanji", "former_surname_gaiji_count", "former_surname_kana", "romaji_name", "romaji_former_surname")
    SOFUSAKI_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SOFUSAKI_POSTAL_CODE_FIELD_NUMBER: _ClassVar[int]
    SOFUSAKI_ADDRESS_LENGTH_FIELD_NUMBER: _ClassVar[int]
    SOFUSAKI_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    SOFUSAKI_ADDRESS_GAIJI_COUNT_FIELD_NUMBER: _ClassVar[int]
    SOFUSAKI_NAME_LENGTH_FIELD_NUMBER: _ClassVar[int]
    SOFUSAKI_NAME_FIELD_NUMBER: _ClassVar[int]
    SOFUSAKI_NAME_GAIJI_COUNT_FIELD_NUMBER: _ClassVar[int]
    MUNICIPALITY_CODE_FIELD_NUMBER: _ClassVar[int]
    MUNICIPALITY_NAME_LENGTH_FIELD_NUMBER: _ClassVar[int]
    MUNICIPALITY_NAME_FIELD_NUMBER: _ClassVar[int]
    MUNICIPALITY_POSTAL_CODE_FIELD_NUMBER: _ClassVar[int]
    MUNICIPALITY_ADDRESS_LENGTH_FIELD_NUMBER: _ClassVar[int]
    MUNICIPALITY_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    MUNICIPALITY_ADDRESS_GAIJI_COUNT_FIELD_NUMBER: _ClassVar[int]
    MUNICIPALITY_PHONE_FIELD_NUMBER: _ClassVar[int]
    ISSUE_PLACE_NAME_LENGTH_FIELD_NUMBER: _ClassVar[int]
    ISSUE_PLACE_NAME_FIELD_NUMBER: _ClassVar[int]
    ISSUE_PLACE_NAME_GAIJI_COUNT_FIELD_NUMBER: _ClassVar[int]
    ISSUE_PLACE_POSTAL_CODE_FIELD_NUMBER: _ClassVar[int]
    ISSUE_PLACE_ADDRESS_LENGTH_FIELD_NUMBER: _ClassVar[int]
    ISSUE_PLACE_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ISSUE_PLACE_ADDRESS_GAIJI_COUNT_FIELD_NUMBER: _ClassVar[int]
    ISSUE_PLACE_PHONE_FIELD_NUMBER: _ClassVar[int]
    CARD_PLACE_NAME_LENGTH_FIELD_NUMBER: _ClassVar[int]
    CARD_PLACE_NAME_FIELD_NUMBER: _ClassVar[int]
    CARD_PLACE_NAME_GAIJI_COUNT_FIELD_NUMBER: _ClassVar[int]
    CARD_PLACE_POSTAL_CODE_FIELD_NUMBER: _ClassVar[int]
    CARD_PLACE_ADDRESS_LENGTH_FIELD_NUMBER: _ClassVar[int]
    CARD_PLACE_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CARD_PLACE_ADDRESS_GAIJI_COUNT_FIELD_NUMBER: _ClassVar[int]
    CARD_PLACE_PHONE_FIELD_NUMBER: _ClassVar[int]
    PERSON_COUNT_FIELD_NUMBER: _ClassVar[int]
    PROCESSED_ON_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    TERMINAL_ID_FIELD_NUMBER: _ClassVar[int]
    PRINT_CLASS_FIELD_NUMBER: _ClassVar[int]
    JUMINHYO_CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_KANJI_LENGTH_FIELD_NUMBER: _ClassVar[int]
    NAME_KANJI_FIELD_NUMBER: _ClassVar[int]
    NAME_KANJI_GAIJI_COUNT_FIELD_NUMBER: _ClassVar[int]
    NAME_KANA_LENGTH_FIELD_NUMBER: _ClassVar[int]
    NAME_KANA_FIELD_NUMBER: _ClassVar[int]
    POSTAL_CODE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_LENGTH_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_GAIJI_COUNT_FIELD_NUMBER: _ClassVar[int]
    BIRTH_DATE_FIELD_NUMBER: _ClassVar[int]
    SEX_FIELD_NUMBER: _ClassVar[int]
    INDIVIDUAL_NUMBER_FIELD_NUMBER: _ClassVar[int]
    KUBUN_30_45_FIELD_NUMBER: _ClassVar[int]
    RESIDENCE_EXPIRY_FIELD_NUMBER: _ClassVar[int]
    SUBSTITUTE_RESULT_FIELD_NUMBER: _ClassVar[int]
    SUBSTITUTE_NAME_LENGTH_FIELD_NUMBER: _ClassVar[int]
    SUBSTITUTE_NAME_FIELD_NUMBER: _ClassVar[int]
    SUBSTITUTE_ADDRESS_LENGTH_FIELD_NUMBER: _ClassVar[int]
    SUBSTITUTE_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    SUBSTITUTE_NAME_POSITIONS_FIELD_NUMBER: _ClassVar[int]
    SUBSTITUTE_ADDRESS_POSITIONS_FIELD_NUMBER: _ClassVar[int]
    GAIJI_FLAG_FIELD_NUMBER: _ClassVar[int]
    GAIJI_PATTERN_FIELD_NUMBER: _ClassVar[int]
    FORMER_SURNAME_KANJI_FIELD_NUMBER: _ClassVar[int]
    FORMER_SURNAME_GAIJI_COUNT_FIELD_NUMBER: _ClassVar[int]
    FORMER_SURNAME_KANA_FIELD_NUMBER: _ClassVar[int]
    ROMAJI_NAME_FIELD_NUMBER: _ClassVar[int]
    ROMAJI_FORMER_SURNAME_FIELD_NUMBER: _ClassVar[int]
    sofusaki_number: str
    sofusaki_postal_code: str
    sofusaki_address_length: int
    sofusaki_address: str
    sofusaki_address_gaiji_count: int
    sofusaki_name_length: int
    sofusaki_name: str
    sofusaki_name_gaiji_count: int
    municipality_code: str
    municipality_name_length: int
    municipality_name: str
    municipality_postal_code: str
    municipality_address_length: int
    municipality_address: str
    municipality_address_gaiji_count: int
    municipality_phone: str
    issue_place_name_length: int
    issue_place_name: str
    issue_place_name_gaiji_count: int
    issue_place_postal_code: str
    issue_place_address_length: int
    issue_place_address: str
    issue_place_address_gaiji_count: int
    issue_place_phone: str
    card_place_name_length: int
    card_place_name: str
    card_place_name_gaiji_count: int
    card_place_postal_code: str
    card_place_address_length: int
    card_place_address: str
    card_place_address_gaiji_count: int
    card_place_phone: str
    person_count: int
    processed_on: _identity_pb2.Date
    operator_id: str
    terminal_id: str
    print_class: str
    juminhyo_code: str
    name_kanji_length: int
    name_kanji: str
    name_kanji_gaiji_count: int
    name_kana_length: int
    name_kana: str
    postal_code: str
    address_length: int
    address: str
    address_gaiji_count: int
    birth_date: _identity_pb2.Date
    sex: _identity_pb2.Sex
    individual_number: str
    kubun_30_45: Kubun3045
    residence_expiry: _identity_pb2.Date
    substitute_result: str
    substitute_name_length: int
    substitute_name: str
    substitute_address_length: int
    substitute_address: str
    substitute_name_positions: str
    substitute_address_positions: str
    gaiji_flag: bool
    gaiji_pattern: str
    former_surname_kanji: str
    former_surname_gaiji_count: int
    former_surname_kana: str
    romaji_name: str
    romaji_former_surname: str
    def __init__(self, sofusaki_number: _Optional[str] = ..., sofusaki_postal_code: _Optional[str] = ..., sofusaki_address_length: _Optional[int] = ..., sofusaki_address: _Optional[str] = ..., sofusaki_address_gaiji_count: _Optional[int] = ..., sofusaki_name_length: _Optional[int] = ..., sofusaki_name: _Optional[str] = ..., sofusaki_name_gaiji_count: _Optional[int] = ..., municipality_code: _Optional[str] = ..., municipality_name_length: _Optional[int] = ..., municipality_name: _Optional[str] = ..., municipality_postal_code: _Optional[str] = ..., municipality_address_length: _Optional[int] = ..., municipality_address: _Optional[str] = ..., municipality_address_gaiji_count: _Optional[int] = ..., municipality_phone: _Optional[str] = ..., issue_place_name_length: _Optional[int] = ..., issue_place_name: _Optional[str] = ..., issue_place_name_gaiji_count: _Optional[int] = ..., issue_place_postal_code: _Optional[str] = ..., issue_place_address_length: _Optional[int] = ..., issue_place_address: _Optional[str] = ..., issue_place_address_gaiji_count: _Optional[int] = ..., issue_place_phone: _Optional[str] = ..., card_place_name_length: _Optional[int] = ..., card_place_name: _Optional[str] = ..., card_place_name_gaiji_count: _Optional[int] = ..., card_place_postal_code: _Optional[str] = ..., card_place_address_length: _Optional[int] = ..., card_place_address: _Optional[str] = ..., card_place_address_gaiji_count: _Optional[int] = ..., card_place_phone: _Optional[str] = ..., person_count: _Optional[int] = ..., processed_on: _Optional[_Union[_identity_pb2.Date, _Mapping]] = ..., operator_id: _Optional[str] = ..., terminal_id: _Optional[str] = ..., print_class: _Optional[str] = ..., juminhyo_code: _Optional[str] = ..., name_kanji_length: _Optional[int] = ..., name_kanji: _Optional[str] = ..., name_kanji_gaiji_count: _Optional[int] = ..., name_kana_length: _Optional[int] = ..., name_kana: _Optional[str] = ..., postal_code: _Optional[str] = ..., address_length: _Optional[int] = ..., address: _Optional[str] = ..., address_gaiji_count: _Optional[int] = ..., birth_date: _Optional[_Union[_identity_pb2.Date, _Mapping]] = ..., sex: _Optional[_Union[_identity_pb2.Sex, str]] = ..., individual_number: _Optional[str] = ..., kubun_30_45: _Optional[_Union[Kubun3045, str]] = ..., residence_expiry: _Optional[_Union[_identity_pb2.Date, _Mapping]] = ..., substitute_result: _Optional[str] = ..., substitute_name_length: _Optional[int] = ..., substitute_name: _Optional[str] = ..., substitute_address_length: _Optional[int] = ..., substitute_address: _Optional[str] = ..., substitute_name_positions: _Optional[str] = ..., substitute_address_positions: _Optional[str] = ..., gaiji_flag: _Optional[bool] = ..., gaiji_pattern: _Optional[str] = ..., former_surname_kanji: _Optional[str] = ..., former_surname_gaiji_count: _Optional[int] = ..., former_surname_kana: _Optional[str] = ..., romaji_name: _Optional[str] = ..., romaji_former_surname: _Optional[str] = ...) -> None: ...

class SofusakiReceipt(_message.Message):
    __slots__ = ("sofusaki_seq", "digest")
    SOFUSAKI_SEQ_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    sofusaki_seq: int
    digest: bytes
    def __init__(self, sofusaki_seq: _Optional[int] = ..., digest: _Optional[bytes] = ...) -> None: ...

class ForwardedSofusaki(_message.Message):
    __slots__ = ("sofusaki_seq", "body", "digest", "signature")
    SOFUSAKI_SEQ_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    sofusaki_seq: int
    body: bytes
    digest: bytes
    signature: bytes
    def __init__(self, sofusaki_seq: _Optional[int] = ..., body: _Optional[bytes] = ..., digest: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class ForwardAck(_message.Message):
    __slots__ = ("sofusaki_seq", "status", "reason")
    class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATUS_UNSPECIFIED: _ClassVar[ForwardAck.Status]
        ACCEPTED: _ClassVar[ForwardAck.Status]
        DUPLICATE: _ClassVar[ForwardAck.Status]
        REFUSED: _ClassVar[ForwardAck.Status]
    STATUS_UNSPECIFIED: ForwardAck.Status
    ACCEPTED: ForwardAck.Status
    DUPLICATE: ForwardAck.Status
    REFUSED: ForwardAck.Status
    SOFUSAKI_SEQ_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    sofusaki_seq: int
    status: ForwardAck.Status
    reason: str
    def __init__(self, sofusaki_seq: _Optional[int] = ..., status: _Optional[_Union[ForwardAck.Status, str]] = ..., reason: _Optional[str] = ...) -> None: ...
