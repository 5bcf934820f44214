"""Logic checks (論理チェック): one test per rule of logic_checks.decide, against the
InMemoryRegistry fake of the store, then properties over random records and reason sequences."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from cs_gateway.domain.enums import ChangeReason, RecordStatus, Relationship, ResidentClass, Sex
from cs_gateway.domain.format_checks import NOTIFIED_AFTER, REQUIRED_CLASS, FormatContext, check_command
from cs_gateway.domain.gaiji import count_gaiji
from cs_gateway.domain.kana import seion
from cs_gateway.domain.logic_checks import Accepted, decide
from cs_gateway.domain.record import ENTRY_FIELDS, IdentityRecord, ResidentEntry, UpdateCommand
from cs_gateway.domain.record_codec import record_from_dict, record_to_dict
from cs_gateway.domain.registry import as_of, effective_status
from cs_gateway.domain.rules_config import DEFAULT_TENSHUTSU_TORIKESHI_DAYS, RulesConfig
from cs_gateway.domain.violations import Violation, violation
from tests.strategies import (
    AOMORI,
    HIROSAKI,
    REASONS,
    TODAY,
    InMemoryRegistry,
    entry_of,
    gaiji,
    individual_number,
    juminhyo_code,
    st_valid_command,
    valid_command,
    valid_entry,
)

R = ChangeReason
S = RecordStatus
C = ResidentClass
DAY = timedelta(days=1)
LATER = TODAY + timedelta(days=90)
CTX_HIROSAKI = FormatContext(today=TODAY, municipality_code=HIROSAKI)

CREATING = (R.TENNYU, R.SHUSSEI, R.SHOKKEN_KISAI, R.KOKUSEKI_SHUTOKU, R.JUSHO_SETTEI, R.ZAIRYU_SHIKAKU_SHUTOKU)
# 国籍喪失 removes nobody: the person stays as a 外国人住民 (住基法30条の45).
REMOVING = {
    R.SHIBO: S.REMOVED_DECEASED,
    R.SHISSO_SENKOKU: S.REMOVED_DECEASED,
    R.SHOKKEN_SHOJO: S.REMOVED_OTHER,
}
# Creating reasons that a present person of the other 区分 may also take (国籍取得 of a 外国人住民).
CREATING_ONLY = [r for r in CREATING if r is not R.KOKUSEKI_SHUTOKU]
MODIFYING = [r for r in REASONS if r not in CREATING]
ADDRESS_ITEMS = {"aza_code", "postal_code", "address", "address_gaiji_count", "address_since"}
NAME_ITEMS = {
    "name_kanji",
    "name_gaiji_count",
    "name_kana",
    "former_surname_kanji",
    "former_surname_gaiji_count",
    "former_surname_kana",
}
# What each modifying reason may change besides 届出の年月日 (the seed: a 転居 changes the address only).
MAY_CHANGE: dict[ChangeReason, set[str]] = {
    R.TENKYO: ADDRESS_ITEMS,
    R.KIKA: NAME_ITEMS | {"resident_class"},
    R.KOKUSEKI_SOSHITSU: NAME_ITEMS | {"resident_class"},
    R.SETAI_HENKO: {"relationship"},
    R.JUMINHYO_CODE_HENKO: {"juminhyo_code", "previous_juminhyo_code", "juminhyo_code_since"},
    R.KOJIN_BANGO_HENKO: {"individual_number"},
    R.SHOKKEN_SHUSEI: set(ENTRY_FIELDS) - {"juminhyo_code", "previous_juminhyo_code", "individual_number"},
}


def base(seed: int = 0, **changes: Any) -> ResidentEntry:
    """A person with fixed dates and plain texts: born 1980, resident since 2010."""
    fixed: dict[str, Any] = {
        "name_kanji": "山田\u3000太郎",
        "name_gaiji_count": 0,
        "name_kana": "ヤマダ\u3000タロウ",
        "birth_date": date(1980, 5, 5),
        "address": f"青森県弘前市大字上白銀町{seed + 1}番地1",
        "address_gaiji_count": 0,
        "resident_since": date(2010, 4, 1),
        "address_since": date(2015, 6, 1),
        "notified_on": date(2015, 6, 10),
        "previous_municipality_code": AOMORI,
        "previous_address": "青森県青森市長島一丁目1番1号",
        "previous_address_gaiji_count": 0,
        "relationship": Relationship.HEAD,
        "juminhyo_code_since": None,
        "former_surname_kanji": "",
        "former_surname_gaiji_count": 0,
        "former_surname_kana": "",
    }
    return valid_entry(seed, **(fixed | changes))


def run(reg: InMemoryRegistry, cmd: UpdateCommand, today: date = TODAY) -> Accepted | Violation:
    found = check_command(cmd, FormatContext(today=today, municipality_code=HIROSAKI))
    assert found is None, f"test command is not well formed: {found}"
    return decide(cmd, reg, today)


def accept(reg: InMemoryRegistry, cmd: UpdateCommand, today: date = TODAY) -> IdentityRecord:
    result = run(reg, cmd, today)
    assert isinstance(result, Accepted), f"refused: {result}"
    return reg.apply(result)


def refuse(
    reg: InMemoryRegistry, cmd: UpdateCommand, code: str, field: str | None = None, today: date = TODAY
) -> Violation:
    result = run(reg, cmd, today)
    assert isinstance(result, Violation), f"accepted, expected {code}"
    assert result.code == code, result
    if field is not None:
        assert result.field == field, result
    return result


def register(reg: InMemoryRegistry, seed: int = 0, **changes: Any) -> IdentityRecord:
    """A 転入 of base(seed) into reg (with the 住民票コード使用年月日 a 転入 carries)."""
    changes.setdefault("juminhyo_code_since", date(2010, 4, 1))
    return accept(reg, valid_command(R.TENNYU, base(seed, **changes), change_date=date(2010, 4, 1)))


def fitted(entry: ResidentEntry, reason: ChangeReason, change_date: date, changes: dict[str, Any]) -> ResidentEntry:
    """The entry as the 既存住基 sends it for reason: the 区分 after the change, and a 届出の年月日
    not before the move for a 転入, 転居, 住所設定 (items named in changes are left alone)."""
    if reason in REQUIRED_CLASS and "resident_class" not in changes:
        entry = dataclasses.replace(entry, resident_class=REQUIRED_CLASS[reason])
    no_former = entry.resident_class is C.FOREIGN or reason is R.SHUSSEI
    if no_former and "former_surname_kanji" not in changes:
        entry = dataclasses.replace(
            entry, former_surname_kanji="", former_surname_gaiji_count=0, former_surname_kana=""
        )
    if reason in NOTIFIED_AFTER and "notified_on" not in changes and entry.notified_on:
        entry = dataclasses.replace(entry, notified_on=max(change_date, entry.notified_on))
    if reason is R.JUSHO_SETTEI and "previous_municipality_code" not in changes:
        entry = dataclasses.replace(entry, previous_municipality_code="", previous_address="大韓民国ソウル特別市中区")
    return entry


def tennyu(entry: ResidentEntry) -> UpdateCommand:
    """A 転入 of entry on 2010-04-01 (base's dates), with the 使用年月日 a 転入 carries."""
    if entry.juminhyo_code_since is None:
        entry = dataclasses.replace(entry, juminhyo_code_since=date(2010, 4, 1))
    return valid_command(R.TENNYU, entry, change_date=date(2010, 4, 1))


def change(record: IdentityRecord, reason: ChangeReason, change_date: date = TODAY, **changes: Any) -> UpdateCommand:
    entry = fitted(entry_of(record, **changes), reason, change_date, changes)
    return valid_command(reason, entry, change_date=change_date)


def plausible(
    record: IdentityRecord, reason: ChangeReason, today: date = TODAY, *, n: int = 1, ahead: int = 0
) -> UpdateCommand:
    """A well-formed command of reason for the stored person, as 既存住基 would send it."""
    e = entry_of(record)
    change_date = today
    if reason is R.KOKUSEKI_SHUTOKU and effective_status(record, today) in (S.CURRENT, S.PLANNED_DEPARTURE):
        # of a present 外国人住民: a change of 区分 and name (国籍法3条), not a new 住民票
        e = dataclasses.replace(e, name_kanji=f"国{gaiji(n % 100)}", name_gaiji_count=1, name_kana="クニ")
    elif reason is R.TENKYO:
        e = dataclasses.replace(
            e,
            aza_code="0020001",
            postal_code="0368001",
            address=f"青森県弘前市大字土手町{n}番地",
            address_gaiji_count=0,
            address_since=today,
        )
    elif reason is R.SHUSSEI:
        assert e.birth_date
        e = dataclasses.replace(e, resident_since=e.birth_date)
        change_date = e.birth_date
    elif reason in CREATING:
        e = dataclasses.replace(
            e,
            address=f"青森県弘前市大字紺屋町{n}番地",
            address_gaiji_count=0,
            resident_since=today,
            address_since=today,
            notified_on=today,
            previous_municipality_code=AOMORI,
            previous_address="青森県青森市新町一丁目3番7号",
            previous_address_gaiji_count=0,
        )
    elif reason is R.KIKA:
        e = dataclasses.replace(e, name_kanji=f"新{gaiji(n % 100)}", name_gaiji_count=1, name_kana="アラタ")
    elif reason is R.JUMINHYO_CODE_HENKO:
        e = dataclasses.replace(
            e, juminhyo_code=juminhyo_code(n), previous_juminhyo_code=record.juminhyo_code, juminhyo_code_since=None
        )
    elif reason is R.KOJIN_BANGO_HENKO:
        e = dataclasses.replace(e, individual_number=individual_number(n))
    elif reason is R.TENSHUTSU:
        change_date = today + timedelta(days=ahead)
    elif reason is R.SHOKKEN_SHUSEI:
        other = Relationship.CHILD if e.relationship is not Relationship.CHILD else Relationship.HEAD
        e = dataclasses.replace(e, relationship=other)
    elif reason is R.SETAI_HENKO:
        other = Relationship.CHILD if e.relationship is not Relationship.CHILD else Relationship.HEAD
        e = dataclasses.replace(e, relationship=other)
    if reason is R.TENNYU and e.juminhyo_code_since is None:
        e = dataclasses.replace(e, juminhyo_code_since=e.resident_since)
    if reason is R.JUSHO_SETTEI:
        e = dataclasses.replace(e, previous_municipality_code="", previous_address="大韓民国ソウル特別市中区")
    return valid_command(reason, fitted(e, reason, change_date, {}), change_date=change_date)


def removed(reg: InMemoryRegistry, reason: ChangeReason, seed: int = 0) -> IdentityRecord:
    """A person registered, then removed by reason (TENSHUTSU: moved out today)."""
    return accept(reg, plausible(register(reg, seed), reason))


def state(reg: InMemoryRegistry, code: str, today: date = TODAY) -> RecordStatus:
    found = reg.find(code)
    assert found is not None
    return found.state(today)


# -- the seed's two examples -------------------------------------------------------------------


def test_tennyu_rejected_for_current_resident() -> None:
    reg = InMemoryRegistry()
    person = register(reg)
    v = refuse(reg, plausible(person, R.TENNYU), "ALREADY_RESIDENT", "juminhyo_code")
    assert "転入" in v.message_ja


def test_tenkyo_changing_name_rejected() -> None:
    reg = InMemoryRegistry()
    person = register(reg)
    moving = plausible(person, R.TENKYO)
    cmd = dataclasses.replace(moving, entry=dataclasses.replace(moving.entry, name_kanji="山田\u3000次郎"))
    refuse(reg, cmd, "TENKYO_CHANGES_NON_ADDRESS", "name_kanji")


# -- 転居 --------------------------------------------------------------------------------------

NON_ADDRESS_CHANGES: list[tuple[str, dict[str, Any]]] = [
    ("juminhyo_code", {"juminhyo_code": juminhyo_code(50)}),
    ("name_kanji", {"name_kanji": "山田\u3000" + gaiji(7), "name_gaiji_count": 1}),
    ("name_kana", {"name_kana": "ヤマダ\u3000ジロウ"}),
    ("birth_date", {"birth_date": date(1980, 5, 4)}),
    ("sex", {"sex": "flip"}),
    ("individual_number", {"individual_number": individual_number(50)}),
    ("resident_since", {"resident_since": date(2010, 4, 2)}),
    ("previous_municipality_code", {"previous_municipality_code": "022039"}),
    ("previous_address", {"previous_address": "青森県八戸市内丸一丁目1番1号"}),
    ("previous_address", {"previous_address": "青森県青森市" + gaiji(8), "previous_address_gaiji_count": 1}),
    ("relationship", {"relationship": Relationship.WIFE}),
    ("previous_juminhyo_code", {"previous_juminhyo_code": juminhyo_code(51)}),
    ("juminhyo_code_since", {"juminhyo_code_since": date(2012, 1, 1)}),
    ("former_surname_kanji", {"former_surname_kanji": "佐藤", "former_surname_kana": "サトウ"}),
]


@pytest.mark.parametrize(("field", "changes"), NON_ADDRESS_CHANGES, ids=[f for f, _ in NON_ADDRESS_CHANGES])
def test_tenkyo_changing_non_address_item_rejected(field: str, changes: dict[str, Any]) -> None:
    reg = InMemoryRegistry()
    person = register(reg)
    moving = plausible(person, R.TENKYO)
    if changes.get("sex") == "flip":
        changes = {"sex": Sex(3 - person.sex)}
    cmd = dataclasses.replace(moving, entry=dataclasses.replace(moving.entry, **changes))
    # A new 住民票コード means "nobody with that code": the person is not found at all.
    expected = "NO_RECORD" if field == "juminhyo_code" else "TENKYO_CHANGES_NON_ADDRESS"
    refuse(reg, cmd, expected, field)


def test_tenkyo_may_change_every_address_item_and_notified_on() -> None:
    reg = InMemoryRegistry()
    person = register(reg)
    cmd = change(
        person,
        R.TENKYO,
        aza_code="0030003",
        postal_code="0360001",
        address="青森県弘前市大字" + gaiji(9) + "町3番地",
        address_gaiji_count=1,
        address_since=TODAY,
        notified_on=TODAY,
    )
    after = accept(reg, cmd)
    assert after.address == cmd.entry.address and after.notified_on == TODAY and after.address_gaiji_count == 1
    assert after.record_status is S.CURRENT and after.change_reason is R.TENKYO and after.change_date == TODAY
    assert after.has_gaiji


def test_tenkyo_without_address_change_rejected() -> None:
    reg = InMemoryRegistry()
    person = register(reg)
    refuse(reg, change(person, R.TENKYO), "TENKYO_ADDRESS_UNCHANGED", "address")
    same_address = change(person, R.TENKYO, postal_code="0360001", aza_code="0030003", address_since=TODAY)
    refuse(reg, same_address, "TENKYO_ADDRESS_UNCHANGED", "address")


def test_tenkyo_refused_for_person_not_current() -> None:
    reg = InMemoryRegistry()
    gone = removed(reg, R.TENSHUTSU)
    refuse(reg, plausible(gone, R.TENKYO), "NOT_CURRENT_RESIDENT", "change_reason")


# -- creating a 住民票 ---------------------------------------------------------------------------


@pytest.mark.parametrize("reason", [R.SHUSSEI, R.SHOKKEN_KISAI, R.JUSHO_SETTEI, R.ZAIRYU_SHIKAKU_SHUTOKU])
def test_creating_reason_refused_for_current_resident(reason: ChangeReason) -> None:
    reg = InMemoryRegistry()
    person = register(reg)
    v = refuse(reg, plausible(person, reason), "ALREADY_RESIDENT", "juminhyo_code")
    assert reason.label_ja in v.message_ja


@pytest.mark.parametrize("reason", CREATING_ONLY)
def test_creating_reason_refused_during_planned_departure(reason: ChangeReason) -> None:
    reg = InMemoryRegistry()
    leaving = accept(reg, plausible(register(reg), R.TENSHUTSU, ahead=30))
    refuse(reg, plausible(leaving, reason), "ALREADY_RESIDENT", "juminhyo_code")


@pytest.mark.parametrize("removed_by", [R.TENSHUTSU, R.SHOKKEN_SHOJO])
def test_shussei_refused_when_code_already_used(removed_by: ChangeReason) -> None:
    reg = InMemoryRegistry()
    gone = removed(reg, removed_by)
    refuse(reg, plausible(gone, R.SHUSSEI), "JUMINHYO_CODE_IN_USE", "juminhyo_code")


def test_shussei_dates_must_equal_birth_date() -> None:
    reg = InMemoryRegistry()
    born = TODAY - 3 * DAY
    baby = base(1, birth_date=born, resident_since=born, address_since=born, notified_on=TODAY)
    refuse(reg, valid_command(R.SHUSSEI, baby, change_date=TODAY), "BIRTH_DATE_MISMATCH", "change_date")
    late = dataclasses.replace(baby, resident_since=TODAY - DAY, address_since=TODAY - DAY)
    refuse(reg, valid_command(R.SHUSSEI, late, change_date=TODAY - 3 * DAY), "BIRTH_DATE_MISMATCH", "resident_since")


def test_shussei_of_new_code_accepted() -> None:
    reg = InMemoryRegistry()
    born = TODAY - 3 * DAY
    baby = base(1, birth_date=born, resident_since=born, address_since=born, notified_on=TODAY)
    record = accept(reg, valid_command(R.SHUSSEI, baby, change_date=born))
    assert record.record_status is S.CURRENT and record.change_reason is R.SHUSSEI
    assert record.juminhyo_code_since == born


@pytest.mark.parametrize("reason", CREATING)
def test_creating_reason_may_not_set_update_prohibited(reason: ChangeReason) -> None:
    reg = InMemoryRegistry()
    born = TODAY - 3 * DAY
    entry = base(1, birth_date=born, resident_since=born, address_since=born, notified_on=TODAY, update_prohibited=True)
    cmd = valid_command(reason, fitted(entry, reason, born, {}), change_date=born)
    refuse(reg, cmd, "FLAG_REQUIRES_SHOKKEN_SHUSEI", "update_prohibited")


def test_tennyu_of_person_who_moved_out_earlier_accepted() -> None:
    reg = InMemoryRegistry()
    person = register(reg)
    gone = accept(reg, plausible(person, R.TENSHUTSU, TODAY - 30 * DAY), TODAY - 30 * DAY)
    assert gone.record_status is S.REMOVED_MOVED_OUT
    back_cmd = plausible(gone, R.TENNYU, n=7)
    back_cmd = dataclasses.replace(back_cmd, entry=dataclasses.replace(back_cmd.entry, juminhyo_code_since=None))
    result = run(reg, back_cmd)
    assert isinstance(result, Accepted)
    assert result.person_key == reg.find(person.juminhyo_code).person_key  # type: ignore[union-attr]
    back = reg.apply(result)
    assert back.record_status is S.CURRENT and not back.prospective
    assert back.juminhyo_code == person.juminhyo_code and back.individual_number == person.individual_number
    assert back.juminhyo_code_since == person.juminhyo_code_since  # kept when the entry leaves it out
    assert len(reg.records) == 1


# -- changes of somebody who is not there ------------------------------------------------------


@pytest.mark.parametrize("reason", MODIFYING)
def test_change_of_unknown_code_refused(reason: ChangeReason) -> None:
    reg = InMemoryRegistry()
    stranger = register(InMemoryRegistry(), 3)
    v = refuse(reg, plausible(stranger, reason), "NO_RECORD")
    assert v.field in {"juminhyo_code", "previous_juminhyo_code"}


@pytest.mark.parametrize("removed_by", [R.TENSHUTSU, R.SHOKKEN_SHOJO])
@pytest.mark.parametrize(
    "reason",
    [R.TENSHUTSU, R.SHIBO, R.SHISSO_SENKOKU, R.SHOKKEN_SHOJO, R.KOKUSEKI_SOSHITSU, R.TENKYO, R.KIKA],
)
def test_removal_refused_for_person_not_current(removed_by: ChangeReason, reason: ChangeReason) -> None:
    reg = InMemoryRegistry()
    gone = removed(reg, removed_by)
    refuse(reg, plausible(gone, reason), "NOT_CURRENT_RESIDENT", "change_reason")


@pytest.mark.parametrize(("reason", "status"), list(REMOVING.items()) + [(R.TENSHUTSU, S.REMOVED_MOVED_OUT)])
def test_removal_sets_record_status(reason: ChangeReason, status: RecordStatus) -> None:
    reg = InMemoryRegistry()
    after = removed(reg, reason)
    assert after.record_status is status and not after.prospective
    assert state(reg, after.juminhyo_code) is status


@pytest.mark.parametrize("reason", list(REMOVING) + [R.TENSHUTSU, R.TENSHUTSU_TORIKESHI])
def test_removal_changes_no_item(reason: ChangeReason) -> None:
    reg = InMemoryRegistry()
    person = register(reg)
    if reason is R.TENSHUTSU_TORIKESHI:
        person = accept(reg, plausible(person, R.TENSHUTSU))
    refuse(reg, change(person, reason, name_kana="ヤマダ\u3000ハナコ"), "FIELD_CHANGE_NOT_ALLOWED", "name_kana")
    accept(reg, change(person, reason, notified_on=TODAY))  # 届出の年月日 may always change


# -- 転出, 転出予定, 転出取消 --------------------------------------------------------------------------


def test_planned_tenshutsu_makes_planned_departure() -> None:
    reg = InMemoryRegistry()
    leaving = accept(reg, plausible(register(reg), R.TENSHUTSU, ahead=30))
    assert leaving.record_status is S.PLANNED_DEPARTURE and leaving.prospective
    assert leaving.change_date == TODAY + 30 * DAY
    assert state(reg, leaving.juminhyo_code) is S.PLANNED_DEPARTURE
    assert state(reg, leaving.juminhyo_code, TODAY + 29 * DAY) is S.PLANNED_DEPARTURE


def test_planned_departure_becomes_removed_moved_out_once_the_date_passes() -> None:
    reg = InMemoryRegistry()
    leaving = accept(reg, plausible(register(reg), R.TENSHUTSU, ahead=30))
    assert state(reg, leaving.juminhyo_code, TODAY + 30 * DAY) is S.REMOVED_MOVED_OUT
    assert state(reg, leaving.juminhyo_code, LATER) is S.REMOVED_MOVED_OUT
    refuse(reg, plausible(leaving, R.TENKYO, LATER), "NOT_CURRENT_RESIDENT", "change_reason", today=LATER)
    refuse(reg, plausible(leaving, R.SHIBO, LATER), "NOT_CURRENT_RESIDENT", "change_reason", today=LATER)
    back = accept(reg, plausible(leaving, R.TENNYU, LATER), LATER)  # a returning resident
    assert back.record_status is S.CURRENT and not back.prospective


def test_planned_departure_is_still_present_but_not_current() -> None:
    reg = InMemoryRegistry()
    leaving = accept(reg, plausible(register(reg), R.TENSHUTSU, ahead=30))
    for reason in (R.TENKYO, R.TENSHUTSU, R.KIKA, R.JUMINHYO_CODE_HENKO, R.KOJIN_BANGO_HENKO):
        refuse(reg, plausible(leaving, reason), "PLANNED_DEPARTURE_PENDING", "change_reason")
    dead = accept(reg, plausible(leaving, R.SHIBO))
    assert dead.record_status is S.REMOVED_DECEASED and not dead.prospective


def test_shokken_shusei_refused_for_planned_departure() -> None:
    """A 転出予定者 is corrected (職権修正) only after 転出取消: a correction would overwrite the
    planned date (異動年月日) and turn the person into a 消除者 from today."""
    reg = InMemoryRegistry()
    leaving = accept(reg, plausible(register(reg), R.TENSHUTSU, ahead=30))
    refuse(reg, plausible(leaving, R.SHOKKEN_SHUSEI), "PLANNED_DEPARTURE_PENDING", "change_reason")
    assert state(reg, leaving.juminhyo_code) is S.PLANNED_DEPARTURE
    refuse(reg, plausible(leaving, R.TENNYU, n=8), "ALREADY_RESIDENT", "juminhyo_code")
    restored = accept(reg, plausible(leaving, R.TENSHUTSU_TORIKESHI))
    accept(reg, plausible(restored, R.SHOKKEN_SHUSEI))


def test_tenshutsu_today_removes_at_once() -> None:
    reg = InMemoryRegistry()
    gone = accept(reg, plausible(register(reg), R.TENSHUTSU))
    assert gone.record_status is S.REMOVED_MOVED_OUT and not gone.prospective


@pytest.mark.parametrize("ahead", [0, 30], ids=["moved_out", "planned"])
def test_tenshutsu_torikeshi_restores_current(ahead: int) -> None:
    reg = InMemoryRegistry()
    leaving = accept(reg, plausible(register(reg), R.TENSHUTSU, ahead=ahead))
    restored = accept(reg, plausible(leaving, R.TENSHUTSU_TORIKESHI))
    assert restored.record_status is S.CURRENT and not restored.prospective
    assert state(reg, restored.juminhyo_code, LATER) is S.CURRENT
    accept(reg, plausible(restored, R.TENKYO, LATER), LATER)


@pytest.mark.parametrize("removed_by", [None, R.SHOKKEN_SHOJO])
def test_tenshutsu_torikeshi_refused_when_not_moved_out(removed_by: ChangeReason | None) -> None:
    reg = InMemoryRegistry()
    person = register(reg) if removed_by is None else removed(reg, removed_by)
    refuse(reg, plausible(person, R.TENSHUTSU_TORIKESHI), "NOT_MOVED_OUT", "change_reason")


# -- 死亡 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("removed_by", [R.SHIBO, R.SHISSO_SENKOKU])
@pytest.mark.parametrize("reason", [r for r in REASONS if r not in (R.SHOKKEN_SHUSEI, R.SHOKKEN_KISAI)])
def test_deceased_accepts_only_shokken_shusei_and_restoring_shokken_kisai(
    removed_by: ChangeReason, reason: ChangeReason
) -> None:
    reg = InMemoryRegistry()
    dead = removed(reg, removed_by)
    refuse(reg, plausible(dead, reason), "DECEASED", "change_reason")


def test_shokken_shusei_of_deceased_accepted_and_keeps_status() -> None:
    reg = InMemoryRegistry()
    dead = removed(reg, R.SHIBO)
    corrected = accept(reg, change(dead, R.SHOKKEN_SHUSEI, name_kana="ヤマダ\u3000タロオ"))
    assert corrected.record_status is S.REMOVED_DECEASED and corrected.name_kana_seion == "ヤマタ\u3000タロオ"


# -- 個人番号 ------------------------------------------------------------------------------------


def test_individual_number_of_another_person_refused() -> None:
    reg = InMemoryRegistry()
    first = register(reg, 1)
    second = base(2, individual_number=first.individual_number)
    refuse(reg, tennyu(second), "INDIVIDUAL_NUMBER_IN_USE", "individual_number")
    other = register(reg, 3)
    cmd = change(other, R.KOJIN_BANGO_HENKO, individual_number=first.individual_number)
    refuse(reg, cmd, "INDIVIDUAL_NUMBER_IN_USE", "individual_number")


def test_individual_number_changed_away_is_never_reassigned() -> None:
    reg = InMemoryRegistry()
    first = register(reg, 1)
    old_number = first.individual_number
    accept(reg, change(first, R.KOJIN_BANGO_HENKO, individual_number=individual_number(60)))
    refuse(reg, tennyu(base(2, individual_number=old_number)), "INDIVIDUAL_NUMBER_IN_USE")
    other = register(reg, 3)
    refuse(reg, change(other, R.KOJIN_BANGO_HENKO, individual_number=old_number), "INDIVIDUAL_NUMBER_IN_USE")


@pytest.mark.parametrize("removed_by", [R.SHIBO, R.SHISSO_SENKOKU])
def test_individual_number_of_deceased_person_refused(removed_by: ChangeReason) -> None:
    reg = InMemoryRegistry()
    gone = removed(reg, removed_by, seed=1)
    cmd = tennyu(base(2, individual_number=gone.individual_number))
    refuse(reg, cmd, "INDIVIDUAL_NUMBER_IN_USE", "individual_number")


def test_kojin_bango_henko_only_changes_the_number() -> None:
    reg = InMemoryRegistry()
    person = register(reg)
    after = accept(reg, change(person, R.KOJIN_BANGO_HENKO, individual_number=individual_number(61)))
    assert after.individual_number == individual_number(61)
    assert {n for n in ENTRY_FIELDS if getattr(after, n) != getattr(person, n)} == {"individual_number"}
    assert after.change_reason is R.KOJIN_BANGO_HENKO and after.record_status is S.CURRENT
    moving = change(after, R.KOJIN_BANGO_HENKO, individual_number=individual_number(62), postal_code="0360001")
    refuse(reg, moving, "FIELD_CHANGE_NOT_ALLOWED", "postal_code")
    refuse(reg, change(after, R.KOJIN_BANGO_HENKO), "NO_CHANGE", "individual_number")


# -- 更新禁止フラグ --------------------------------------------------------------------------------


def prohibited(reg: InMemoryRegistry) -> IdentityRecord:
    record = accept(reg, change(register(reg), R.SHOKKEN_SHUSEI, update_prohibited=True))
    assert record.update_prohibited
    return record


@pytest.mark.parametrize("reason", REASONS)
def test_update_prohibited_refuses_every_change(reason: ChangeReason) -> None:
    reg = InMemoryRegistry()
    record = prohibited(reg)
    # For 職権修正 the plausible command keeps the flag set: refused as well.
    refuse(reg, plausible(record, reason), "UPDATE_PROHIBITED", "update_prohibited")


def test_shokken_shusei_clearing_update_prohibited_accepted() -> None:
    reg = InMemoryRegistry()
    record = prohibited(reg)
    cleared = accept(reg, change(record, R.SHOKKEN_SHUSEI, update_prohibited=False, name_kana="ヤマダ\u3000タロ"))
    assert not cleared.update_prohibited and cleared.name_kana == "ヤマダ\u3000タロ"
    accept(reg, plausible(cleared, R.TENKYO))


@pytest.mark.parametrize(
    "reason",
    [
        R.TENKYO,
        R.TENSHUTSU,
        R.TENSHUTSU_TORIKESHI,
        R.SHIBO,
        R.SHISSO_SENKOKU,
        R.SHOKKEN_SHOJO,
        R.KOKUSEKI_SOSHITSU,
        R.KIKA,
        R.JUMINHYO_CODE_HENKO,
        R.KOJIN_BANGO_HENKO,
    ],
)
def test_update_prohibited_cannot_be_set_by_other_reasons(reason: ChangeReason) -> None:
    reg = InMemoryRegistry()
    person = register(reg, resident_class=C.FOREIGN if reason is R.KIKA else C.JAPANESE)
    if reason is R.TENSHUTSU_TORIKESHI:
        person = accept(reg, plausible(person, R.TENSHUTSU))
    cmd = plausible(person, reason)
    cmd = dataclasses.replace(cmd, entry=dataclasses.replace(cmd.entry, update_prohibited=True))
    refuse(reg, cmd, "FLAG_REQUIRES_SHOKKEN_SHUSEI", "update_prohibited")


# -- 住民票コード変更 -----------------------------------------------------------------------------


def test_juminhyo_code_henko_keeps_old_code_in_previous_juminhyo_code() -> None:
    reg = InMemoryRegistry()
    person = register(reg)
    key = reg.find(person.juminhyo_code).person_key  # type: ignore[union-attr]
    cmd = plausible(person, R.JUMINHYO_CODE_HENKO, n=70)
    result = run(reg, cmd)
    assert isinstance(result, Accepted)
    assert result.person_key == key and result.retire_code == person.juminhyo_code
    after = reg.apply(result)
    assert after.juminhyo_code == juminhyo_code(70) and after.previous_juminhyo_code == person.juminhyo_code
    assert after.juminhyo_code_since == TODAY  # 住民票コード使用年月日 of the new code
    assert {n for n in ENTRY_FIELDS if getattr(after, n) != getattr(person, n)} == {
        "juminhyo_code",
        "previous_juminhyo_code",
        "juminhyo_code_since",
    }
    new = reg.find(juminhyo_code(70))
    old = reg.find(person.juminhyo_code)
    assert new is not None and not new.retired and new.person_key == key
    assert old is not None and old.retired and old.person_key == key


@pytest.mark.parametrize("reason", MODIFYING)
def test_retired_code_refused_for_later_updates(reason: ChangeReason) -> None:
    reg = InMemoryRegistry()
    person = register(reg)
    accept(reg, plausible(person, R.JUMINHYO_CODE_HENKO, n=71))
    field = "previous_juminhyo_code" if reason is R.JUMINHYO_CODE_HENKO else "juminhyo_code"
    refuse(reg, plausible(person, reason, n=72), "JUMINHYO_CODE_RETIRED", field)


@pytest.mark.parametrize("reason", CREATING)
def test_retired_code_never_given_to_a_new_person(reason: ChangeReason) -> None:
    reg = InMemoryRegistry()
    person = register(reg)
    accept(reg, plausible(person, R.JUMINHYO_CODE_HENKO, n=73))
    born = TODAY - 3 * DAY
    newcomer = base(
        5,
        juminhyo_code=person.juminhyo_code,
        birth_date=born,
        resident_since=born,
        address_since=born,
        notified_on=TODAY,
    )
    cmd = valid_command(reason, fitted(newcomer, reason, born, {}), change_date=born)
    refuse(reg, cmd, "JUMINHYO_CODE_RETIRED", "juminhyo_code")


def test_juminhyo_code_henko_to_retired_or_used_code_refused() -> None:
    reg = InMemoryRegistry()
    first = register(reg, 1)
    accept(reg, plausible(first, R.JUMINHYO_CODE_HENKO, n=74))
    second = register(reg, 2)
    to_retired = change(
        second, R.JUMINHYO_CODE_HENKO, juminhyo_code=first.juminhyo_code, previous_juminhyo_code=second.juminhyo_code
    )
    refuse(reg, to_retired, "JUMINHYO_CODE_RETIRED", "juminhyo_code")
    to_used = change(
        second, R.JUMINHYO_CODE_HENKO, juminhyo_code=juminhyo_code(74), previous_juminhyo_code=second.juminhyo_code
    )
    refuse(reg, to_used, "JUMINHYO_CODE_IN_USE", "juminhyo_code")


def test_juminhyo_code_henko_changes_nothing_else() -> None:
    reg = InMemoryRegistry()
    person = register(reg)
    cmd = plausible(person, R.JUMINHYO_CODE_HENKO, n=75)
    cmd = dataclasses.replace(cmd, entry=dataclasses.replace(cmd.entry, name_kana="ヤマダ\u3000イチロウ"))
    refuse(reg, cmd, "FIELD_CHANGE_NOT_ALLOWED", "name_kana")


def test_juminhyo_code_henko_twice_keeps_one_person() -> None:
    reg = InMemoryRegistry()
    first = register(reg)
    second = accept(reg, plausible(first, R.JUMINHYO_CODE_HENKO, n=76))
    third = accept(reg, plausible(second, R.JUMINHYO_CODE_HENKO, n=77))
    assert third.previous_juminhyo_code == second.juminhyo_code
    found = [reg.find(r.juminhyo_code) for r in (first, second, third)]
    assert [f.retired for f in found if f] == [True, True, False]
    assert len({f.person_key for f in found if f}) == 1 and len(reg.records) == 1


# -- 帰化, 職権修正 -------------------------------------------------------------------------------


def test_kika_changes_names_and_class_only() -> None:
    """帰化 (国籍法4条) of a 外国人住民: names and 区分 change, nothing else."""
    reg = InMemoryRegistry()
    person = register(reg, resident_class=C.FOREIGN)
    moving = change(person, R.KIKA, address="青森県弘前市大字土手町1番地")
    refuse(reg, moving, "FIELD_CHANGE_NOT_ALLOWED", "address")
    after = accept(reg, plausible(person, R.KIKA, n=3))
    assert after.name_kanji == "新" + gaiji(3) and after.name_kana_seion == "アラタ" and after.has_gaiji
    assert after.resident_class is C.JAPANESE
    assert {n for n in ENTRY_FIELDS if getattr(after, n) != getattr(person, n)} <= NAME_ITEMS | {"resident_class"}


@pytest.mark.parametrize(
    ("field", "value"),
    [("individual_number", individual_number(80)), ("previous_juminhyo_code", juminhyo_code(80))],
)
def test_shokken_shusei_cannot_change_identifiers(field: str, value: str) -> None:
    reg = InMemoryRegistry()
    person = register(reg)
    refuse(reg, change(person, R.SHOKKEN_SHUSEI, **{field: value}), "FIELD_CHANGE_NOT_ALLOWED", field)


def test_shokken_shusei_may_correct_anything_else() -> None:
    reg = InMemoryRegistry()
    person = register(reg)
    fixed = change(
        person,
        R.SHOKKEN_SHUSEI,
        name_kanji="山田\u3000太朗",
        birth_date=date(1980, 5, 6),
        address="青森県弘前市大字上白銀町1番地2",
        relationship=Relationship.CHILD,
        former_surname_kanji="佐藤",
        former_surname_kana="サトウ",
    )
    after = accept(reg, fixed)
    assert after.birth_date == date(1980, 5, 6) and after.record_status is S.CURRENT


# -- derived items ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kana", "folded"),
    [
        ("ヤマダ\u3000タロウ", "ヤマタ\u3000タロウ"),
        ("ガッコウ", "カツコウ"),
        ("パン\u3000ピーター", "ハン\u3000ヒーター"),
        ("ヴィヴィ", "ウイウイ"),
        ("ヵヶ", "カケ"),
        ("ジョン", "シヨン"),
    ],
)
def test_kana_seion_is_derived(kana: str, folded: str) -> None:
    reg = InMemoryRegistry()
    record = register(reg, name_kana=kana, resident_class=C.FOREIGN)
    assert record.name_kana_seion == folded == seion(kana)
    renamed = accept(reg, change(record, R.KIKA, name_kana="ベッカム"))
    assert renamed.name_kana_seion == "ヘツカム"


