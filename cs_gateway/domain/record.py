"""The record of the 本人確認情報ファイル and the update command that changes it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from datetime import date, datetime

from .enums import ChangeReason, RecordStatus, Relationship, ResidentClass, Sex


@dataclass(frozen=True, slots=True)
class ResidentEntry:
    """The caller-supplied items of one person (the 既存住基システム sends these)."""

    juminhyo_code: str
    name_kanji: str
    name_gaiji_count: int
    name_kana: str
    birth_date: date | None
    sex: Sex
    municipality_code: str
    aza_code: str
    postal_code: str
    address: str
    address_gaiji_count: int
    individual_number: str
    resident_since: date | None
    address_since: date | None
    notified_on: date | None
    previous_municipality_code: str = ""
    previous_address: str = ""
    previous_address_gaiji_count: int = 0
    relationship: Relationship = Relationship.UNSPECIFIED
    previous_juminhyo_code: str = ""
    juminhyo_code_since: date | None = None
    update_prohibited: bool = False
    former_surname_kanji: str = ""
    former_surname_gaiji_count: int = 0
    former_surname_kana: str = ""
    # Beyond the 39: 住民の区分 (30条の45), carried by the 既存住基 (送付先情報 item 51).
    resident_class: ResidentClass = ResidentClass.JAPANESE


ENTRY_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(ResidentEntry))


@dataclass(frozen=True, slots=True)
class UpdateCommand:
    """One change to one person: 依頼管理番号, 異動事由, 異動年月日 and the items after it."""

    request_id: str
    change_reason: ChangeReason
    change_date: date | None
    change_reason_detail: str
    operator_id: str
    terminal_id: str
    entry: ResidentEntry

    @property
    def subject_code(self) -> str:
        """The 住民票コード of the stored person this command concerns.

        For 住民票コード変更 that is the old code (旧住民票コード); otherwise the entry's code.
        """
        if self.change_reason is ChangeReason.JUMINHYO_CODE_HENKO:
            return self.entry.previous_juminhyo_code
        return self.entry.juminhyo_code

    def fingerprint(self) -> str:
        """A stable digest of the whole command, to compare requests with the same id.

        Every item in a fixed order, each length-prefixed (so no value can imitate another's
        boundary); dates as ISO strings, enums as numbers. Runs on every update: kept flat.
        """
        entry = self.entry
        values = [self.request_id, self.change_reason, self.change_date, self.change_reason_detail]
        values += [self.operator_id, self.terminal_id]
        values += [getattr(entry, name) for name in ENTRY_FIELDS]
        text = "".join(f"{len(v)}:{v}" for v in map(_canonical, values))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class IdentityRecord:
    """All 39 items of one person's 本人確認情報 (seed 別添1 (2)), and the 区分 beyond them."""

    juminhyo_code: str  # 1
    name_kanji: str  # 2
    name_gaiji_count: int  # 3
    name_kana: str  # 4
    name_kana_seion: str  # 5 (derived)
    birth_date: date  # 6
    sex: Sex  # 7
    municipality_code: str  # 8
    aza_code: str  # 9
    postal_code: str  # 10
    address: str  # 11
    address_gaiji_count: int  # 12
    individual_number: str  # 13
    resident_since: date  # 14
    address_since: date  # 15
    notified_on: date  # 16
    previous_municipality_code: str  # 17
    previous_address: str  # 18
    previous_address_gaiji_count: int  # 19
    relationship: Relationship  # 20
    change_reason: ChangeReason  # 21
    change_date: date  # 22
    change_reason_detail: str  # 23
    previous_juminhyo_code: str  # 24
    juminhyo_code_since: date | None  # 25
    request_id: str  # 26
    operator_id: str  # 27
    terminal_id: str  # 28
    update_seq: int  # 29 (assigned by the store)
    recovery_update_seq: int  # 30
    update_prohibited: bool  # 31
    prospective: bool  # 32
    locked: bool  # 33
    has_gaiji: bool  # 34 (derived)
    record_status: RecordStatus  # 35
    timestamp: datetime | None  # 36 (assigned by the store)
    former_surname_kanji: str  # 37
    former_surname_gaiji_count: int  # 38
    former_surname_kana: str  # 39
    # Beyond the 39 (the CS keeps it; the 既存住基 sends it, 送付先情報 item 51): 住基法30条の45.
    resident_class: ResidentClass = ResidentClass.JAPANESE

    def with_stored(self, update_seq: int, timestamp: datetime) -> IdentityRecord:
        """This version with the store's 更新順番号 and タイムスタンプ (positional: hot path)."""
        values = [getattr(self, name) for name in RECORD_FIELDS]
        values[_SEQ_INDEX] = update_seq
        values[_TIMESTAMP_INDEX] = timestamp
        return IdentityRecord(*values)


RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(IdentityRecord))
assert len(RECORD_FIELDS) == 40  # the 39 items of 別添1 (2) and the 区分
_SEQ_INDEX = RECORD_FIELDS.index("update_seq")
_TIMESTAMP_INDEX = RECORD_FIELDS.index("timestamp")


def _canonical(value: object) -> str:
    if value is None:
        return "~"
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, int):  # IntEnum included: its number
        return str(int(value))
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
