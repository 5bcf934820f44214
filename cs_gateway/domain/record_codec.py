"""IdentityRecord <-> JSON-friendly dict, the stored form of a record version."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from .enums import ChangeReason, RecordStatus, Relationship, ResidentClass, Sex
from .record import RECORD_FIELDS, IdentityRecord

_DATES = {"birth_date", "resident_since", "address_since", "notified_on", "change_date", "juminhyo_code_since"}
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
    for name in _DATES:
        value = out[name]
        if value is not None:
            out[name] = value.isoformat()
    if out["timestamp"] is not None:
        out["timestamp"] = out["timestamp"].isoformat()
    for name in _ENUMS:
        out[name] = int(out[name])
    return out


def record_from_dict(data: dict[str, Any]) -> IdentityRecord:
    """The record of a stored version; a version stored before an item existed gets its default."""
    if len(data) != len(RECORD_FIELDS):
        data = {**_DEFAULTS, **data}
    values: dict[str, Any] = {}
    for name in RECORD_FIELDS:
        value = data[name]
        if name in _DATES:
            value = date.fromisoformat(value) if value else None
        elif name == "timestamp":
            value = datetime.fromisoformat(value) if value else None
        elif name in _ENUMS:
            value = _ENUMS[name](value)
        values[name] = value
    return IdentityRecord(**values)