GAIJI_PLACES: list[tuple[str, dict[str, Any]]] = [
    ("none", {}),
    ("name_kanji", {"name_kanji": "山" + gaiji(1), "name_gaiji_count": 1}),
    ("address", {"address": "青森県弘前市大字" + gaiji(2) + "町1番地", "address_gaiji_count": 1}),
    ("previous_address", {"previous_address": "青森県青森市" + gaiji(3), "previous_address_gaiji_count": 1}),
    (
        "former_surname_kanji",
        {"former_surname_kanji": gaiji(4), "former_surname_gaiji_count": 1, "former_surname_kana": "サイ"},
    ),
]


@pytest.mark.parametrize(("where", "changes"), GAIJI_PLACES, ids=[w for w, _ in GAIJI_PLACES])
def test_gaiji_flag_set_exactly_when_gaiji_present(where: str, changes: dict[str, Any]) -> None:
    reg = InMemoryRegistry()
    record = register(reg, **changes)
    assert record.has_gaiji is (where != "none")
    if where == "address":  # a 転居 to a plain address clears the flag again
        plain = accept(reg, plausible(record, R.TENKYO))
        assert not plain.has_gaiji


def test_items_the_cs_sets_itself() -> None:
    reg = InMemoryRegistry()
    entry = base(0, juminhyo_code_since=date(2005, 4, 1))
    cmd = valid_command(R.TENNYU, entry, change_date=date(2010, 4, 1), change_reason_detail="転入届")
    result = run(reg, cmd)
    assert isinstance(result, Accepted) and result.person_key is None and result.retire_code is None
    r = result.record
    assert (r.update_seq, r.recovery_update_seq, r.timestamp, r.locked) == (0, 0, None, False)
    assert r.juminhyo_code_since == date(2005, 4, 1)  # as the 既存住基 sent it
    assert (r.request_id, r.operator_id, r.terminal_id) == (cmd.request_id, cmd.operator_id, cmd.terminal_id)
    assert r.change_reason_detail == "転入届"


