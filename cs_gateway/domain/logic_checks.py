"""Logic checks (論理チェック, seed III(2)-5): one rule per 異動事由 against the stored state.

The seed's two examples are here: a 転入 for a person who is already a current resident is an
error (ALREADY_RESIDENT), and a 転居 that changes anything but the address is an error
(TENKYO_CHANGES_NON_ADDRESS). ``decide`` assumes the command passed the format checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .enums import ChangeReason as R
from .enums import RecordStatus as S
from .enums import ResidentClass as C
from .kana import seion
from .record import ENTRY_FIELDS, IdentityRecord, ResidentEntry, UpdateCommand
from .registry import RegistryView, StoredPerson
from .rules_config import DEFAULT_RULES, RulesConfig
from .violations import Violation, violation

# Reasons that create a 住民票 (記載). 国籍取得 creates one only for a person with no present
# record; for a present 外国人住民 it changes the 区分 (CLASS_CHANGES).
CREATING = frozenset(
    {R.TENNYU, R.SHUSSEI, R.SHOKKEN_KISAI, R.KOKUSEKI_SHUTOKU, R.JUSHO_SETTEI, R.ZAIRYU_SHIKAKU_SHUTOKU}
)
# Reasons that remove one (消除), and the status each leaves. 国籍喪失 is not one: under 住基法
# 30条の45 the person stays as a 外国人住民 (国籍喪失による経過滞在者).
REMOVING = {
    R.SHIBO: S.REMOVED_DECEASED,
    R.SHISSO_SENKOKU: S.REMOVED_DECEASED,
    R.SHOKKEN_SHOJO: S.REMOVED_OTHER,
}
# Reasons that turn a present person of one 区分 into the other: (from, to).
CLASS_CHANGES: dict[R, tuple[C, C]] = {
    R.KOKUSEKI_SHUTOKU: (C.FOREIGN, C.JAPANESE),  # 国籍法3条・17条
    R.KIKA: (C.FOREIGN, C.JAPANESE),  # 国籍法4条
    R.KOKUSEKI_SOSHITSU: (C.JAPANESE, C.FOREIGN),  # 国籍法11条ほか; 住基法30条の45
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
    R.KOKUSEKI_SOSHITSU: frozenset({S.CURRENT}),
    R.KIKA: frozenset({S.CURRENT}),
    R.JUMINHYO_CODE_HENKO: frozenset({S.CURRENT}),
    R.KOJIN_BANGO_HENKO: frozenset({S.CURRENT}),
    R.SETAI_HENKO: frozenset({S.CURRENT}),
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
    R.KOKUSEKI_SOSHITSU: NAME_ITEMS | {"resident_class"},
    R.KIKA: NAME_ITEMS | {"resident_class"},
    R.JUMINHYO_CODE_HENKO: frozenset({"juminhyo_code", "previous_juminhyo_code", "juminhyo_code_since"}),
    R.KOJIN_BANGO_HENKO: frozenset({"individual_number"}),
    R.SETAI_HENKO: frozenset({"relationship"}),  # 住基法25条: 世帯主・続柄
    R.SHOKKEN_SHUSEI: frozenset(ENTRY_FIELDS) - NEVER_BY_SHUSEI,
}
# 国籍取得 of a present 外国人住民 changes what 帰化 changes.
CHANGEABLE_BY_KOKUSEKI_SHUTOKU = CHANGEABLE[R.KIKA]
assert set(CHANGEABLE) == set(ALLOWED_STATES) and not (CREATING & set(CHANGEABLE))


@dataclass(frozen=True, slots=True)
class Accepted:
    """The record to store (update_seq and timestamp still unset) and what else changes."""

    record: IdentityRecord
    person_key: int | None  # None: a person new to this file
    retire_code: str | None  # the 住民票コード retired by this change, if any


def decide(
    cmd: UpdateCommand, registry: RegistryView, today: date, rules: RulesConfig = DEFAULT_RULES
) -> Accepted | Violation:
    """Apply the rule of cmd's 異動事由 to the stored state; the new record or a violation."""
    stored = registry.find(cmd.subject_code)
    if stored is not None and stored.retired:
        field = "previous_juminhyo_code" if cmd.change_reason is R.JUMINHYO_CODE_HENKO else "juminhyo_code"
        return violation("JUMINHYO_CODE_RETIRED", field)
    state = stored.state(today) if stored else None
    modifies = is_modification(cmd.change_reason, state)
    holder = registry.individual_number_holder(cmd.entry.individual_number)  # one query, used twice
    if stored is None and holder is not None and cmd.change_reason is R.TENNYU:
        stored = _former_resident_by_number(cmd, holder, registry)
        state = stored.state(today) if stored else None
    refusal = (
        _check_state(cmd, stored, state, modifies, today, rules)
        or _check_changes(cmd, stored, modifies)
        or _check_reason_specifics(cmd, stored, registry, rules)
        or _check_individual_number(stored, holder)
        or _check_code_since(cmd, stored)
    )
    if refusal is not None:
        return refusal
    status, prospective = _status_after(cmd, state, modifies, today)
    record = build_record(cmd, stored.record if stored else None, status, prospective)
    retire = None
    if cmd.change_reason is R.JUMINHYO_CODE_HENKO:
        retire = cmd.subject_code
    elif stored is not None and stored.record.juminhyo_code != record.juminhyo_code:
        retire = stored.record.juminhyo_code  # matched by 個人番号: the code changed elsewhere
    return Accepted(record=record, person_key=stored.person_key if stored else None, retire_code=retire)


