import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Sex(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEX_UNSPECIFIED: _ClassVar[Sex]
    SEX_MALE: _ClassVar[Sex]
    SEX_FEMALE: _ClassVar[Sex]

class Relationship(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RELATIONSHIP_UNSPECIFIED: _ClassVar[Relationship]
    RELATIONSHIP_HEAD: _ClassVar[Relationship]
    RELATIONSHIP_WIFE: _ClassVar[Relationship]
    RELATIONSHIP_HUSBAND: _ClassVar[Relationship]
    RELATIONSHIP_CHILD: _ClassVar[Relationship]
    RELATIONSHIP_FATHER: _ClassVar[Relationship]
    RELATIONSHIP_MOTHER: _ClassVar[Relationship]
    RELATIONSHIP_GRANDCHILD: _ClassVar[Relationship]
    RELATIONSHIP_SIBLING: _ClassVar[Relationship]
    RELATIONSHIP_GRANDPARENT: _ClassVar[Relationship]
    RELATIONSHIP_CHILD_IN_LAW: _ClassVar[Relationship]
    RELATIONSHIP_STEPCHILD: _ClassVar[Relationship]
    RELATIONSHIP_UNREGISTERED_SPOUSE: _ClassVar[Relationship]
    RELATIONSHIP_COHABITANT: _ClassVar[Relationship]
    RELATIONSHIP_RELATIVE: _ClassVar[Relationship]
    RELATIONSHIP_OTHER: _ClassVar[Relationship]
    RELATIONSHIP_ELDER_BROTHER: _ClassVar[Relationship]
    RELATIONSHIP_ELDER_SISTER: _ClassVar[Relationship]
    RELATIONSHIP_YOUNGER_BROTHER: _ClassVar[Relationship]
    RELATIONSHIP_YOUNGER_SISTER: _ClassVar[Relationship]
    RELATIONSHIP_GRANDFATHER: _ClassVar[Relationship]
    RELATIONSHIP_GRANDMOTHER: _ClassVar[Relationship]
    RELATIONSHIP_SONS_WIFE: _ClassVar[Relationship]
    RELATIONSHIP_DAUGHTERS_HUSBAND: _ClassVar[Relationship]
    RELATIONSHIP_WIFES_CHILD: _ClassVar[Relationship]
    RELATIONSHIP_HUSBANDS_CHILD: _ClassVar[Relationship]
    RELATIONSHIP_WIFE_UNREGISTERED: _ClassVar[Relationship]
    RELATIONSHIP_HUSBAND_UNREGISTERED: _ClassVar[Relationship]
    RELATIONSHIP_WIFES_FATHER: _ClassVar[Relationship]
    RELATIONSHIP_WIFES_MOTHER: _ClassVar[Relationship]
    RELATIONSHIP_HUSBANDS_FATHER: _ClassVar[Relationship]
    RELATIONSHIP_HUSBANDS_MOTHER: _ClassVar[Relationship]
    RELATIONSHIP_FATHERS_OR_MOTHERS_BROTHER: _ClassVar[Relationship]
    RELATIONSHIP_FATHERS_OR_MOTHERS_SISTER: _ClassVar[Relationship]
    RELATIONSHIP_SIBLINGS_SON: _ClassVar[Relationship]
    RELATIONSHIP_SIBLINGS_DAUGHTER: _ClassVar[Relationship]
    RELATIONSHIP_GRANDCHILDS_SPOUSE: _ClassVar[Relationship]

class ResidentClass(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESIDENT_CLASS_UNSPECIFIED: _ClassVar[ResidentClass]
    RESIDENT_CLASS_JAPANESE: _ClassVar[ResidentClass]
    RESIDENT_CLASS_FOREIGN: _ClassVar[ResidentClass]

class ChangeReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANGE_REASON_UNSPECIFIED: _ClassVar[ChangeReason]
    CHANGE_REASON_TENNYU: _ClassVar[ChangeReason]
    CHANGE_REASON_TENKYO: _ClassVar[ChangeReason]
    CHANGE_REASON_TENSHUTSU: _ClassVar[ChangeReason]
    CHANGE_REASON_TENSHUTSU_TORIKESHI: _ClassVar[ChangeReason]
    CHANGE_REASON_SHUSSEI: _ClassVar[ChangeReason]
    CHANGE_REASON_SHIBO: _ClassVar[ChangeReason]
    CHANGE_REASON_SHISSO_SENKOKU: _ClassVar[ChangeReason]
    CHANGE_REASON_SHOKKEN_KISAI: _ClassVar[ChangeReason]
    CHANGE_REASON_SHOKKEN_SHUSEI: _ClassVar[ChangeReason]
    CHANGE_REASON_SHOKKEN_SHOJO: _ClassVar[ChangeReason]
    CHANGE_REASON_KOKUSEKI_SHUTOKU: _ClassVar[ChangeReason]
    CHANGE_REASON_KOKUSEKI_SOSHITSU: _ClassVar[ChangeReason]
    CHANGE_REASON_KIKA: _ClassVar[ChangeReason]
    CHANGE_REASON_JUMINHYO_CODE_HENKO: _ClassVar[ChangeReason]
    CHANGE_REASON_KOJIN_BANGO_HENKO: _ClassVar[ChangeReason]
    CHANGE_REASON_JUSHO_SETTEI: _ClassVar[ChangeReason]
    CHANGE_REASON_ZAIRYU_SHIKAKU_SHUTOKU: _ClassVar[ChangeReason]
    CHANGE_REASON_SETAI_HENKO: _ClassVar[ChangeReason]

class RecordStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECORD_STATUS_UNSPECIFIED: _ClassVar[RecordStatus]
    RECORD_STATUS_CURRENT: _ClassVar[RecordStatus]
    RECORD_STATUS_PLANNED_DEPARTURE: _ClassVar[RecordStatus]
    RECORD_STATUS_REMOVED_MOVED_OUT: _ClassVar[RecordStatus]
    RECORD_STATUS_REMOVED_DECEASED: _ClassVar[RecordStatus]
    RECORD_STATUS_REMOVED_OTHER: _ClassVar[RecordStatus]
SEX_UNSPECIFIED: Sex
SEX_MALE: Sex
SEX_FEMALE: Sex
RELATIONSHIP_UNSPECIFIED: Relationship
RELATIONSHIP_HEAD: Relationship
RELATIONSHIP_WIFE: Relationship
RELATIONSHIP_HUSBAND: Relationship
RELATIONSHIP_CHILD: Relationship
RELATIONSHIP_FATHER: Relationship
RELATIONSHIP_MOTHER: Relationship
RELATIONSHIP_GRANDCHILD: Relationship
RELATIONSHIP_SIBLING: Relationship
RELATIONSHIP_GRANDPARENT: Relationship
RELATIONSHIP_CHILD_IN_LAW: Relationship
RELATIONSHIP_STEPCHILD: Relationship
RELATIONSHIP_UNREGISTERED_SPOUSE: Relationship
RELATIONSHIP_COHABITANT: Relationship
RELATIONSHIP_RELATIVE: Relationship
RELATIONSHIP_OTHER: Relationship
RELATIONSHIP_ELDER_BROTHER: Relationship
RELATIONSHIP_ELDER_SISTER: Relationship
RELATIONSHIP_YOUNGER_BROTHER: Relationship
RELATIONSHIP_YOUNGER_SISTER: Relationship
RELATIONSHIP_GRANDFATHER: Relationship
RELATIONSHIP_GRANDMOTHER: Relationship
RELATIONSHIP_SONS_WIFE: Relationship
RELATIONSHIP_DAUGHTERS_HUSBAND: Relationship
RELATIONSHIP_WIFES_CHILD: Relationship
RELATIONSHIP_HUSBANDS_CHILD: Relationship
RELATIONSHIP_WIFE_UNREGISTERED: Relationship
RELATIONSHIP_HUSBAND_UNREGISTERED: Relationship
RELATIONSHIP_WIFES_FATHER: Relationship
RELATIONSHIP_WIFES_MOTHER: Relationship
RELATIONSHIP_HUSBANDS_FATHER: Relationship
RELATIONSHIP_HUSBANDS_MOTHER: Relationship
RELATIONSHIP_FATHERS_OR_MOTHERS_BROTHER: Relationship
RELATIONSHIP_FATHERS_OR_MOTHERS_SISTER: Relationship
RELATIONSHIP_SIBLINGS_SON: Relationship
RELATIONSHIP_SIBLINGS_DAUGHTER: Relationship
RELATIONSHIP_GRANDCHILDS_SPOUSE: Relationship
RESIDENT_CLASS_UNSPECIFIED: ResidentClass
RESIDENT_CLASS_JAPANESE: ResidentClass
RESIDENT_CLASS_FOREIGN: ResidentClass
CHANGE_REASON_UNSPECIFIED: ChangeReason
CHANGE_REASON_TENNYU: ChangeReason
CHANGE_REASON_TENKYO: ChangeReason
CHANGE_REASON_TENSHUTSU: ChangeReason
CHANGE_REASON_TENSHUTSU_TORIKESHI: ChangeReason
CHANGE_REASON_SHUSSEI: ChangeReason
CHANGE_REASON_SHIBO: ChangeReason
CHANGE_REASON_SHISSO_SENKOKU: ChangeReason
CHANGE_REASON_SHOKKEN_KISAI: ChangeReason
CHANGE_REASON_SHOKKEN_SHUSEI: ChangeReason
CHANGE_REASON_SHOKKEN_SHOJO: ChangeReason
CHANGE_REASON_KOKUSEKI_SHUTOKU: ChangeReason
CHANGE_REASON_KOKUSEKI_SOSHITSU: ChangeReason
CHANGE_REASON_KIKA: ChangeReason
CHANGE_REASON_JUMINHYO_CODE_HENKO: ChangeReason
CHANGE_REASON_KOJIN_BANGO_HENKO: ChangeReason
CHANGE_REASON_JUSHO_SETTEI: ChangeReason
CHANGE_REASON_ZAIRYU_SHIKAKU_SHUTOKU: ChangeReason
CHANGE_REASON_SETAI_HENKO: ChangeReason
RECORD_STATUS_UNSPECIFIED: RecordStatus
RECORD_STATUS_CURRENT: RecordStatus
RECORD_STATUS_PLANNED_DEPARTURE: RecordStatus
RECORD_STATUS_REMOVED_MOVED_OUT: RecordStatus
RECORD_STATUS_REMOVED_DECEASED: RecordStatus
RECORD_STATUS_REMOVED_OTHER: RecordStatus

class Date(_message.Message):
    __slots__ = ("year", "month", "day")
    YEAR_FIELD_NUMBER: _ClassVar[int]
    MONTH_FIELD_NUMBER: _ClassVar[int]
    DAY_FIELD_NUMBER: _ClassVar[int]
    year: int
    month: int
    day: int
    def __init__(self, year: _Optional[int] = ..., month: _Optional[int] = ..., day: _Optional[int] = ...) -> None: ...

class ResidentEntry(_message.Message):
    __slots__ = ("juminhyo_code", "name_kanji", "name_gaiji_count", "name_kana", "birth_date", "sex", "municipality_code", "aza_code", "postal_code", "address", "address_gaiji_count", "individual_number", "resident_since", "address_since", "notified_on", "previous_municipality_code", "previous_address", "previous_address_gaiji_count", "relationship", "previous_juminhyo_code", "juminhyo_code_since", "update_prohibited", "former_surname_kanji", "former_surname_gaiji_count", "former_surname_kana", "resident_class")
    JUMINHYO_CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_KANJI_FIELD_NUMBER: _ClassVar[int]
    NAME_GAIJI_COUNT_FIELD_NUMBER: _ClassVar[int]
    NAME_KANA_FIELD_NUMBER: _ClassVar[int]
    BIRTH_DATE_FIELD_NUMBER: _ClassVar[int]
    SEX_FIELD_NUMBER: _ClassVar[int]
    MUNICIPALITY_CODE_FIELD_NUMBER: _ClassVar[int]
    AZA_CODE_FIELD_NUMBER: _ClassVar[int]
    POSTAL_CODE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_GAIJI_COUNT_FIELD_NUMBER: _ClassVar[int]
    INDIVIDUAL_NUMBER_FIELD_NUMBER: _ClassVar[int]
    RESIDENT_SINCE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_SINCE_FIELD_NUMBER: _ClassVar[int]
    NOTIFIED_ON_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_MUNICIPALITY_CODE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_ADDRESS_GAIJI_COUNT_FIELD_NUMBER: _ClassVar[int]
    RELATIONSHIP_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_JUMINHYO_CODE_FIELD_NUMBER: _ClassVar[int]
    JUMINHYO_CODE_SINCE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_PROHIBITED_FIELD_NUMBER: _ClassVar[int]
    FORMER_SURNAME_KANJI_FIELD_NUMBER: _ClassVar[int]
    FORMER_SURNAME_GAIJI_COUNT_FIELD_NUMBER: _ClassVar[int]
    FORMER_SURNAME_KANA_FIELD_NUMBER: _ClassVar[int]
    RESIDENT_CLASS_FIELD_NUMBER: _ClassVar[int]
    juminhyo_code: str
    name_kanji: str
    name_gaiji_count: int
    name_kana: str
    birth_date: Date
    sex: Sex
    municipality_code: str
    aza_code: str
    postal_code: str
    address: str
    address_gaiji_count: int
    individual_number: str
    resident_since: Date
    address_since: Date
    notified_on: Date
    previous_municipality_code: str
    previous_address: str
    previous_address_gaiji_count: int
    relationship: Relationship
    previous_juminhyo_code: str
    juminhyo_code_since: Date
    update_prohibited: bool
    former_surname_kanji: str
    former_surname_gaiji_count: int
    former_surname_kana: str
    resident_class: ResidentClass
    def __init__(self, juminhyo_code: _Optional[str] = ..., name_kanji: _Optional[str] = ..., name_gaiji_count: _Optional[int] = ..., name_kana: _Optional[str] = ..., birth_date: _Optional[_Union[Date, _Mapping]] = ..., sex: _Optional[_Union[Sex, str]] = ..., municipality_code: _Optional[str] = ..., aza_code: _Optional[str] = ..., postal_code: _Optional[str] = ..., address: _Optional[str] = ..., address_gaiji_count: _Optional[int] = ..., individual_number: _Optional[str] = ..., resident_since: _Optional[_Union[Date, _Mapping]] = ..., address_since: _Optional[_Union[Date, _Mapping]] = ..., notified_on: _Optional[_Union[Date, _Mapping]] = ..., previous_municipality_code: _Optional[str] = ..., previous_address: _Optional[str] = ..., previous_address_gaiji_count: _Optional[int] = ..., relationship: _Optional[_Union[Relationship, str]] = ..., previous_juminhyo_code: _Optional[str] = ..., juminhyo_code_since: _Optional[_Union[Date, _Mapping]] = ..., update_prohibited: _Optional[bool] = ..., former_surname_kanji: _Optional[str] = ..., former_surname_gaiji_count: _Optional[int] = ..., former_surname_kana: _Optional[str] = ..., resident_class: _Optional[_Union[ResidentClass, str]] = ...) -> None: ...

class IdentityRecord(_message.Message):
    __slots__ = ("juminhyo_code", "name_kanji", "name_gaiji_count", "name_kana", "name_kana_seion", "birth_date", "sex", "municipality_code", "aza_code", "postal_code", "address", "address_gaiji_count", "individual_number", "resident_since", "address_since", "notified_on", "previous_municipality_code", "previous_address", "previous_address_gaiji_count", "relationship", "change_reason", "change_date", "change_reason_detail", "previous_juminhyo_code", "juminhyo_code_since", "request_id", "operator_id", "terminal_id", "update_seq", "recovery_update_seq", "update_prohibited", "prospective", "locked", "has_gaiji", "record_status", "timestamp", "former_surname_kanji", "former_surname_gaiji_count", "former_surname_kana", "resident_class")
    JUMINHYO_CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_KANJI_FIELD_NUMBER: _ClassVar[int]
    NAME_GAIJI_COUNT_FIELD_NUMBER: _ClassVar[int]
    NAME_KANA_FIELD_NUMBER: _ClassVar[int]
    NAME_KANA_SEION_FIELD_NUMBER: _ClassVar[int]
    BIRTH_DATE_FIELD_NUMBER: _ClassVar[int]
    SEX_FIELD_NUMBER: _ClassVar[int]
    MUNICIPALITY_CODE_FIELD_NUMBER: _ClassVar[int]
    AZA_CODE_FIELD_NUMBER: _ClassVar[int]
    POSTAL_CODE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_GAIJI_COUNT_FIELD_NUMBER: _ClassVar[int]
    INDIVIDUAL_NUMBER_FIELD_NUMBER: _ClassVar[int]
    RESIDENT_SINCE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_SINCE_FIELD_NUMBER: _ClassVar[int]
    NOTIFIED_ON_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_MUNICIPALITY_CODE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_ADDRESS_GAIJI_COUNT_FIELD_NUMBER: _ClassVar[int]
    RELATIONSHIP_FIELD_NUMBER: _ClassVar[int]
    CHANGE_REASON_FIELD_NUMBER: _ClassVar[int]
    CHANGE_DATE_FIELD_NUMBER: _ClassVar[int]
    CHANGE_REASON_DETAIL_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_JUMINHYO_CODE_FIELD_NUMBER: _ClassVar[int]
    JUMINHYO_CODE_SINCE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    TERMINAL_ID_FIELD_NUMBER: _ClassVar[int]
    UPDATE_SEQ_FIELD_NUMBER: _ClassVar[int]
    RECOVERY_UPDATE_SEQ_FIELD_NUMBER: _ClassVar[int]
    UPDATE_PROHIBITED_FIELD_NUMBER: _ClassVar[int]
    PROSPECTIVE_FIELD_NUMBER: _ClassVar[int]
    LOCKED_FIELD_NUMBER: _ClassVar[int]
    HAS_GAIJI_FIELD_NUMBER: _ClassVar[int]
    RECORD_STATUS_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    FORMER_SURNAME_KANJI_FIELD_NUMBER: _ClassVar[int]
    FORMER_SURNAME_GAIJI_COUNT_FIELD_NUMBER: _ClassVar[int]
    FORMER_SURNAME_KANA_FIELD_NUMBER: _ClassVar[int]
    RESIDENT_CLASS_FIELD_NUMBER: _ClassVar[int]
    juminhyo_code: str
    name_kanji: str
    name_gaiji_count: int
    name_kana: str
    name_kana_seion: str
    birth_date: Date
    sex: Sex
    municipality_code: str
    aza_code: str
    postal_code: str
    address: str
    address_gaiji_count: int
    individual_number: str
    resident_since: Date
    address_since: Date
    notified_on: Date
    previous_municipality_code: str
    previous_address: str
    previous_address_gaiji_count: int
    relationship: Relationship
    change_reason: ChangeReason
    change_date: Date
    change_reason_detail: str
    previous_juminhyo_code: str
    juminhyo_code_since: Date
    request_id: str
    operator_id: str
    terminal_id: str
    update_seq: int
    recovery_update_seq: int
    update_prohibited: bool
    prospective: bool
    locked: bool
    has_gaiji: bool
    record_status: RecordStatus
    timestamp: _timestamp_pb2.Timestamp
    former_surname_kanji: str
    former_surname_gaiji_count: int
    former_surname_kana: str
    resident_class: ResidentClass
    def __init__(self, juminhyo_code: _Optional[str] = ..., name_kanji: _Optional[str] = ..., name_gaiji_count: _Optional[int] = ..., name_kana: _Optional[str] = ..., name_kana_seion: _Optional[str] = ..., birth_date: _Optional[_Union[Date, _Mapping]] = ..., sex: _Optional[_Union[Sex, str]] = ..., municipality_code: _Optional[str] = ..., aza_code: _Optional[str] = ..., postal_code: _Optional[str] = ..., address: _Optional[str] = ..., address_gaiji_count: _Optional[int] = ..., individual_number: _Optional[str] = ..., resident_since: _Optional[_Union[Date, _Mapping]] = ..., address_since: _Optional[_Union[Date, _Mapping]] = ..., notified_on: _Optional[_Union[Date, _Mapping]] = ..., previous_municipality_code: _Optional[str] = ..., previous_address: _Optional[str] = ..., previous_address_gaiji_count: _Optional[int] = ..., relationship: _Optional[_Union[Relationship, str]] = ..., change_reason: _Optional[_Union[ChangeReason, str]] = ..., change_date: _Optional[_Union[Date, _Mapping]] = ..., change_reason_detail: _Optional[str] = ..., previous_juminhyo_code: _Optional[str] = ..., juminhyo_code_since: _Optional[_Union[Date, _Mapping]] = ..., request_id: _Optional[str] = ..., operator_id: _Optional[str] = ..., terminal_id: _Optional[str] = ..., update_seq: _Optional[int] = ..., recovery_update_seq: _Optional[int] = ..., update_prohibited: _Optional[bool] = ..., prospective: _Optional[bool] = ..., locked: _Optional[bool] = ..., has_gaiji: _Optional[bool] = ..., record_status: _Optional[_Union[RecordStatus, str]] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., former_surname_kanji: _Optional[str] = ..., former_surname_gaiji_count: _Optional[int] = ..., former_surname_kana: _Optional[str] = ..., resident_class: _Optional[_Union[ResidentClass, str]] = ...) -> None: ...