# -- properties ---------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st_valid_command(reason=R.TENNYU))
def test_random_valid_records_accepted_as_tennyu_into_empty_registry(cmd: UpdateCommand) -> None:
    reg = InMemoryRegistry()
    result = run(reg, cmd)
    assert isinstance(result, Accepted), result
    assert result.person_key is None and result.retire_code is None
    r, e = result.record, cmd.entry
    for name in ENTRY_FIELDS:
        if not (name == "juminhyo_code_since" and e.juminhyo_code_since is None):
            assert getattr(r, name) == getattr(e, name), name
    assert r.juminhyo_code_since == (e.juminhyo_code_since or cmd.change_date)
    assert r.record_status is S.CURRENT and not r.prospective
    assert r.name_kana_seion == seion(e.name_kana)
    texts = (e.name_kanji, e.address, e.previous_address, e.former_surname_kanji)
    assert r.has_gaiji is any(count_gaiji(t) for t in texts)
    reg.apply(result)
    assert reg.find(e.juminhyo_code) is not None and reg.individual_number_holder(e.individual_number) == 1


def test_strategies_generate_valid_residents_of_both_classes() -> None:
    """The properties run over 日本人住民 and 外国人住民 alike (30% of random entries are 外国人)."""
    for resident_class in (C.JAPANESE, C.FOREIGN):
        found = find(st_valid_command(), lambda cmd, c=resident_class: cmd.entry.resident_class is c)
        assert check_command(found, CTX_HIROSAKI) is None