def is_modification(reason: R, state: S | None) -> bool:
    """Whether reason changes a stored record (rather than creating a 住民票)."""
    if reason is R.KOKUSEKI_SHUTOKU:
        return state in PRESENT
    return reason not in CREATING


def _former_resident_by_number(cmd: UpdateCommand, holder: int, registry: RegistryView) -> StoredPerson | None:
    """A 転入 of a former resident whose 住民票コード was changed elsewhere (住基法30条の4) while
    they lived there: a code unknown here, but the 個人番号 of a person of this file. The 個人番号
    follows the person for life (番号法7条1項; changed only by 7条2項), so it is that person,
    under the new code; the rules of 転入 then decide (a present person is ALREADY_RESIDENT)."""
    found = registry.person(holder)
    if found is None or found.record.individual_number != cmd.entry.individual_number:
        return None  # a number changed away (個人番号変更) is never matched: INDIVIDUAL_NUMBER_IN_USE
    if found.record.record_status not in (S.REMOVED_MOVED_OUT, S.REMOVED_OTHER):
        return None  # present here (its code cannot have changed elsewhere) or deceased: IN_USE
    return found


def _check_state(
    cmd: UpdateCommand, stored: StoredPerson | None, state: S | None, modifies: bool, today: date, rules: RulesConfig
) -> Violation | None:
    reason = cmd.change_reason
    if stored is not None and stored.record.update_prohibited:
        clears_flag = reason is R.SHOKKEN_SHUSEI and not cmd.entry.update_prohibited
        if not clears_flag:
            return violation("UPDATE_PROHIBITED", "update_prohibited")
    if not modifies:
        if state in PRESENT:
            return violation("ALREADY_RESIDENT", "juminhyo_code", detail_ja=reason.label_ja)
        if state is S.REMOVED_DECEASED and reason is not R.SHOKKEN_KISAI:
            # 職権記載 restores a record removed by 死亡 or 失踪宣告 that is void (民法32条1項:
            # the 宣告 revoked; or the 死亡 recorded in error): 住基法施行令12条3項.
            return violation("DECEASED", "change_reason")
        if state is not None and reason is R.SHUSSEI:
            return violation("JUMINHYO_CODE_IN_USE", "juminhyo_code")
        return None
    if state is None:
        field = "previous_juminhyo_code" if reason is R.JUMINHYO_CODE_HENKO else "juminhyo_code"
        return violation("NO_RECORD", field)
    assert stored is not None
    if state is S.REMOVED_DECEASED and reason is not R.SHOKKEN_SHUSEI:
        return violation("DECEASED", "change_reason")
    allowed = ALLOWED_STATES.get(reason, frozenset({S.CURRENT}))
    if state not in allowed:
        if reason is R.TENSHUTSU_TORIKESHI:
            code = "NOT_MOVED_OUT"
        elif state is S.PLANNED_DEPARTURE:
            code = "PLANNED_DEPARTURE_PENDING"
        else:
            code = "NOT_CURRENT_RESIDENT"
        return violation(code, "change_reason")
    if reason in CLASS_CHANGES and stored.record.resident_class is not CLASS_CHANGES[reason][0]:
        code = "ALREADY_JAPANESE" if CLASS_CHANGES[reason][1] is C.JAPANESE else "NOT_JAPANESE"
        return violation(code, "resident_class")
    if reason is R.TENSHUTSU_TORIKESHI:
        deadline = stored.record.change_date + timedelta(days=rules.tenshutsu_torikeshi_days)
        if today > deadline:
            return violation("TENSHUTSU_TORIKESHI_TOO_LATE", "change_reason")
    return None


