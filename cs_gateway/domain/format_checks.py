"""Format checks (フォーマットチェック, seed III(2)-5): each item on its own and the dates
against each other. They need no stored state, only "today" and this municipality's code.
The first violation found is returned; None means the command is well formed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from .check_digit import (
    is_valid_individual_number,
    is_valid_juminhyo_code,
    is_valid_municipality_code,
    is_valid_postal_code,
)
from .enums import LEGACY_RELATIONSHIPS, ChangeReason, Relationship, ResidentClass, Sex
from .gaiji import scan
from .kana import first_non_kana, is_katakana_name
from .record import ResidentEntry, UpdateCommand
from .text import is_clean_text
from .violations import Violation, violation

_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,64}")
_ACTOR_ID = re.compile(r"[A-Za-z0-9._-]{1,32}")
_AZA_CODE = re.compile(r"[0-9]{7}")
# 転出予定日 may lie ahead of today (予定者), but not arbitrarily far.
MAX_PLANNED_DEPARTURE = timedelta(days=60)
MAX_NAME = 60
MAX_KANA = 100
MAX_ADDRESS = 200
MAX_DETAIL = 100
MAX_FORMER_SURNAME = 30


@dataclass(frozen=True, slots=True)
class FormatContext:
    today: date
    municipality_code: str  # this CS's own 市町村コード, e.g. 022021 (弘前市)


def check_command(cmd: UpdateCommand, ctx: FormatContext) -> Violation | None:
    """Every format rule of an update, in item order; the first violation or None."""
    for found in _command_violations(cmd, ctx):
        return found
    return None


def _command_violations(cmd: UpdateCommand, ctx: FormatContext) -> Iterator[Violation]:
    if not _REQUEST_ID.fullmatch(cmd.request_id):
        yield violation("INVALID_REQUEST_ID", "request_id")
    if not isinstance(cmd.change_reason, ChangeReason) or cmd.change_reason is ChangeReason.UNSPECIFIED:
        yield violation("INVALID_ENUM", "change_reason")
    if not _ACTOR_ID.fullmatch(cmd.operator_id):
        yield violation("INVALID_TEXT", "operator_id")
    if not _ACTOR_ID.fullmatch(cmd.terminal_id):
        yield violation("INVALID_TEXT", "terminal_id")
    detail = cmd.change_reason_detail
    if detail and len(detail) <= MAX_DETAIL and (refused_at := scan(detail)[1]):
        yield violation("CHARACTER_NOT_ALLOWED", "change_reason_detail", position=refused_at)
    if not is_clean_text(detail, max_len=MAX_DETAIL, allow_empty=True):
        yield violation("INVALID_TEXT", "change_reason_detail")
    if cmd.change_date is None:
        yield violation("MISSING_FIELD", "change_date")
    else:
        latest = ctx.today
        if cmd.change_reason is ChangeReason.TENSHUTSU:
            latest = ctx.today + MAX_PLANNED_DEPARTURE
        if cmd.change_date > latest:
            yield violation("FUTURE_DATE", "change_date")
    yield from _entry_violations(cmd.entry, ctx)
    entry = cmd.entry
    if cmd.change_date is not None and entry.birth_date is not None and cmd.change_date < entry.birth_date:
        yield violation("DATE_BEFORE_BIRTH", "change_date")
    yield from _reason_violations(cmd, ctx)
    if cmd.change_reason is ChangeReason.JUMINHYO_CODE_HENKO:
        if not entry.previous_juminhyo_code:
            yield violation("MISSING_FIELD", "previous_juminhyo_code")
        elif entry.previous_juminhyo_code == entry.juminhyo_code:
            yield violation("JUMINHYO_CODE_UNCHANGED", "juminhyo_code")


R = ChangeReason
C = ResidentClass
# The 区分 an entry must carry for these reasons (住基法30条の45; the person after the change).
REQUIRED_CLASS: dict[ChangeReason, ResidentClass] = {
    R.KOKUSEKI_SHUTOKU: C.JAPANESE,  # 国籍法3条・17条
    R.KIKA: C.JAPANESE,  # 国籍法4条
    R.KOKUSEKI_SOSHITSU: C.FOREIGN,  # 30条の45 表: 国籍喪失による経過滞在者
    R.JUSHO_SETTEI: C.FOREIGN,  # 30条の46: 中長期在留者等
    R.ZAIRYU_SHIKAKU_SHUTOKU: C.FOREIGN,  # 30条の47 / 入管法22条の2
}
# Reasons notified after the fact: 届出の年月日 is not before 異動年月日 (住基法22条, 23条, 30条の46).
NOTIFIED_AFTER = frozenset({R.TENNYU, R.TENKYO, R.JUSHO_SETTEI})


def _reason_violations(cmd: UpdateCommand, ctx: FormatContext) -> Iterator[Violation]:
    """What a 異動事由 requires of the entry itself (no stored state needed)."""
    e, reason = cmd.entry, cmd.change_reason
    required = REQUIRED_CLASS.get(reason)
    if required is not None and e.resident_class is not required:
        yield violation("RESIDENT_CLASS_MISMATCH", "resident_class")
    if e.former_surname_kanji and (e.resident_class is C.FOREIGN or reason is R.SHUSSEI):
        # 旧氏 (施行令30条の13): a former 氏 of the 戸籍; a 外国人住民 has no 戸籍, a newborn no former 氏.
        yield violation("FORMER_SURNAME_NOT_ALLOWED", "former_surname_kanji")
    if reason is R.TENNYU:
        # 転入 (住基法22条): from another municipality or from abroad, so 転入前住所 is known.
        if not e.previous_address:
            yield violation("MISSING_FIELD", "previous_address")
        if e.previous_municipality_code == ctx.municipality_code:
            yield violation("TENNYU_WITHIN_MUNICIPALITY", "previous_municipality_code")
    if reason is R.JUSHO_SETTEI and e.previous_municipality_code:
        yield violation("JUSHO_SETTEI_FROM_DOMESTIC", "previous_municipality_code")
    if (
        reason in NOTIFIED_AFTER
        and cmd.change_date is not None
        and e.notified_on is not None
        and e.notified_on < cmd.change_date
    ):
        yield violation("DATE_ORDER", "notified_on")


def _entry_violations(e: ResidentEntry, ctx: FormatContext) -> Iterator[Violation]:
    if not is_valid_juminhyo_code(e.juminhyo_code):
        yield violation("INVALID_JUMINHYO_CODE", "juminhyo_code")
    yield from _text_with_gaiji(e.name_kanji, e.name_gaiji_count, "name_kanji", "name_gaiji_count", MAX_NAME, False)
    yield from _kana(e.name_kana, "name_kana")
    yield from _required_past_date(e.birth_date, "birth_date", ctx.today)
    if not isinstance(e.sex, Sex) or e.sex is Sex.UNSPECIFIED:
        yield violation("INVALID_ENUM", "sex")
    if not is_valid_municipality_code(e.municipality_code):
        yield violation("INVALID_MUNICIPALITY_CODE", "municipality_code")
    elif e.municipality_code != ctx.municipality_code:
        yield violation("MUNICIPALITY_MISMATCH", "municipality_code")
    if not _AZA_CODE.fullmatch(e.aza_code):
        yield violation("INVALID_AZA_CODE", "aza_code")
    if not is_valid_postal_code(e.postal_code):
        yield violation("INVALID_POSTAL_CODE", "postal_code")
    yield from _text_with_gaiji(e.address, e.address_gaiji_count, "address", "address_gaiji_count", MAX_ADDRESS, False)
    if not is_valid_individual_number(e.individual_number):
        yield violation("INVALID_INDIVIDUAL_NUMBER", "individual_number")
    for name in ("resident_since", "address_since", "notified_on"):
        yield from _required_past_date(getattr(e, name), name, ctx.today)
    if e.previous_municipality_code and not is_valid_municipality_code(e.previous_municipality_code):
        yield violation("INVALID_MUNICIPALITY_CODE", "previous_municipality_code")
    yield from _text_with_gaiji(
        e.previous_address,
        e.previous_address_gaiji_count,
        "previous_address",
        "previous_address_gaiji_count",
        MAX_ADDRESS,
        True,
    )
    if not isinstance(e.relationship, Relationship) or e.relationship is Relationship.UNSPECIFIED:
        yield violation("INVALID_ENUM", "relationship")
    elif e.relationship in LEGACY_RELATIONSHIPS:
        yield violation("LEGACY_RELATIONSHIP", "relationship")
    if not isinstance(e.resident_class, ResidentClass) or e.resident_class is ResidentClass.UNSPECIFIED:
        yield violation("INVALID_ENUM", "resident_class")
    if e.previous_juminhyo_code and not is_valid_juminhyo_code(e.previous_juminhyo_code):
        yield violation("INVALID_JUMINHYO_CODE", "previous_juminhyo_code")
    if e.juminhyo_code_since is not None and e.juminhyo_code_since > ctx.today:
        yield violation("FUTURE_DATE", "juminhyo_code_since")
    yield from _text_with_gaiji(
        e.former_surname_kanji,
        e.former_surname_gaiji_count,
        "former_surname_kanji",
        "former_surname_gaiji_count",
        MAX_FORMER_SURNAME,
        True,
    )
    if e.former_surname_kana:
        yield from _kana(e.former_surname_kana, "former_surname_kana")
    if bool(e.former_surname_kanji) != bool(e.former_surname_kana):
        yield violation("INCOMPLETE_GROUP", "former_surname_kana" if e.former_surname_kanji else "former_surname_kanji")
    yield from _date_order(e)


def _text_with_gaiji(
    text: str, gaiji_count: int, field: str, count_field: str, max_len: int, allow_empty: bool
) -> Iterator[Violation]:
    """A 漢字 item: the repertoire of gaiji.py (refused: the field and the character's position,
    never the text), then the generic hygiene of text.py, then its 外字数."""
    if not text:
        if not allow_empty:
            yield violation("MISSING_FIELD", field)
        elif gaiji_count != 0:
            yield violation("GAIJI_COUNT_MISMATCH", count_field)
        return
    if len(text) > max_len:
        yield violation("INVALID_TEXT", field)
        return
    count, refused_at = scan(text)
    if refused_at:
        yield violation("CHARACTER_NOT_ALLOWED", field, position=refused_at)
    elif not is_clean_text(text, max_len=max_len):
        yield violation("INVALID_TEXT", field)
    elif gaiji_count != count:
        yield violation("GAIJI_COUNT_MISMATCH", count_field)


def _kana(text: str, field: str) -> Iterator[Violation]:
    """A kana item: katakana, ー and single full-width spaces between words only."""
    if len(text) > MAX_KANA:
        yield violation("INVALID_KANA", field)
    elif not is_katakana_name(text):
        yield violation("INVALID_KANA", field, position=first_non_kana(text))


def _required_past_date(value: date | None, field: str, today: date) -> Iterator[Violation]:
    if value is None:
        yield violation("MISSING_FIELD", field)
    elif value > today:
        yield violation("FUTURE_DATE", field)


_AFTER_BIRTH: tuple[str, ...] = ("resident_since", "address_since", "notified_on", "juminhyo_code_since")


def _date_order(e: ResidentEntry) -> Iterator[Violation]:
    """生年月日 is not after any other date of the person; 住所を定めた日 not before 住民となった日."""
    birth = e.birth_date
    if birth is None:
        return
    for name in _AFTER_BIRTH:
        value: date | None = getattr(e, name)
        if value is not None and value < birth:
            yield violation("DATE_BEFORE_BIRTH", name)
    if e.resident_since is not None and e.address_since is not None and e.address_since < e.resident_since:
        yield violation("DATE_ORDER", "address_since")