def expected_acceptance(reason: ChangeReason, before: RecordStatus, stored: IdentityRecord, today: date) -> bool:
    """The table of docs/domain-rules.md: 異動事由 x the person's state and 区分 (one person here)."""
    present = before in (S.CURRENT, S.PLANNED_DEPARTURE)
    foreign = stored.resident_class is C.FOREIGN
    if reason is R.KOKUSEKI_SHUTOKU and present:
        return before is S.CURRENT and foreign  # 国籍法3条: the 外国人住民 becomes a 日本人住民
    if reason in CREATING:
        if reason is R.SHUSSEI or present:
            return False
        return before is not S.REMOVED_DECEASED or reason is R.SHOKKEN_KISAI  # 職権記載 restores (民法32条)
    if reason is R.SHOKKEN_SHUSEI:
        return before is not S.PLANNED_DEPARTURE
    if before is S.REMOVED_DECEASED:
        return False
    if reason is R.TENSHUTSU_TORIKESHI:
        in_time = today <= stored.change_date + timedelta(days=DEFAULT_TENSHUTSU_TORIKESHI_DAYS)
        return before in (S.PLANNED_DEPARTURE, S.REMOVED_MOVED_OUT) and in_time
    if reason in REMOVING:
        return present
    if reason is R.KIKA:
        return before is S.CURRENT and foreign
    if reason is R.KOKUSEKI_SOSHITSU:
        return before is S.CURRENT and not foreign
    return before is S.CURRENT


