"""Logic checks (論理チェック, seed III(2)-5): one rule per 異動事由 against the stored state.

The seed's two examples are here: a 転入 for a person who is already a current resident is an
error (ALREADY_RESIDENT), and a 転居 that changes anything but the address is an error
(TENKYO_CHANGES_NON_ADDRESS). ``decide`` assumes the command passed the format checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .enums import ChangeReason as R
from .enums import RecordStatus as S
from .gaiji import count_gaiji
from .kana import seion
from .record import ENTRY_FIELDS, IdentityRecord, ResidentEntry, UpdateCommand
from .registry import RegistryView, StoredPerson
from .violations import Violation, violation

# Reasons that create a 住民票 (記載).
CREATING = frozenset({R.TENNYU, R.SHUSSEI, R.SHOKKEN_KISAI, R.KOKUSEKI_SHUTOKU, R.JUSHO_SETTEI})
# Reasons that remove one (消除), and the status each leaves.
REMOVING = {
    R.SHIBO: S.REMOVED_DECEASED,
    R.SHISSO_SENKOKU: S.REMOVED_DECEASED,
    R.SHOKKEN_SHOJO: S.REMOVED_OTHER,
    R.KOKUSEKI_SOSHITSU: S.REMOVED_OTHER,
}
PRESENT = frozenset({S.CURRENT, S.PLANNED_DEPARTURE})
# The states each modifying reason accepts.
ALLOWED_STATES: dict[R, frozenset[S]] = {
    R.TENKYO: frozenset({S.CURRENT}),
    R.TENSHUTSU: frozenset({S.CURRENT}),
    R.TENSHUTSU_TORIKESHI: frozenset({S.PLANNED_DEPARTURE, S.REMOVED_MOVED_OUT}),
    R.SHIBO: PRESENT,
    R.SHISSO_SENKOKU: PRESENT,
    R.SHOKKEN_SHOJO: PRESENT,
    R.KOKUSEKI_SOSHITSU: PRESENT,
    R.KIKA: frozenset({S.CURRENT}),
    R.JUMINHYO_CODE_HENKO: frozenset({S.CURRENT}),
    R.KOJIN_BANGO_HENKO: frozenset({S.CURRENT}),
    # A 転出予定者 is corrected only after 転出取消: the planned date lives in 異動年月日.
    R.SHOKKEN_SHUSEI: frozenset(S) - {S.UNSPECIFIED, S.PLANNED_DEPARTURE},
}

ADDRESS_ITEMS = frozenset({"aza_code", "postal_code", "address", "address_gaiji_count", "address_since"})
NAME_ITEMS = frozenset(
    {
        "name_kanji",
        "name_gaiji_count",
        "name_kana",
        "former_surname_kanji",
        "former_surname_gaiji_count",
        "former_surname_kana",
    }
)
ALWAYS_CHANGEABLE = frozenset({"notified_on"})
NEVER_BY_SHUSEI = frozenset({"juminhyo_code", "previous_juminhyo_code", "individual_number"})
# Which items each modifying reason may change (besides 届出の年月日).
CHANGEABLE: dict[R, frozenset[str]] = {
    R.TENKYO: ADDRESS_ITEMS,
    R.TENSHUTSU: frozenset(),
    R.TENSHUTSU_TORIKESHI: frozenset(),
    R.SHIBO: frozenset(),
    R.SHISSO_SENKOKU: frozenset(),
    R.SHOKKEN_SHOJO: frozenset(),
    R.KOKUSEKI_SOSHITSU: frozenset(),
    R.KIKA: NAME_ITEMS,
    R.JUMINHYO_CODE_HENKO: frozenset({"juminhyo_code", "previous_juminhyo_code", "juminhyo_code_since"}),
    R.KOJIN_BANGO_HENKO: frozenset({"individual_number"}),
    R.SHOKKEN_SHUSEI: frozenset(ENTRY_FIELDS) - NEVER_BY_SHUSEI,
}
assert set(CHANGEABLE) == set(ALLOWED_STATES) and not (CREATING & set(CHANGEABLE))


@dataclass(frozen=True, slots=True)
class Accepted:
    """The record to store (update_seq and timestamp still unset) and what else changes."""

    record: IdentityRecord
    person_key: int | None  # None: a person new to this file
    retire_code: str | None  # the 住民票コード retired by this change, if any


def decide(cmd: UpdateCommand, registry: RegistryView, today: date) -> Accepted | Violation:
    """Apply the rule of cmd's 異動事由 to the stored state; the new record or a violation."""
    stored = registry.find(cmd.subject_code)
    if stored is not None and stored.retired:
        field = "previous_juminhyo_code" if cmd.change_reason is R.JUMINHYO_CODE_HENKO else "juminhyo_code"
        return violation("JUMINHYO_CODE_RETIRED", field)
    refusal = (
        _check_state(cmd, stored, today)
        or _check_changes(cmd, stored)
        or _check_reason_specifics(cmd, registry)
        or _check_individual_number(cmd, stored, registry)
    )
    if refusal is not None:
        return refusal
    status, prospective = _status_after(cmd, stored, today)
    record = build_record(cmd, stored.record if stored else None, status, prospective)
    retire = cmd.subject_code if cmd.change_reason is R.JUMINHYO_CODE_HENKO else None
    return Accepted(record=record, person_key=stored.person_key if stored else None, retire_code=retire)


