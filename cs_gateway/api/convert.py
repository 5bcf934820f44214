"""Proto <-> domain translation. A malformed wire value (unknown enum number, impossible date)
becomes a domain Violation here, before any rule runs."""

from __future__ import annotations

import operator
from datetime import date, datetime

from ..domain.enums import ChangeReason, Relationship, ResidentClass, Sex
from ..domain.parsing import parse_date, parse_enum
from ..domain.record import RECORD_FIELDS, IdentityRecord, ResidentEntry, UpdateCommand
from ..domain.record_codec import DATE_ITEMS, StoredVersion
from ..domain.violations import Violation
from ..gen.jukinet.cs.v1 import identity_pb2 as pb
from ..gen.jukinet.cs.v1 import update_service_pb2 as upb

_ENTRY_DATES = ("birth_date", "resident_since", "address_since", "notified_on", "juminhyo_code_since")
_ENTRY_PLAIN = (
    "juminhyo_code",
    "name_kanji",
    "name_gaiji_count",
    "name_kana",
    "municipality_code",
    "aza_code",
    "postal_code",
    "address",
    "address_gaiji_count",
    "individual_number",
    "previous_municipality_code",
    "previous_address",
    "previous_address_gaiji_count",
    "previous_juminhyo_code",
    "update_prohibited",
    "former_surname_kanji",
    "former_surname_gaiji_count",
    "former_surname_kana",
)


class _RefusedError(Exception):
    def __init__(self, violation: Violation) -> None:
        self.violation = violation


def _date(message: pb.Date, has: bool, field: str) -> date | None:
    if not has:
        return None
    parsed = parse_date(message.year, message.month, message.day, field)
    if isinstance(parsed, Violation):
        raise _RefusedError(parsed)
    return parsed


def _enum(cls: type, value: int, field: str):  # type: ignore[no-untyped-def]
    parsed = parse_enum(cls, value, field)
    if isinstance(parsed, Violation):
        raise _RefusedError(parsed)
    return parsed


def update_from_proto(request: upb.UpdateRequest) -> UpdateCommand | Violation:
    """The domain command for a wire request, or the violation of its first malformed value."""
    try:
        e = request.entry
        values: dict[str, object] = {name: getattr(e, name) for name in _ENTRY_PLAIN}
        for name in _ENTRY_DATES:
            values[name] = _date(getattr(e, name), e.HasField(name), name)
        values["sex"] = _enum(Sex, e.sex, "sex")
        values["relationship"] = _enum(Relationship, e.relationship, "relationship")
        values["resident_class"] = _enum(ResidentClass, e.resident_class, "resident_class")
        entry = ResidentEntry(**values)  # type: ignore[arg-type]
        return UpdateCommand(
            request_id=request.request_id,
            change_reason=_enum(ChangeReason, request.change_reason, "change_reason"),
            change_date=_date(request.change_date, request.HasField("change_date"), "change_date"),
            change_reason_detail=request.change_reason_detail,
            operator_id=request.operator_id,
            terminal_id=request.terminal_id,
            entry=entry,
        )
    except _RefusedError as refused:
        return refused.violation


def date_to_proto(value: date) -> pb.Date:
    return pb.Date(year=value.year, month=value.month, day=value.day)


def record_to_proto(r: IdentityRecord) -> pb.IdentityRecord:
    out = pb.IdentityRecord(
        juminhyo_code=r.juminhyo_code,
        name_kanji=r.name_kanji,
        name_gaiji_count=r.name_gaiji_count,
        name_kana=r.name_kana,
        name_kana_seion=r.name_kana_seion,
        birth_date=date_to_proto(r.birth_date),
        sex=int(r.sex),
        municipality_code=r.municipality_code,
        aza_code=r.aza_code,
        postal_code=r.postal_code,
        address=r.address,
        address_gaiji_count=r.address_gaiji_count,
        individual_number=r.individual_number,
        resident_since=date_to_proto(r.resident_since),
        address_since=date_to_proto(r.address_since),
        notified_on=date_to_proto(r.notified_on),
        previous_municipality_code=r.previous_municipality_code,
        previous_address=r.previous_address,
        previous_address_gaiji_count=r.previous_address_gaiji_count,
        relationship=int(r.relationship),
        change_reason=int(r.change_reason),
        change_date=date_to_proto(r.change_date),
        change_reason_detail=r.change_reason_detail,
        previous_juminhyo_code=r.previous_juminhyo_code,
        request_id=r.request_id,
        operator_id=r.operator_id,
        terminal_id=r.terminal_id,
        update_seq=r.update_seq,
        recovery_update_seq=r.recovery_update_seq,
        update_prohibited=r.update_prohibited,
        prospective=r.prospective,
        locked=r.locked,
        has_gaiji=r.has_gaiji,
        record_status=int(r.record_status),
        former_surname_kanji=r.former_surname_kanji,
        former_surname_gaiji_count=r.former_surname_gaiji_count,
        former_surname_kana=r.former_surname_kana,
        resident_class=int(r.resident_class),
    )
    if r.juminhyo_code_since is not None:
        out.juminhyo_code_since.CopyFrom(date_to_proto(r.juminhyo_code_since))
    if r.timestamp is not None:
        out.timestamp.FromDatetime(r.timestamp)
    return out


_STORED_OPTIONAL = ("juminhyo_code_since", "timestamp")
_STORED_DATES = tuple(name for name in RECORD_FIELDS if name in DATE_ITEMS and name not in _STORED_OPTIONAL)
# Items copied as they are stored (ints for the enums, as record_to_dict stores them).
_STORED_PLAIN = tuple(name for name in RECORD_FIELDS if name not in _STORED_DATES + _STORED_OPTIONAL)
_plain_items = operator.itemgetter(*_STORED_PLAIN)


def _set_stored_date(message: pb.Date, text: str) -> None:
    """A stored ISO date (YYYY-MM-DD, date.isoformat's form) into the wire's Date, in place."""
    message.year, message.month, message.day = int(text[:4]), int(text[5:7]), int(text[8:10])


def stored_to_proto(version: StoredVersion) -> pb.IdentityRecord:
    """record_to_proto(record_from_dict(version.data)), made from the stored items without the IdentityRecord
    (the counter's reads encode every record they show: a test checks that the bytes are equal)."""
    items = version.items()
    out = pb.IdentityRecord(**dict(zip(_STORED_PLAIN, _plain_items(items), strict=True)))
    for name in _STORED_DATES:
        _set_stored_date(getattr(out, name), items[name])
    since = items["juminhyo_code_since"]
    if since:
        _set_stored_date(out.juminhyo_code_since, since)
    stamp = items["timestamp"]
    if stamp:
        out.timestamp.FromDatetime(datetime.fromisoformat(stamp))
    return out


def refusal_to_proto(v: Violation) -> upb.Refusal:
    return upb.Refusal(
        reason=v.code, field=v.field, message_ja=v.message_ja, message_en=v.message_en, position=v.position
    )