def expected_status(cmd: UpdateCommand, before: RecordStatus, today: date) -> RecordStatus:
    reason = cmd.change_reason
    if reason is R.KOKUSEKI_SHUTOKU and before in (S.CURRENT, S.PLANNED_DEPARTURE):
        return before
    if reason in CREATING or reason is R.TENSHUTSU_TORIKESHI:
        return S.CURRENT
    if reason is R.TENSHUTSU:
        assert cmd.change_date
        return S.PLANNED_DEPARTURE if cmd.change_date > today else S.REMOVED_MOVED_OUT
    return REMOVING.get(reason, before)


# (reason, days until the step, days ahead for a 転出). The reasons that move a person between
# states come up more often, so that every state (転出予定 included) is reached and left.
STEP = st.tuples(
    st.one_of(
        st.sampled_from(REASONS),
        st.sampled_from([R.TENNYU, R.TENSHUTSU, R.TENSHUTSU_TORIKESHI, R.SHOKKEN_SHUSEI, R.SHOKKEN_KISAI]),
        st.sampled_from([R.KIKA, R.KOKUSEKI_SHUTOKU, R.KOKUSEKI_SOSHITSU, R.SHIBO]),
    ),
    st.one_of(st.just(0), st.integers(1, 45)),
    st.one_of(st.just(0), st.integers(1, 60)),
)


