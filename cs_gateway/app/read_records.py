"""Use cases: read a person's current record or full history (for reconciliation)."""

from __future__ import annotations

from ..domain.check_digit import is_valid_juminhyo_code
from ..domain.record import IdentityRecord
from ..domain.violations import Violation, violation
from ..store.interface import UpdateStore


def get_record(store: UpdateStore, juminhyo_code: str) -> IdentityRecord | Violation:
    if not is_valid_juminhyo_code(juminhyo_code):
        return violation("INVALID_JUMINHYO_CODE", "juminhyo_code")
    person = store.find(juminhyo_code)
    if person is None:
        return violation("NO_RECORD", "juminhyo_code")
    if person.retired:
        return violation("JUMINHYO_CODE_RETIRED", "juminhyo_code")
    return person.record


def get_history(store: UpdateStore, juminhyo_code: str) -> list[IdentityRecord] | Violation:
    if not is_valid_juminhyo_code(juminhyo_code):
        return violation("INVALID_JUMINHYO_CODE", "juminhyo_code")
    versions = store.history(juminhyo_code)
    if not versions:
        return violation("NO_RECORD", "juminhyo_code")
    return versions