def _check_changes(cmd: UpdateCommand, stored: StoredPerson | None, modifies: bool) -> Violation | None:
    reason = cmd.change_reason
    entry = cmd.entry
    if not modifies:
        if entry.update_prohibited:
            return violation("FLAG_REQUIRES_SHOKKEN_SHUSEI", "update_prohibited")
        return None
    assert stored is not None  # _check_state refused a modification of nobody
    before = stored.record
    changeable = CHANGEABLE_BY_KOKUSEKI_SHUTOKU if reason is R.KOKUSEKI_SHUTOKU else CHANGEABLE[reason]
    changeable = changeable | ALWAYS_CHANGEABLE
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
    if reason is R.SETAI_HENKO and entry.relationship == before.relationship:
        return violation("NO_CHANGE", "relationship")
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


def _check_reason_specifics(
    cmd: UpdateCommand, stored: StoredPerson | None, registry: RegistryView, rules: RulesConfig
) -> Violation | None:
    entry = cmd.entry
    reason = cmd.change_reason
    before = stored.record if stored is not None else None
    assert cmd.change_date is not None  # the format checks require it
    if reason is R.SHUSSEI:
        if cmd.change_date != entry.birth_date:
            return violation("BIRTH_DATE_MISMATCH", "change_date")
        if entry.resident_since != entry.birth_date:
            return violation("BIRTH_DATE_MISMATCH", "resident_since")
    if reason in (R.SHUSSEI, R.JUMINHYO_CODE_HENKO) and not rules.is_designated(entry.juminhyo_code):
        # 住基法30条の3第1項 (出生: a code never used), 30条の4 (変更): one of the codes the 機構
        # designated for this municipality (30条の2第2項).
        return violation("JUMINHYO_CODE_NOT_DESIGNATED", "juminhyo_code")
    if reason is R.JUMINHYO_CODE_HENKO:
        target = registry.find(entry.juminhyo_code)
        if target is not None:
            code = "JUMINHYO_CODE_RETIRED" if target.retired else "JUMINHYO_CODE_IN_USE"
            return violation(code, "juminhyo_code")
    if before is not None:
        if reason is R.TENKYO and cmd.change_date < before.address_since:
            # 住基法23条: the 転居 moves from the current address, set on 住所を定めた日.
            return violation("DATE_BEFORE_STORED", "change_date")
        if reason is R.SHIBO and cmd.change_date < before.resident_since:
            return violation("DATE_BEFORE_STORED", "change_date")
    return None


def _check_code_since(cmd: UpdateCommand, stored: StoredPerson | None) -> Violation | None:
    """住民票コード使用年月日 (#25) of a 転入 of a person new to this file: the code was given
    elsewhere (住基法30条の3), so its date is the caller's to send; the CS does not invent one."""
    if cmd.change_reason is R.TENNYU and cmd.entry.juminhyo_code_since is None and stored is None:
        return violation("MISSING_FIELD", "juminhyo_code_since")
    return None


def _check_individual_number(stored: StoredPerson | None, holder: int | None) -> Violation | None:
    """A 個人番号 belongs to one person (one 住民票コード) only, and is never reassigned."""
    if holder is not None and (stored is None or holder != stored.person_key):
        return violation("INDIVIDUAL_NUMBER_IN_USE", "individual_number")
    return None


def _status_after(cmd: UpdateCommand, state: S | None, modifies: bool, today: date) -> tuple[S, bool]:
    reason = cmd.change_reason
    if not modifies or reason is R.TENSHUTSU_TORIKESHI:
        return S.CURRENT, False
    if reason is R.TENSHUTSU:
        assert cmd.change_date is not None
        planned = cmd.change_date > today
        return (S.PLANNED_DEPARTURE if planned else S.REMOVED_MOVED_OUT), planned
    if reason in REMOVING:
        return REMOVING[reason], False
    assert state is not None
    return state, state is S.PLANNED_DEPARTURE


def build_record(cmd: UpdateCommand, before: IdentityRecord | None, status: S, prospective: bool) -> IdentityRecord:
    """The new version: the entry's items plus the items the CS derives itself."""
    e = cmd.entry
    assert e.birth_date and e.resident_since and e.address_since and e.notified_on and cmd.change_date
    code_since = e.juminhyo_code_since
    if code_since is None:
        code_since = before.juminhyo_code_since if before and cmd.change_reason is not R.JUMINHYO_CODE_HENKO else None
    if code_since is None:
        code_since = cmd.change_date
    # 外字フラグ (#34): the format checks made each 外字数 equal to its text's 外字 (gaiji.py).
    counts = (e.name_gaiji_count, e.address_gaiji_count, e.previous_address_gaiji_count, e.former_surname_gaiji_count)
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
        has_gaiji=any(counts),
        record_status=status,
        timestamp=None,
        former_surname_kanji=e.former_surname_kanji,
        former_surname_gaiji_count=e.former_surname_gaiji_count,
        former_surname_kana=e.former_surname_kana,
        resident_class=e.resident_class,
    )