def _check_state(cmd: UpdateCommand, stored: StoredPerson | None, today: date) -> Violation | None:
    reason = cmd.change_reason
    state = stored.state(today) if stored else None
    if stored is not None and stored.record.update_prohibited:
        clears_flag = reason is R.SHOKKEN_SHUSEI and not cmd.entry.update_prohibited
        if not clears_flag:
            return violation("UPDATE_PROHIBITED", "update_prohibited")
    if reason in CREATING:
        if state in PRESENT:
            return violation("ALREADY_RESIDENT", "juminhyo_code", detail_ja=reason.label_ja)
        if state is S.REMOVED_DECEASED:
            return violation("DECEASED", "change_reason")
        if state is not None and reason is R.SHUSSEI:
            return violation("JUMINHYO_CODE_IN_USE", "juminhyo_code")
        return None
    if state is None:
        field = "previous_juminhyo_code" if reason is R.JUMINHYO_CODE_HENKO else "juminhyo_code"
        return violation("NO_RECORD", field)
    if state is S.REMOVED_DECEASED and reason is not R.SHOKKEN_SHUSEI:
        return violation("DECEASED", "change_reason")
    if state not in ALLOWED_STATES[reason]:
        if reason is R.TENSHUTSU_TORIKESHI:
            code = "NOT_MOVED_OUT"
        elif state is S.PLANNED_DEPARTURE:
            code = "PLANNED_DEPARTURE_PENDING"
        else:
            code = "NOT_CURRENT_RESIDENT"
        return violation(code, "change_reason")
    return None


def _check_changes(cmd: UpdateCommand, stored: StoredPerson | None) -> Violation | None:
    reason = cmd.change_reason
    entry = cmd.entry
    if reason in CREATING:
        if entry.update_prohibited:
            return violation("FLAG_REQUIRES_SHOKKEN_SHUSEI", "update_prohibited")
        return None
    assert stored is not None  # _check_state refused a modification of nobody
    before = stored.record
    changeable = CHANGEABLE[reason] | ALWAYS_CHANGEABLE
    for name in changed_items(entry, before):
        if name in changeable:
            continue
        if name == "update_prohibited":
            return violation("FLAG_REQUIRES_SHOKKEN_SHUSEI", name)
        if reason is R.TENKYO:
            return violation("TENKYO_CHANGES_NON_ADDRESS", name)
        return violation("FIELD_CHANGE_NOT_ALLOWED", name)
    if reason is R.TENKYO and entry.address == before.address:
        return violation("TENKYO_ADDRESS_UNCHANGED", "address")
    if reason is R.KOJIN_BANGO_HENKO and entry.individual_number == before.individual_number:
        return violation("NO_CHANGE", "individual_number")
    if reason is R.JUMINHYO_CODE_HENKO and entry.previous_juminhyo_code != before.juminhyo_code:
        return violation("FIELD_CHANGE_NOT_ALLOWED", "previous_juminhyo_code")
    return None


def changed_items(entry: ResidentEntry, before: IdentityRecord) -> list[str]:
    """The entry items whose value differs from the stored record, in item order.

    An absent 住民票コード使用年月日 means "keep the stored one" (the CS derives it).
    """
    return [
        name
        for name in ENTRY_FIELDS
        if getattr(entry, name) != getattr(before, name)
        and not (name == "juminhyo_code_since" and entry.juminhyo_code_since is None)
    ]