@settings(max_examples=120, deadline=None)
@given(
    first=st.sampled_from(CREATING).flatmap(lambda r: st_valid_command(reason=r)),
    steps=st.lists(STEP, min_size=1, max_size=12),
)
def test_random_reason_sequences_keep_invariants(
    first: UpdateCommand, steps: list[tuple[ChangeReason, int, int]]
) -> None:
    reg = InMemoryRegistry()
    record = accept(reg, first)
    key = 1
    today = TODAY
    for n, (reason, days_later, ahead) in enumerate(steps, start=100):
        today += timedelta(days=days_later)
        before = state(reg, record.juminhyo_code, today)
        cmd = plausible(record, reason, today, n=n, ahead=ahead)
        result = run(reg, cmd, today)
        context = f"{reason.name} of a {before.name} {record.resident_class.name} person on {today}: {result}"
        assert isinstance(result, Accepted) is expected_acceptance(reason, before, record, today), context
        if not isinstance(result, Accepted):
            assert result.code in {
                "ALREADY_RESIDENT",
                "DECEASED",
                "JUMINHYO_CODE_IN_USE",
                "NOT_CURRENT_RESIDENT",
                "NOT_MOVED_OUT",
                "PLANNED_DEPARTURE_PENDING",
                "ALREADY_JAPANESE",
                "NOT_JAPANESE",
                "TENSHUTSU_TORIKESHI_TOO_LATE",
            }, context
            continue
        new = result.record
        assert result.person_key == key, context
        assert new.change_reason is reason and new.change_date == cmd.change_date, context
        status = expected_status(cmd, before, today)
        assert new.record_status is status, context
        assert new.prospective is (status is S.PLANNED_DEPARTURE), context
        assert effective_status(new, today) is status, context
        assert new.name_kana_seion == seion(new.name_kana)
        assert new.has_gaiji is any(
            count_gaiji(t) for t in (new.name_kanji, new.address, new.previous_address, new.former_surname_kanji)
        )
        assert new.juminhyo_code_since is not None
        if reason is R.JUMINHYO_CODE_HENKO:
            assert result.retire_code == record.juminhyo_code == new.previous_juminhyo_code, context
        else:
            assert result.retire_code is None and new.juminhyo_code == record.juminhyo_code, context
        modified = reason in MAY_CHANGE or reason in REMOVING or reason in (R.TENSHUTSU, R.TENSHUTSU_TORIKESHI)
        if reason is R.KOKUSEKI_SHUTOKU and before in (S.CURRENT, S.PLANNED_DEPARTURE):
            modified = True
            assert new.resident_class is C.JAPANESE, context
        if modified:
            changed = {name for name in ENTRY_FIELDS if getattr(new, name) != getattr(record, name)}
            assert changed <= MAY_CHANGE.get(reason, NAME_ITEMS | {"resident_class"}) | {"notified_on"}, context
        if reason is R.KIKA:
            assert (record.resident_class, new.resident_class) == (C.FOREIGN, C.JAPANESE), context
        if reason is R.KOKUSEKI_SOSHITSU:
            assert (record.resident_class, new.resident_class) == (C.JAPANESE, C.FOREIGN), context
            assert new.record_status is S.CURRENT, context  # stays present (住基法30条の45)
        if new.resident_class is C.FOREIGN:
            assert not new.former_surname_kanji, context  # a 外国人住民 has no 旧氏
        record = reg.apply(result)
        assert reg.find(record.juminhyo_code) is not None
        assert reg.individual_number_holder(record.individual_number) == key


# -- 住民の区分 (住基法30条の45): 日本人住民 and 外国人住民 ------------------------------------------------


def test_kokuseki_shutoku_of_foreign_resident_makes_a_japanese_resident_of_the_same_record() -> None:
    """国籍取得 (国籍法3条) of a present 外国人住民 is the normal case: same 住民票コード, person and
    status; the 区分 and the name change. It was refused ALREADY_RESIDENT."""
    reg = InMemoryRegistry()
    person = register(
        reg, resident_class=C.FOREIGN, name_kanji="ＳＭＩＴＨ\u3000ＥＭＭＡ", name_kana="スミス\u3000エマ"
    )
    result = run(reg, change(person, R.KOKUSEKI_SHUTOKU, name_kanji="佐藤\u3000恵麻", name_kana="サトウ\u3000エマ"))
    assert isinstance(result, Accepted), result
    assert result.person_key == 1 and result.retire_code is None
    after = reg.apply(result)
    assert (after.resident_class, after.record_status, after.juminhyo_code) == (
        C.JAPANESE,
        S.CURRENT,
        person.juminhyo_code,
    )
    assert after.name_kanji == "佐藤\u3000恵麻" and len(reg.records) == 1


def test_kokuseki_shutoku_may_not_change_the_address() -> None:
    reg = InMemoryRegistry()
    person = register(reg, resident_class=C.FOREIGN)
    cmd = change(person, R.KOKUSEKI_SHUTOKU, address="青森県弘前市大字土手町9番地")
    refuse(reg, cmd, "FIELD_CHANGE_NOT_ALLOWED", "address")


