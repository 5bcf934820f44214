"""Turning raw wire values into domain values; a malformed value becomes a Violation."""

from __future__ import annotations

from datetime import date
from enum import IntEnum
from typing import TypeVar

from .violations import Violation, violation

E = TypeVar("E", bound=IntEnum)


def parse_date(year: int, month: int, day: int, field: str) -> date | None | Violation:
    """(0, 0, 0) is an absent date; anything else must be a real calendar date."""
    if year == 0 and month == 0 and day == 0:
        return None
    try:
        return date(year, month, day)
    except (ValueError, OverflowError):
        return violation("INVALID_DATE", field)


def parse_enum(cls: type[E], value: int, field: str) -> E | Violation:
    """A known, specified member of cls; 0 (UNSPECIFIED) or an unknown number is refused."""
    try:
        member = cls(value)
    except ValueError:
        return violation("INVALID_ENUM", field)
    if member == 0:
        return violation("INVALID_ENUM", field)
    return member
