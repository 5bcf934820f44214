"""Shared builders and hypothesis strategies for the domain tests.

Everything here is valid for 弘前市 (市町村コード 022021) on TODAY unless a test says otherwise:
``valid_entry``/``make_entry``/``st_valid_entry`` build ResidentEntry values that pass the format
checks, ``valid_command``/``st_valid_command`` wrap them in an UpdateCommand, and
``InMemoryRegistry`` is a small fake of the store (a RegistryView plus ``apply``) for pure
domain tests.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import random
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol, TypeVar

from hypothesis import strategies as st

from cs_gateway.domain.check_digit import (
    is_valid_municipality_code,
    make_individual_number,
    make_juminhyo_code,
)
from cs_gateway.domain.enums import LEGACY_RELATIONSHIPS, ChangeReason, Relationship, ResidentClass, Sex
from cs_gateway.domain.format_checks import FormatContext
from cs_gateway.domain.logic_checks import Accepted, decide
from cs_gateway.domain.record import ENTRY_FIELDS, IdentityRecord, ResidentEntry, UpdateCommand
from cs_gateway.domain.registry import StoredPerson

T = TypeVar("T")

TODAY = date(2026, 11, 29)
HIROSAKI = "022021"  # 弘前市
CTX = FormatContext(today=TODAY, municipality_code=HIROSAKI)
# Other real 市町村コード with a correct JIS X 0402 check digit.
AOMORI = "022012"  # 青森市
OTHER_MUNICIPALITIES = (AOMORI, "022039", "022047", "011002", "131016", "271004", "041009")
assert all(is_valid_municipality_code(c) for c in (HIROSAKI, *OTHER_MUNICIPALITIES))

SPACE = "\u3000"
KATAKANA = [chr(cp) for cp in range(0x30A1, 0x30F7)] + ["ー"]
KANJI = "山田川本中村小林佐藤鈴木高橋渡辺伊加吉松井上下清水森池石原野太郎花子一二三春夏秋冬明美和"
GAIJI_FIRST, GAIJI_LAST = 0xE000, 0xF8FF  # the BMP private use area
TOWNS = ("大字岩木町", "大字百石町", "大字土手町", "大字城東", "大字堅田", "大字紺屋町", "大字松原東", "大字桜ケ丘")
PREVIOUS_PREFIXES = ("青森県青森市", "青森県黒石市", "北海道札幌市中央区", "東京都千代田区", "大阪府大阪市")
ABROAD = (
    "アメリカ合衆国カリフォルニア州",
    "大韓民国ソウル特別市",
    "ベトナム社会主義共和国ハノイ市",
    "ブラジル連邦共和国",
)
LATIN = [chr(cp) for cp in range(0xFF21, 0xFF3B)]  # Ａ..Ｚ (JIS X 0208): a 外国人住民's name in letters
REQUEST_ID_ALPHABET = [chr(cp) for cp in range(0x21, 0x7F)]
ACTOR_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
RELATIONSHIPS = [r for r in Relationship if r is not Relationship.UNSPECIFIED and r not in LEGACY_RELATIONSHIPS]
REASONS = [r for r in ChangeReason if r is not ChangeReason.UNSPECIFIED]
EARLIEST_BIRTH = date(1920, 1, 1)
MAX_PLANNED_DAYS = 60


def gaiji(index: int = 0) -> str:
    """The index-th 外字 (private use character)."""
    return chr(GAIJI_FIRST + index)


# -- one builder, driven either by random.Random (make_entry) or by hypothesis (st_*) ---------


class Picker(Protocol):
    def integer(self, lo: int, hi: int) -> int: ...

    def text(self, alphabet: Sequence[str], lo: int, hi: int) -> str: ...


def _choice(p: Picker, seq: Sequence[T]) -> T:
    return seq[p.integer(0, len(seq) - 1)]


def _chance(p: Picker, percent: int) -> bool:
    return p.integer(1, 100) <= percent


def _date(p: Picker, lo: date, hi: date) -> date:
    return date.fromordinal(p.integer(lo.toordinal(), hi.toordinal()))


def _text(p: Picker, alphabet: Sequence[str], lo: int, hi: int) -> str:
    return p.text(alphabet, lo, hi)


class _RandomPicker:
    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def integer(self, lo: int, hi: int) -> int:
        return self._rng.randint(lo, hi)

    def text(self, alphabet: Sequence[str], lo: int, hi: int) -> str:
        return "".join(self._rng.choice(alphabet) for _ in range(self._rng.randint(lo, hi)))


class _DrawPicker:
    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any]) -> None:
        self._draw = draw

    def integer(self, lo: int, hi: int) -> int:
        return self._draw(_integers(lo, hi))

    def text(self, alphabet: Sequence[str], lo: int, hi: int) -> str:
        return self._draw(_texts("".join(alphabet), lo, hi))


# Building a strategy is costly next to drawing from it: build each one once.
@functools.cache
def _integers(lo: int, hi: int) -> st.SearchStrategy[int]:
    return st.integers(lo, hi)


@functools.cache
def _texts(alphabet: str, lo: int, hi: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=lo, max_size=hi)


def _kanji(p: Picker, lo: int, hi: int, gaiji_percent: int = 15) -> tuple[str, int]:
    """Kanji text with occasional 外字, and its 外字数."""
    chars = list(_text(p, KANJI, lo, hi))
    for _ in range(2):
        if _chance(p, gaiji_percent):
            chars[p.integer(0, len(chars) - 1)] = chr(p.integer(GAIJI_FIRST, GAIJI_LAST))
    count = sum(1 for ch in chars if GAIJI_FIRST <= ord(ch) <= GAIJI_LAST)
    return "".join(chars), count


def _kana(p: Picker) -> str:
    return SPACE.join(_text(p, KATAKANA, 1, 6) for _ in range(p.integer(1, 2)))


def _address(p: Picker, prefix: str) -> tuple[str, int]:
    town, count = _kanji(p, 1, 4, gaiji_percent=10)
    return f"{prefix}{town}{p.integer(1, 9)}丁目{p.integer(1, 999)}番地{p.integer(1, 99)}", count


def _build_entry(p: Picker, today: date) -> ResidentEntry:
    resident_class = ResidentClass.FOREIGN if _chance(p, 30) else ResidentClass.JAPANESE
    surname, surname_gaiji = _kanji(p, 1, 3)
    given, given_gaiji = _kanji(p, 1, 3)
    name = surname + (SPACE if _chance(p, 50) else "") + given
    if resident_class is ResidentClass.FOREIGN and _chance(p, 60):
        name, surname_gaiji, given_gaiji = _text(p, LATIN, 1, 12) + SPACE + _text(p, LATIN, 1, 12), 0, 0
    address, address_gaiji = _address(p, "青森県弘前市" + _choice(p, TOWNS))
    birth = _date(p, EARLIEST_BIRTH, today)
    resident_since = _date(p, birth, today)
    address_since = _date(p, resident_since, today)
    notified_on = _date(p, address_since, today)
    previous_municipality, previous_address, previous_gaiji = "", "", 0
    if _chance(p, 60):
        previous_municipality = _choice(p, OTHER_MUNICIPALITIES)
        previous_address, previous_gaiji = _address(p, _choice(p, PREVIOUS_PREFIXES))
    former_kanji, former_gaiji, former_kana = "", 0, ""
    if resident_class is ResidentClass.JAPANESE and _chance(p, 20):  # 旧氏: 日本人住民 only
        former_kanji, former_gaiji = _kanji(p, 1, 3)
        former_kana = _kana(p)
    return ResidentEntry(
        juminhyo_code=make_juminhyo_code(f"{p.integer(0, 10**10 - 1):010d}"),
        name_kanji=name,
        name_gaiji_count=surname_gaiji + given_gaiji,
        name_kana=_kana(p),
        birth_date=birth,
        sex=_choice(p, [Sex.MALE, Sex.FEMALE]),
        municipality_code=HIROSAKI,
        aza_code=f"{p.integer(0, 9_999_999):07d}",
        postal_code=f"036{p.integer(0, 9999):04d}",
        address=address,
        address_gaiji_count=address_gaiji,
        individual_number=make_individual_number(f"{p.integer(0, 10**11 - 1):011d}"),
        resident_since=resident_since,
        address_since=address_since,
        notified_on=notified_on,
        previous_municipality_code=previous_municipality,
        previous_address=previous_address,
        previous_address_gaiji_count=previous_gaiji,
        relationship=_choice(p, RELATIONSHIPS),
        previous_juminhyo_code="",
        juminhyo_code_since=_date(p, birth, today) if _chance(p, 30) else None,
        update_prohibited=False,
        former_surname_kanji=former_kanji,
        former_surname_gaiji_count=former_gaiji,
        former_surname_kana=former_kana,
        resident_class=resident_class,
    )


# The 区分 the entry must carry for these reasons (format_checks.REQUIRED_CLASS).
_CLASS_OF_REASON = {
    ChangeReason.KOKUSEKI_SHUTOKU: ResidentClass.JAPANESE,
    ChangeReason.KIKA: ResidentClass.JAPANESE,
    ChangeReason.KOKUSEKI_SOSHITSU: ResidentClass.FOREIGN,
    ChangeReason.JUSHO_SETTEI: ResidentClass.FOREIGN,
    ChangeReason.ZAIRYU_SHIKAKU_SHUTOKU: ResidentClass.FOREIGN,
}


def fit_to_reason(p: Picker, reason: ChangeReason, entry: ResidentEntry) -> ResidentEntry:
    """The entry as the 既存住基 would send it for reason: the 区分 the reason requires (no 旧氏
    for a 外国人住民 or on 出生), where from for 転入 / 住所設定, the 住民票コード使用年月日 of a 転入."""
    resident_class = _CLASS_OF_REASON.get(reason, entry.resident_class)
    entry = dataclasses.replace(entry, resident_class=resident_class)
    if resident_class is ResidentClass.FOREIGN or reason is ChangeReason.SHUSSEI:
        entry = dataclasses.replace(
            entry, former_surname_kanji="", former_surname_gaiji_count=0, former_surname_kana=""
        )
    if reason is ChangeReason.TENNYU and not entry.previous_address:
        address, count = _address(p, _choice(p, ABROAD))  # from abroad: no 市町村コード(転入前)
        entry = dataclasses.replace(entry, previous_address=address, previous_address_gaiji_count=count)
    if reason is ChangeReason.JUSHO_SETTEI:
        entry = dataclasses.replace(entry, previous_municipality_code="")
        if entry.previous_address:
            address, count = _address(p, _choice(p, ABROAD))
            entry = dataclasses.replace(entry, previous_address=address, previous_address_gaiji_count=count)
    if reason is ChangeReason.TENNYU and entry.juminhyo_code_since is None:
        assert entry.birth_date and entry.address_since
        entry = dataclasses.replace(entry, juminhyo_code_since=_date(p, entry.birth_date, entry.address_since))
    return entry


def _build_command(p: Picker, reason: ChangeReason, entry: ResidentEntry, today: date) -> UpdateCommand:
    assert entry.birth_date and entry.address_since
    entry = fit_to_reason(p, reason, entry)
    if reason is ChangeReason.SHUSSEI:
        entry = dataclasses.replace(entry, resident_since=entry.birth_date)
        change_date = entry.birth_date
    elif reason is ChangeReason.TENSHUTSU:
        change_date = _date(p, entry.address_since, today + timedelta(days=MAX_PLANNED_DAYS))
    elif reason in (ChangeReason.TENNYU, ChangeReason.TENKYO, ChangeReason.JUSHO_SETTEI):
        change_date = entry.address_since
    else:
        change_date = _date(p, entry.address_since, today)
    if reason is ChangeReason.JUMINHYO_CODE_HENKO:
        old = entry.juminhyo_code
        while old == entry.juminhyo_code:
            old = make_juminhyo_code(f"{p.integer(0, 10**10 - 1):010d}")
        entry = dataclasses.replace(entry, previous_juminhyo_code=old)
    detail = "" if _chance(p, 70) else _kanji(p, 1, 20, gaiji_percent=0)[0]
    return UpdateCommand(
        request_id=_text(p, REQUEST_ID_ALPHABET, 1, 64),
        change_reason=reason,
        change_date=change_date,
        change_reason_detail=detail,
        operator_id=_text(p, ACTOR_ALPHABET, 1, 32),
        terminal_id=_text(p, ACTOR_ALPHABET, 1, 32),
        entry=entry,
    )


# -- plain builders ----------------------------------------------------------------------------


def make_entry(seed: int, *, today: date = TODAY) -> ResidentEntry:
    """A deterministic valid entry; different seeds give different 住民票コード and 個人番号."""
    picker = _RandomPicker(seed)
    entry = fit_to_reason(picker, ChangeReason.TENNYU, _build_entry(picker, today))
    # Bijections of the seed (multipliers coprime with 10), so that codes never collide. A 日本人住民
    # (tests that need a 外国人住民 say so), fit for a 転入.
    return dataclasses.replace(
        entry,
        resident_class=ResidentClass.JAPANESE,
        juminhyo_code=make_juminhyo_code(f"{(seed * 7919 + 4_000_000_001) % 10**10:010d}"),
        individual_number=make_individual_number(f"{(seed * 104_729 + 50_000_000_003) % 10**11:011d}"),
    )


def valid_entry(seed: int = 0, **changes: Any) -> ResidentEntry:
    """make_entry(seed) with some items replaced."""
    return dataclasses.replace(make_entry(seed), **changes)


def juminhyo_code(n: int) -> str:
    """A valid 住民票コード that make_entry never hands out for small n."""
    return make_juminhyo_code(f"{9_000_000_000 + n:010d}")


def individual_number(n: int) -> str:
    """A valid 個人番号 that make_entry never hands out for small n."""
    return make_individual_number(f"{90_000_000_000 + n:011d}")


_request_ids = itertools.count(1)


def valid_command(
    reason: ChangeReason = ChangeReason.TENNYU,
    entry: ResidentEntry | None = None,
    *,
    change_date: date | None = None,
    request_id: str | None = None,
    change_reason_detail: str = "",
    operator_id: str = "op001",
    terminal_id: str = "term-01",
) -> UpdateCommand:
    """An UpdateCommand for entry (default make_entry(0)); the change date defaults to TODAY,
    or to the birth date for 出生."""
    entry = entry if entry is not None else make_entry(0)
    if change_date is None:
        change_date = entry.birth_date if reason is ChangeReason.SHUSSEI else TODAY
    return UpdateCommand(
        request_id=request_id or f"REQ-{next(_request_ids):08d}",
        change_reason=reason,
        change_date=change_date,
        change_reason_detail=change_reason_detail,
        operator_id=operator_id,
        terminal_id=terminal_id,
        entry=entry,
    )


def entry_of(record: IdentityRecord, **changes: Any) -> ResidentEntry:
    """The entry that would reproduce a stored record, with some items replaced."""
    values = {name: getattr(record, name) for name in ENTRY_FIELDS}
    values.update(changes)
    return ResidentEntry(**values)


# -- hypothesis strategies ---------------------------------------------------------------------


@st.composite
def st_valid_entry(draw: Callable[[st.SearchStrategy[Any]], Any], today: date = TODAY) -> ResidentEntry:
    """A valid entry of either 区分, fit for a 転入."""
    p = _DrawPicker(draw)
    return fit_to_reason(p, ChangeReason.TENNYU, _build_entry(p, today))


@st.composite
def st_valid_command(
    draw: Callable[[st.SearchStrategy[Any]], Any],
    reason: ChangeReason | None = ChangeReason.TENNYU,
    today: date = TODAY,
) -> UpdateCommand:
    """A well-formed command for reason (None: any reason)."""
    p = _DrawPicker(draw)
    if reason is None:
        reason = draw(st.sampled_from(REASONS))
    return _build_command(p, reason, _build_entry(p, today), today)


# -- a fake of the store -----------------------------------------------------------------------


class InMemoryRegistry:
    """RegistryView over dicts; ``apply`` stores an Accepted the way SqliteStore._write does:
    a new person key when person_key is None, the retired code marked, the new code and the
    個人番号 recorded for the person for good (first holder wins)."""

    def __init__(self) -> None:
        self.records: dict[int, IdentityRecord] = {}
        self.codes: dict[str, tuple[int, bool]] = {}  # 住民票コード -> (person key, retired)
        self.numbers: dict[str, int] = {}  # 個人番号 -> person key, every number ever assigned
        self.update_seq = 0

    def find(self, juminhyo_code: str) -> StoredPerson | None:
        hit = self.codes.get(juminhyo_code)
        if hit is None:
            return None
        key, retired = hit
        return StoredPerson(person_key=key, record=self.records[key], retired=retired)

    def individual_number_holder(self, individual_number: str) -> int | None:
        return self.numbers.get(individual_number)

    def person(self, person_key: int) -> StoredPerson | None:
        record = self.records.get(person_key)
        return None if record is None else StoredPerson(person_key=person_key, record=record, retired=False)

    def apply(self, accepted: Accepted) -> IdentityRecord:
        self.update_seq += 1
        record = accepted.record.with_stored(self.update_seq, datetime(2026, 11, 29, 9, 0, tzinfo=UTC))
        key = accepted.person_key
        if key is None:
            key = len(self.records) + 1
        else:
            assert key in self.records, "update of an unknown person"
        # persons.juminhyo_code is UNIQUE in the real store.
        holder = next((k for k, r in self.records.items() if r.juminhyo_code == record.juminhyo_code), key)
        assert holder == key, "two persons would hold one 住民票コード"
        self.records[key] = record
        if accepted.retire_code is not None:
            self.codes[accepted.retire_code] = (self.codes[accepted.retire_code][0], True)
        self.codes.setdefault(record.juminhyo_code, (key, False))
        self.numbers.setdefault(record.individual_number, key)
        return record


@st.composite
def st_stored_record(draw: Callable[[st.SearchStrategy[Any]], Any]) -> IdentityRecord:
    """A record as the write path stores it: a well-formed 転入 accepted into an empty file, with
    its 更新順番号 and タイムスタンプ (any microsecond)."""
    cmd = draw(st_valid_command())
    seq = draw(st.integers(1, 2**40))
    stamp = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(
        seconds=draw(st.integers(0, 10**8)), microseconds=draw(st.integers(0, 10**6 - 1))
    )
    decision = decide(cmd, InMemoryRegistry(), TODAY)
    assert isinstance(decision, Accepted)
    return decision.record.with_stored(seq, stamp)