def test_kokuseki_shutoku_of_japanese_resident_refused_already_japanese() -> None:
    reg = InMemoryRegistry()
    person = register(reg)
    refuse(reg, change(person, R.KOKUSEKI_SHUTOKU), "ALREADY_JAPANESE", "resident_class")


def test_kokuseki_shutoku_of_person_without_record_creates_a_japanese_resident() -> None:
    reg = InMemoryRegistry()
    entry = base(4, resident_class=C.JAPANESE, previous_municipality_code="", previous_address="")
    record = accept(reg, valid_command(R.KOKUSEKI_SHUTOKU, entry, change_date=date(2015, 6, 1)))
    assert record.resident_class is C.JAPANESE and record.record_status is S.CURRENT


def test_kika_of_japanese_resident_refused_already_japanese() -> None:
    """帰化 (国籍法4条) is for a 外国人; a 日本人住民 cannot be naturalised (was accepted)."""
    reg = InMemoryRegistry()
    person = register(reg)
    refuse(reg, change(person, R.KIKA, name_kanji="山田\u3000花"), "ALREADY_JAPANESE", "resident_class")


def test_kika_entry_must_be_japanese() -> None:
    reg = InMemoryRegistry()
    person = register(reg, resident_class=C.FOREIGN)
    cmd = change(person, R.KIKA, resident_class=C.FOREIGN)
    assert check_command(cmd, FormatContext(today=TODAY, municipality_code=HIROSAKI)) == violation(
        "RESIDENT_CLASS_MISMATCH", "resident_class"
    )


def test_kokuseki_soshitsu_keeps_the_person_present_as_a_foreign_resident() -> None:
    """国籍喪失: under 住基法30条の45 the person becomes a 外国人住民 (国籍喪失による経過滞在者) and
    stays in the file; it used to remove them."""
    reg = InMemoryRegistry()
    person = register(reg, former_surname_kanji="佐藤", former_surname_kana="サトウ")
    after = accept(reg, change(person, R.KOKUSEKI_SOSHITSU))
    assert after.record_status is S.CURRENT and after.resident_class is C.FOREIGN
    assert not after.former_surname_kanji  # a 外国人住民 has no 旧氏
    accept(reg, plausible(after, R.TENKYO, n=5))  # still a resident: may move within the city


def test_kokuseki_soshitsu_of_foreign_resident_refused_not_japanese() -> None:
    reg = InMemoryRegistry()
    person = register(reg, resident_class=C.FOREIGN)
    refuse(reg, change(person, R.KOKUSEKI_SOSHITSU), "NOT_JAPANESE", "resident_class")


def test_zairyu_shikaku_shutoku_creates_a_foreign_resident() -> None:
    """在留資格取得 (入管法22条の2; 住基法30条の45): a 外国人 with a new status becomes a 外国人住民."""
    reg = InMemoryRegistry()
    entry = base(6, resident_class=C.FOREIGN, previous_municipality_code="", previous_address="")
    record = accept(reg, valid_command(R.ZAIRYU_SHIKAKU_SHUTOKU, entry, change_date=date(2015, 6, 1)))
    assert record.resident_class is C.FOREIGN and record.change_reason is R.ZAIRYU_SHIKAKU_SHUTOKU
    refuse(reg, change(record, R.ZAIRYU_SHIKAKU_SHUTOKU), "ALREADY_RESIDENT", "juminhyo_code")


@pytest.mark.parametrize("reason", [R.ZAIRYU_SHIKAKU_SHUTOKU, R.JUSHO_SETTEI])
def test_reasons_of_foreign_residents_refuse_a_japanese_entry(reason: ChangeReason) -> None:
    entry = base(6, resident_class=C.JAPANESE, previous_municipality_code="", previous_address="")
    found = check_command(valid_command(reason, entry, change_date=date(2015, 6, 1)), CTX_HIROSAKI)
    assert found is not None and (found.code, found.field) == ("RESIDENT_CLASS_MISMATCH", "resident_class")


@pytest.mark.parametrize(
    ("reason", "resident_class"), [(R.TENNYU, C.FOREIGN), (R.SHUSSEI, C.JAPANESE), (R.SHUSSEI, C.FOREIGN)]
)
def test_former_surname_refused_for_foreign_resident_and_on_birth(reason: ChangeReason, resident_class: C) -> None:
    """旧氏 (施行令30条の13) is a former 氏 of the 戸籍: a 外国人住民 has no 戸籍, a newborn no former 氏."""
    born = date(2015, 6, 1)
    entry = base(
        7,
        resident_class=resident_class,
        former_surname_kanji="佐藤",
        former_surname_kana="サトウ",
        juminhyo_code_since=born,
        **({"birth_date": born, "resident_since": born, "address_since": born} if reason is R.SHUSSEI else {}),
    )
    found = check_command(valid_command(reason, entry, change_date=born), CTX_HIROSAKI)
    assert found is not None and (found.code, found.field) == ("FORMER_SURNAME_NOT_ALLOWED", "former_surname_kanji")


def test_shokken_shusei_may_correct_the_class_of_an_old_record() -> None:
    """Versions stored before the 区分 was kept read as 日本人住民; 職権修正 corrects one."""
    reg = InMemoryRegistry()
    person = register(reg)
    fixed = accept(reg, change(person, R.SHOKKEN_SHUSEI, resident_class=C.FOREIGN))
    assert fixed.resident_class is C.FOREIGN


def test_stored_record_without_class_reads_as_japanese_resident() -> None:
    reg = InMemoryRegistry()
    record = register(reg).with_stored(1, datetime(2026, 1, 1, tzinfo=UTC))
    old = record_to_dict(record)
    del old["resident_class"]
    assert record_from_dict(old) == dataclasses.replace(record, resident_class=C.JAPANESE)


# -- where from: 転入 and 住所設定 -------------------------------------------------------------------


def test_tennyu_without_previous_address_refused() -> None:
    """転入 (住基法22条) is from another municipality or from abroad: 転入前住所 is known."""
    cmd = valid_command(
        R.TENNYU, base(8, previous_municipality_code="", previous_address=""), change_date=date(2015, 6, 1)
    )
    found = check_command(cmd, CTX_HIROSAKI)
    assert found is not None and (found.code, found.field) == ("MISSING_FIELD", "previous_address")


def test_tennyu_from_own_municipality_refused_it_is_a_tenkyo() -> None:
    """A move within the municipality is a 転居 (住基法23条), not a 転入."""
    cmd = valid_command(R.TENNYU, base(8, previous_municipality_code=HIROSAKI), change_date=date(2015, 6, 1))
    found = check_command(cmd, CTX_HIROSAKI)
    assert found is not None and (found.code, found.field) == (
        "TENNYU_WITHIN_MUNICIPALITY",
        "previous_municipality_code",
    )


def test_tennyu_from_abroad_has_no_previous_municipality_code() -> None:
    reg = InMemoryRegistry()
    record = register(reg, 8, previous_municipality_code="", previous_address="アメリカ合衆国ハワイ州")
    assert record.previous_municipality_code == ""


def test_jusho_settei_with_domestic_previous_code_refused() -> None:
    """住所設定 (住基法30条の46) is for a 中長期在留者等 from abroad: no 市町村コード(転入前)."""
    entry = base(9, resident_class=C.FOREIGN, previous_municipality_code=AOMORI)
    found = check_command(valid_command(R.JUSHO_SETTEI, entry, change_date=date(2015, 6, 1)), CTX_HIROSAKI)
    assert found is not None and (found.code, found.field) == (
        "JUSHO_SETTEI_FROM_DOMESTIC",
        "previous_municipality_code",
    )


# -- dates against each other and against the stored record ----------------------------------------


@pytest.mark.parametrize("reason", [R.TENNYU, R.TENKYO, R.JUSHO_SETTEI])
def test_notification_before_the_move_refused(reason: ChangeReason) -> None:
    """転入届 / 転居届 / 住所設定の届出 are made after the move (住基法22条, 23条, 30条の46)."""
    entry = base(10, resident_class=REQUIRED_CLASS.get(reason, C.JAPANESE), notified_on=date(2015, 5, 31))
    entry = fitted(entry, reason, date(2015, 6, 1), {"notified_on": None})
    found = check_command(valid_command(reason, entry, change_date=date(2015, 6, 1)), CTX_HIROSAKI)
    assert found is not None and (found.code, found.field) == ("DATE_ORDER", "notified_on")