def _check_reason_specifics(cmd: UpdateCommand, registry: RegistryView) -> Violation | None:
    entry = cmd.entry
    if cmd.change_reason is R.SHUSSEI:
        if cmd.change_date != entry.birth_date:
            return violation("BIRTH_DATE_MISMATCH", "change_date")
        if entry.resident_since != entry.birth_date:
            return violation("BIRTH_DATE_MISMATCH", "resident_since")
    if cmd.change_reason is R.JUMINHYO_CODE_HENKO:
        target = registry.find(entry.juminhyo_code)
        if target is not None:
            code = "JUMINHYO_CODE_RETIRED" if target.retired else "JUMINHYO_CODE_IN_USE"
            return violation(code, "juminhyo_code")
    return None


def _check_individual_number(
    cmd: UpdateCommand, stored: StoredPerson | None, registry: RegistryView
) -> Violation | None:
    """A 個人番号 belongs to one person (one 住民票コード) only, and is never reassigned."""
    holder = registry.individual_number_holder(cmd.entry.individual_number)
    if holder is not None and (stored is None or holder != stored.person_key):
        return violation("INDIVIDUAL_NUMBER_IN_USE", "individual_number")
    return None


def _status_after(cmd: UpdateCommand, stored: StoredPerson | None, today: date) -> tuple[S, bool]:
    reason = cmd.change_reason
    if reason in CREATING or reason is R.TENSHUTSU_TORIKESHI:
        return S.CURRENT, False
    if reason is R.TENSHUTSU:
        assert cmd.change_date is not None
        planned = cmd.change_date > today
        return (S.PLANNED_DEPARTURE if planned else S.REMOVED_MOVED_OUT), planned
    if reason in REMOVING:
        return REMOVING[reason], False
    assert stored is not None
    status = stored.state(today)
    return status, status is S.PLANNED_DEPARTURE


def build_record(cmd: UpdateCommand, before: IdentityRecord | None, status: S, prospective: bool) -> IdentityRecord:
    """The new version: the entry's items plus the items the CS derives itself."""
    e = cmd.entry
    assert e.birth_date and e.resident_since and e.address_since and e.notified_on and cmd.change_date
    code_since = e.juminhyo_code_since
    if code_since is None:
        code_since = before.juminhyo_code_since if before and cmd.change_reason is not R.JUMINHYO_CODE_HENKO else None
    if code_since is None:
        code_since = cmd.change_date
    texts = (e.name_kanji, e.address, e.previous_address, e.former_surname_kanji)
    return IdentityRecord(
        juminhyo_code=e.juminhyo_code,
        name_kanji=e.name_kanji,
        name_gaiji_count=e.name_gaiji_count,
        name_kana=e.name_kana,
        name_kana_seion=seion(e.name_kana),
        birth_date=e.birth_date,
        sex=e.sex,
        municipality_code=e.municipality_code,
        aza_code=e.aza_code,
        postal_code=e.postal_code,
        address=e.address,
        address_gaiji_count=e.address_gaiji_count,
        individual_number=e.individual_number,
        resident_since=e.resident_since,
        address_since=e.address_since,
        notified_on=e.notified_on,
        previous_municipality_code=e.previous_municipality_code,
        previous_address=e.previous_address,
        previous_address_gaiji_count=e.previous_address_gaiji_count,
        relationship=e.relationship,
        change_reason=cmd.change_reason,
        change_date=cmd.change_date,
        change_reason_detail=cmd.change_reason_detail,
        previous_juminhyo_code=e.previous_juminhyo_code,
        juminhyo_code_since=code_since,
        request_id=cmd.request_id,
        operator_id=cmd.operator_id,
        terminal_id=cmd.terminal_id,
        update_seq=0,
        recovery_update_seq=0,
        update_prohibited=e.update_prohibited,
        prospective=prospective,
        locked=False,
        has_gaiji=any(count_gaiji(t) for t in texts),
        record_status=status,
        timestamp=None,
        former_surname_kanji=e.former_surname_kanji,
        former_surname_gaiji_count=e.former_surname_gaiji_count,
        former_surname_kana=e.former_surname_kana,
    )
