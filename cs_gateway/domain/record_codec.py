"""IdentityRecord <-> JSON-friendly dict, the stored form of a record version."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .enums import ChangeReason, RecordStatus, Relationship, ResidentClass, Sex
from .masking import mask_identifier
from .record import RECORD_FIELDS, IdentityRecord

# Stored as date.isoformat() text (juminhyo_code_since may be None).
DATE_ITEMS = frozenset(
    {"birth_date", "resident_since", "address_since", "notified_on", "change_date", "juminhyo_code_since"}
)
_ENUMS: dict[str, Any] = {
    "sex": Sex,
    "relationship": Relationship,
    "change_reason": ChangeReason,
    "record_status": RecordStatus,
    "resident_class": ResidentClass,
}
# Items added after versions were already stored, and what such a version reads as.
# resident_class: the store kept no 区分 before; every stored person reads as 日本人住民 (the
# 既存住基 corrects a 外国人住民 among them by 職権修正, the one reason that may change it).
_DEFAULTS: dict[str, Any] = {"resident_class": int(ResidentClass.JAPANESE)}


def record_to_dict(record: IdentityRecord) -> dict[str, Any]:
    out: dict[str, Any] = {name: getattr(record, name) for name in RECORD_FIELDS}
    for name in DATE_ITEMS:
        value = out[name]
        if value is not None:
            out[name] = value.isoformat()
    if out["timestamp"] is not None:
        out["timestamp"] = out["timestamp"].isoformat()
    for name in _ENUMS:
        out[name] = int(out[name])
    return out


def complete(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """Every item of a stored version: one stored before an item existed gets its default."""
    return data if len(data) == len(RECORD_FIELDS) else {**_DEFAULTS, **data}


def record_from_dict(data: Mapping[str, Any]) -> IdentityRecord:
    """The record of a stored version; a version stored before an item existed gets its default."""
    data = complete(data)
    values: dict[str, Any] = {}
    for name in RECORD_FIELDS:
        value = data[name]
        if name in DATE_ITEMS:
            value = date.fromisoformat(value) if value else None
        elif name == "timestamp":
            value = datetime.fromisoformat(value) if value else None
        elif name in _ENUMS:
            value = _ENUMS[name](value)
        values[name] = value
    return IdentityRecord(**values)


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """A version as it is stored (record_to_dict's form, the 個人番号 opened), for the reads that
    only show it (the counter's Lookup and Search): the few items their audit entry names are read
    from it directly, and the reply is encoded from it (api/convert.stored_to_proto) without
    building the IdentityRecord (record_from_dict(data) builds it, where a rule needs one)."""

    data: Mapping[str, Any] = field(repr=False)  # the 個人番号 in clear: never in a log line
    retired: bool = False  # looked up by a code retired by 住民票コード変更

    def __repr__(self) -> str:  # a log line or a traceback never shows the code in full
        return f"StoredVersion(juminhyo_code={mask_identifier(self.juminhyo_code)!r}, retired={self.retired})"

    @property
    def juminhyo_code(self) -> str:
        return str(self.data["juminhyo_code"])

    @property
    def individual_number(self) -> str:
        return str(self.data["individual_number"])

    @property
    def update_seq(self) -> int:
        return int(self.data["update_seq"])

    def items(self) -> Mapping[str, Any]:
        """Every item as stored; an item added after this version was stored reads as its default."""
        return complete(self.data)