def test_tenkyo_before_current_address_since_refused() -> None:
    """A 転居 (住基法23条) leaves the current address, set on 住所を定めた日 (2015-06-01)."""
    reg = InMemoryRegistry()
    person = register(reg)
    moving = plausible(person, R.TENKYO, date(2015, 5, 1), n=3)
    refuse(reg, moving, "DATE_BEFORE_STORED", "change_date")


def test_shibo_before_the_person_became_resident_refused() -> None:
    reg = InMemoryRegistry()
    person = register(reg)  # 住民となった日 2010-04-01
    refuse(reg, change(person, R.SHIBO, date(2009, 12, 31)), "DATE_BEFORE_STORED", "change_date")
    accept(reg, change(person, R.SHIBO, date(2010, 4, 1)))


def test_tennyu_of_new_person_must_carry_juminhyo_code_since() -> None:
    """The 住民票コード of a 転入 was given elsewhere (住基法30条の3): its 使用年月日 comes from the
    caller, not from the 転入日."""
    reg = InMemoryRegistry()
    cmd = valid_command(R.TENNYU, base(11), change_date=date(2010, 4, 1))
    refuse(reg, cmd, "MISSING_FIELD", "juminhyo_code_since")


def test_tennyu_of_former_resident_keeps_stored_juminhyo_code_since() -> None:
    reg = InMemoryRegistry()
    person = register(reg, juminhyo_code_since=date(1980, 5, 5))
    gone = accept(reg, plausible(person, R.TENSHUTSU, TODAY - 30 * DAY), TODAY - 30 * DAY)
    back = plausible(gone, R.TENNYU, n=7)
    back = dataclasses.replace(back, entry=dataclasses.replace(back.entry, juminhyo_code_since=None))
    assert accept(reg, back).juminhyo_code_since == date(1980, 5, 5)


# -- restoring a record ---------------------------------------------------------------------------


@pytest.mark.parametrize("removed_by", [R.SHISSO_SENKOKU, R.SHIBO])
def test_shokken_kisai_restores_a_record_removed_by_death_or_disappearance(removed_by: ChangeReason) -> None:
    """失踪宣告の取消 (民法32条1項) or a 死亡 recorded in error: the 市町村長 restores the 住民票 by
    職権 (住基法施行令12条3項). Same person, same 住民票コード, 現存者 again."""
    reg = InMemoryRegistry()
    gone = removed(reg, removed_by)
    restored = accept(reg, plausible(gone, R.SHOKKEN_KISAI, n=4))
    assert restored.record_status is S.CURRENT and restored.juminhyo_code == gone.juminhyo_code
    assert len(reg.records) == 1
    refuse(reg, plausible(gone, R.TENNYU, n=5), "ALREADY_RESIDENT")


def test_tenshutsu_torikeshi_refused_after_the_configured_period() -> None:
    """The 転入通知 of the new municipality (住基法9条1項) ends a 転出; the emulator receives none,
    so a configured period (default 30 days after the 転出) stands in for it."""
    reg = InMemoryRegistry()
    moved = TODAY - 40 * DAY
    gone = accept(reg, plausible(register(reg), R.TENSHUTSU, moved), moved)
    late = plausible(gone, R.TENSHUTSU_TORIKESHI)
    refuse(reg, late, "TENSHUTSU_TORIKESHI_TOO_LATE", "change_reason")
    assert isinstance(decide(late, reg, TODAY, RulesConfig(tenshutsu_torikeshi_days=60)), Accepted)
    on_time = TODAY - 30 * DAY
    gone2 = accept(reg, plausible(register(reg, 12), R.TENSHUTSU, on_time), on_time)
    accept(reg, plausible(gone2, R.TENSHUTSU_TORIKESHI))


# -- the rest of the lifecycle ----------------------------------------------------------------------


def test_setai_henko_changes_relationship_only() -> None:
    """世帯変更 (住基法25条): 世帯主 and 続柄 change, nothing else."""
    reg = InMemoryRegistry()
    person = register(reg, relationship=Relationship.CHILD)
    after = accept(reg, change(person, R.SETAI_HENKO, relationship=Relationship.HEAD))
    assert after.relationship is Relationship.HEAD and after.change_reason is R.SETAI_HENKO
    refuse(reg, change(after, R.SETAI_HENKO), "NO_CHANGE", "relationship")
    moving = change(after, R.SETAI_HENKO, relationship=Relationship.CHILD, address="青森県弘前市大字本町1番地")
    refuse(reg, moving, "FIELD_CHANGE_NOT_ALLOWED", "address")


def test_juminhyo_code_henko_needs_a_code_designated_for_this_municipality() -> None:
    """住基法30条の4: the new code is one of those the 機構 designated for the municipality (30条の2
    第2項); a configured range stands in for the designation."""
    reg = InMemoryRegistry()
    person = register(reg)
    rules = RulesConfig(designated_juminhyo_codes=((juminhyo_code(0), juminhyo_code(50)),))
    inside, outside = plausible(person, R.JUMINHYO_CODE_HENKO, n=7), plausible(person, R.JUMINHYO_CODE_HENKO, n=70)
    v = decide(outside, reg, TODAY, rules)
    assert isinstance(v, Violation) and (v.code, v.field) == ("JUMINHYO_CODE_NOT_DESIGNATED", "juminhyo_code")
    assert isinstance(decide(inside, reg, TODAY, rules), Accepted)
    assert isinstance(decide(outside, reg, TODAY), Accepted)  # no designation configured: any unused code


def test_shussei_needs_a_designated_code() -> None:
    """住基法30条の3第1項: a person never recorded anywhere gets a designated code."""
    reg = InMemoryRegistry()
    born = TODAY - 3 * DAY
    baby = base(13, birth_date=born, resident_since=born, address_since=born, notified_on=TODAY)
    rules = RulesConfig(designated_juminhyo_codes=((juminhyo_code(0), juminhyo_code(50)),))
    v = decide(valid_command(R.SHUSSEI, baby, change_date=born), reg, TODAY, rules)
    assert isinstance(v, Violation) and v.code == "JUMINHYO_CODE_NOT_DESIGNATED"


@pytest.mark.parametrize("removed_by", [R.TENSHUTSU, R.SHOKKEN_SHOJO])
def test_tennyu_of_former_resident_whose_code_changed_elsewhere_matched_by_individual_number(
    removed_by: ChangeReason,
) -> None:
    """Moved out, changed the 住民票コード elsewhere (住基法30条の4), back: a new code, the same
    個人番号 (番号法7条). The same person under the new code; the old code is retired."""
    reg = InMemoryRegistry()
    gone = removed(reg, removed_by)
    entry = base(14, individual_number=gone.individual_number, juminhyo_code_since=date(2020, 1, 1))
    result = run(reg, tennyu(entry))
    assert isinstance(result, Accepted), result
    assert result.person_key == 1 and result.retire_code == gone.juminhyo_code
    back = reg.apply(result)
    assert back.juminhyo_code == entry.juminhyo_code and len(reg.records) == 1
    assert reg.find(gone.juminhyo_code).retired  # type: ignore[union-attr]


def test_tennyu_with_number_of_present_person_still_refused() -> None:
    reg = InMemoryRegistry()
    present = register(reg, 1)
    refuse(reg, tennyu(base(15, individual_number=present.individual_number)), "INDIVIDUAL_NUMBER_IN_USE")


# -- items whose meaning is kept (#32, #35) --------------------------------------------------------


def test_record_read_after_planned_departure_date_is_removed_moved_out() -> None:
    """A 消除者 no longer reads back as 転出予定: as_of brings #35 and #32 up to date on reading."""
    reg = InMemoryRegistry()
    leaving = accept(reg, plausible(register(reg), R.TENSHUTSU, ahead=10))
    assert as_of(leaving, TODAY) is leaving  # still ahead: as stored
    read = as_of(leaving, TODAY + 10 * DAY)
    assert (read.record_status, read.prospective) == (S.REMOVED_MOVED_OUT, False)
    assert dataclasses.replace(read, record_status=leaving.record_status, prospective=True) == leaving
