"""One line of an 初期移行 file (the 既存住基システム's 本人確認情報 at the CS's commissioning), as
the domain command an update would carry: the same items, read from JSON instead of protobuf.

A line is a JSON object shaped like an UpdateRequest: ``request_id``, ``change_reason`` (the
enum's number, the 記載 of the person: 転入, 出生, 職権記載, ...), ``change_date`` (ISO date),
``change_reason_detail``, ``operator_id``, ``terminal_id`` and ``entry`` with the ResidentEntry
items (dates as ISO ``YYYY-MM-DD``, enums as their numbers, 外字数 as integers). An item that is
absent takes the same value as an unset proto field (empty, 0, no date). Anything else (an
unknown key, a value of the wrong type, a date that is not a date, an unknown enum number) is a
Violation naming the item, before any format check runs; then the update's own format checks
(format_checks.check_command) and logic checks apply unchanged.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from .enums import ChangeReason, Relationship, ResidentClass, Sex
from .parsing import parse_enum
from .record import ResidentEntry, UpdateCommand
from .violations import Violation, violation

_TEXT = (
    "juminhyo_code",
    "name_kanji",
    "name_kana",
    "municipality_code",
    "aza_code",
    "postal_code",
    "address",
    "individual_number",
    "previous_municipality_code",
    "previous_address",
    "previous_juminhyo_code",
    "former_surname_kanji",
    "former_surname_kana",
)
_COUNTS = ("name_gaiji_count", "address_gaiji_count", "previous_address_gaiji_count", "former_surname_gaiji_count")
_DATES = ("birth_date", "resident_since", "address_since", "notified_on", "juminhyo_code_since")
_ENUMS: dict[str, type] = {"sex": Sex, "relationship": Relationship, "resident_class": ResidentClass}
ENTRY_KEYS = frozenset((*_TEXT, *_COUNTS, *_DATES, *_ENUMS, "update_prohibited"))
COMMAND_KEYS = frozenset(
    {"request_id", "change_reason", "change_date", "change_reason_detail", "operator_id", "terminal_id", "entry"}
)


class _RefusedError(Exception):
    def __init__(self, found: Violation) -> None:
        self.found = found


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name, "")
    if not isinstance(value, str):
        raise _RefusedError(violation("INVALID_TEXT", name))
    return value


def _count(data: dict[str, Any], name: str) -> int:
    value = data.get(name, 0)
    if type(value) is not int:  # noqa: E721 (a bool is not a count)
        raise _RefusedError(violation("INVALID_TEXT", name))
    return value


def _date(data: dict[str, Any], name: str) -> date | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) != 10:
        raise _RefusedError(violation("INVALID_DATE", name))
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _RefusedError(violation("INVALID_DATE", name)) from None


def _enum(data: dict[str, Any], name: str, cls: type) -> Any:
    value = data.get(name, 0)
    if type(value) is not int:  # noqa: E721
        raise _RefusedError(violation("INVALID_ENUM", name))
    parsed = parse_enum(cls, value, name)
    if isinstance(parsed, Violation):
        raise _RefusedError(parsed)
    return parsed


def command_from_line(data: object) -> UpdateCommand | Violation:
    """The update command of one parsed line, or the violation of its first malformed item."""
    if not isinstance(data, dict):
        return violation("MALFORMED_REQUEST", "line")
    entry = data.get("entry")
    if not isinstance(entry, dict):
        return violation("MISSING_FIELD", "entry")
    unknown = sorted(set(data) - COMMAND_KEYS) or sorted(set(entry) - ENTRY_KEYS)
    if unknown:
        return violation("MALFORMED_REQUEST", unknown[0])
    try:
        values: dict[str, Any] = {name: entry.get(name, "") for name in _TEXT}
        if not all(type(v) is str for v in values.values()):  # one pass; the item named if not
            values = {name: _text(entry, name) for name in _TEXT}
        counts = {name: entry.get(name, 0) for name in _COUNTS}
        if not all(type(v) is int for v in counts.values()):
            counts = {name: _count(entry, name) for name in _COUNTS}
        values.update(counts)
        values.update((name, _date(entry, name)) for name in _DATES)
        # as update_from_proto: 0 (unspecified) or an unknown number is refused
        values["sex"] = _enum(entry, "sex", Sex)
        values["relationship"] = _enum(entry, "relationship", Relationship)
        values["resident_class"] = _enum(entry, "resident_class", ResidentClass)
        prohibited = entry.get("update_prohibited", False)
        if not isinstance(prohibited, bool):
            raise _RefusedError(violation("INVALID_TEXT", "update_prohibited"))
        values["update_prohibited"] = prohibited
        return UpdateCommand(
            request_id=_text(data, "request_id"),
            change_reason=_enum(data, "change_reason", ChangeReason),
            change_date=_date(data, "change_date"),
            change_reason_detail=_text(data, "change_reason_detail"),
            operator_id=_text(data, "operator_id"),
            terminal_id=_text(data, "terminal_id"),
            entry=ResidentEntry(**values),
        )
    except _RefusedError as refused:
        return refused.found


def line_from_command(cmd: UpdateCommand) -> dict[str, Any]:
    """The line of a command (the inverse of command_from_line: what a 既存住基 export writes)."""
    e = cmd.entry
    entry: dict[str, Any] = {name: getattr(e, name) for name in (*_TEXT, *_COUNTS)}
    for name in _DATES:
        value = getattr(e, name)
        if value is not None:
            entry[name] = value.isoformat()
    entry.update((name, int(getattr(e, name))) for name in _ENUMS)
    entry["update_prohibited"] = e.update_prohibited
    line: dict[str, Any] = {
        "request_id": cmd.request_id,
        "change_reason": int(cmd.change_reason),
        "change_reason_detail": cmd.change_reason_detail,
        "operator_id": cmd.operator_id,
        "terminal_id": cmd.terminal_id,
        "entry": entry,
    }
    if cmd.change_date is not None:
        line["change_date"] = cmd.change_date.isoformat()
    return line
