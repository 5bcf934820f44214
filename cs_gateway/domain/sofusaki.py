"""Format checks of one 送付先情報 (送付先情報ファイル, seed 別添1 (3), 66 items) as 既存住基 submits it.

The CS checks, and never edits: what passes is stored and forwarded to the 機構 byte for byte
(peers/jlis_forwarder.py). The items arrive as a mapping of the wire names (the proto's fields,
numbered as the seed numbers the items); dates as ``date | None``, enums as ints.

Every 漢字 text item comes with its 項目長 (its length in characters) and, where the seed has one,
its 外字数 (domain/gaiji.py); both must agree with the text. The first violation is returned.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date

from .check_digit import (
    is_valid_individual_number,
    is_valid_juminhyo_code,
    is_valid_municipality_code,
    is_valid_postal_code,
)
from .format_checks import _ACTOR_ID, MAX_ADDRESS, MAX_FORMER_SURNAME, MAX_KANA, MAX_NAME, _kana, _text_with_gaiji
from .gaiji import scan
from .violations import Violation, violation

ITEM_COUNT = 66

# 漢字 items: (text, its 項目長 item or "", its 外字数 item or "" (then no 外字 at all), max length, required)
KANJI_ITEMS: tuple[tuple[str, str, str, int, bool], ...] = (
    ("sofusaki_address", "sofusaki_address_length", "sofusaki_address_gaiji_count", MAX_ADDRESS, True),
    ("sofusaki_name", "sofusaki_name_length", "sofusaki_name_gaiji_count", MAX_NAME, True),
    ("municipality_name", "municipality_name_length", "", MAX_NAME, True),
    ("municipality_address", "municipality_address_length", "municipality_address_gaiji_count", MAX_ADDRESS, True),
    ("issue_place_name", "issue_place_name_length", "issue_place_name_gaiji_count", MAX_NAME, True),
    ("issue_place_address", "issue_place_address_length", "issue_place_address_gaiji_count", MAX_ADDRESS, True),
    ("card_place_name", "card_place_name_length", "card_place_name_gaiji_count", MAX_NAME, True),
    ("card_place_address", "card_place_address_length", "card_place_address_gaiji_count", MAX_ADDRESS, True),
    ("name_kanji", "name_kanji_length", "name_kanji_gaiji_count", MAX_NAME, True),
    ("address", "address_length", "address_gaiji_count", MAX_ADDRESS, True),
    ("substitute_name", "substitute_name_length", "", MAX_NAME, False),
    ("substitute_address", "substitute_address_length", "", MAX_ADDRESS, False),
    ("former_surname_kanji", "", "former_surname_gaiji_count", MAX_FORMER_SURNAME, False),
)
POSTAL_CODES = (
    "sofusaki_postal_code",
    "municipality_postal_code",
    "issue_place_postal_code",
    "card_place_postal_code",
    "postal_code",
)
PHONES = ("municipality_phone", "issue_place_phone", "card_place_phone")
# 住基法30条の45 区分: 0 = 該当なし (日本人), 1 中長期在留者, 2 特別永住者, 3 一時庇護許可者,
# 4 仮滞在許可者, 5 出生による経過滞在者, 6 国籍喪失による経過滞在者.
KUBUN_NONE, KUBUN_CHUCHOKI, KUBUN_TOKUBETSU_EIJU, KUBUN_MAX = 0, 1, 2, 6
# 在留期間の満了の日: required for these 区分, never recorded for 日本人 or 特別永住者.
EXPIRY_REQUIRED = frozenset({1, 3, 4})
EXPIRY_FORBIDDEN = frozenset({KUBUN_NONE, KUBUN_TOKUBETSU_EIJU})

_SOFUSAKI_NUMBER = re.compile(r"[0-9A-Za-z-]{1,20}")
_PHONE = re.compile(r"0[0-9]{1,4}-?[0-9]{1,4}-?[0-9]{3,4}")
_ONE_DIGIT = re.compile(r"[0-9]")
_POSITIONS = re.compile(r"(?:[0-9]{1,3}(?:,[0-9]{1,3})*)?")
_PATTERN = re.compile(r"[\x21-\x7e]{0,64}")
_ROMAJI = re.compile(r"(?:[A-Z]+(?: [A-Z]+)*)?")
MAX_ROMAJI = 100
MAX_PERSONS = 99


def check_sofusaki(items: Mapping[str, object], *, municipality_code: str, today: date) -> Violation | None:
    """The first format violation of a 送付先情報, or None."""
    return next(_violations(items, municipality_code, today), None)


def _violations(it: Mapping[str, object], municipality_code: str, today: date) -> Iterator[Violation]:
    def text(name: str) -> str:
        value = it.get(name, "")
        return value if isinstance(value, str) else ""

    def number(name: str) -> int:
        value = it.get(name, 0)
        return value if isinstance(value, int) else -1

    if not _SOFUSAKI_NUMBER.fullmatch(text("sofusaki_number")):
        yield violation("MISSING_FIELD" if not text("sofusaki_number") else "INVALID_VALUE", "sofusaki_number")
    for name in POSTAL_CODES:
        if not is_valid_postal_code(text(name)):
            yield violation("INVALID_POSTAL_CODE", name)
    for name in PHONES:
        if not _PHONE.fullmatch(text(name)) or len(text(name).replace("-", "")) not in (10, 11):
            yield violation("INVALID_PHONE", name)
    code = text("municipality_code")
    if not is_valid_municipality_code(code):
        yield violation("INVALID_MUNICIPALITY_CODE", "municipality_code")
    elif code != municipality_code:
        yield violation("MUNICIPALITY_MISMATCH", "municipality_code")
    gaiji_total = 0
    for name, length_name, count_name, max_len, required in KANJI_ITEMS:
        value = text(name)
        count = number(count_name) if count_name else 0
        yield from _text_with_gaiji(value, count, name, count_name or name, max_len, not required)
        if length_name and number(length_name) != len(value):
            yield violation("ITEM_LENGTH_MISMATCH", length_name)
        gaiji_total += scan(value)[0] if value else 0
    kana = text("name_kana")
    if not kana:
        yield violation("MISSING_FIELD", "name_kana")
    yield from _kana(kana, "name_kana")
    if number("name_kana_length") != len(kana):
        yield violation("ITEM_LENGTH_MISMATCH", "name_kana_length")
    former_kana = text("former_surname_kana")
    if former_kana:
        yield from _kana(former_kana, "former_surname_kana")
    if bool(text("former_surname_kanji")) != bool(former_kana):
        yield violation("INCOMPLETE_GROUP", "former_surname_kana" if former_kana == "" else "former_surname_kanji")
    if len(former_kana) > MAX_KANA:
        yield violation("INVALID_KANA", "former_surname_kana")
    if not 1 <= number("person_count") <= MAX_PERSONS:
        yield violation("INVALID_VALUE", "person_count")
    yield from _past_date(it.get("processed_on"), "processed_on", today)
    for name in ("operator_id", "terminal_id"):
        if not _ACTOR_ID.fullmatch(text(name)):
            yield violation("INVALID_TEXT", name)
    for name in ("print_class", "substitute_result"):
        if not _ONE_DIGIT.fullmatch(text(name)):
            yield violation("INVALID_VALUE", name)
    if not is_valid_juminhyo_code(text("juminhyo_code")):
        yield violation("INVALID_JUMINHYO_CODE", "juminhyo_code")
    yield from _past_date(it.get("birth_date"), "birth_date", today)
    if number("sex") not in (1, 2):
        yield violation("INVALID_ENUM", "sex")
    if not is_valid_individual_number(text("individual_number")):
        yield violation("INVALID_INDIVIDUAL_NUMBER", "individual_number")
    kubun = number("kubun_30_45")
    expiry = it.get("residence_expiry")
    if not KUBUN_NONE <= kubun <= KUBUN_MAX:
        yield violation("INVALID_KUBUN", "kubun_30_45")
    elif kubun in EXPIRY_REQUIRED and expiry is None:
        yield violation("MISSING_FIELD", "residence_expiry")
    elif kubun in EXPIRY_FORBIDDEN and expiry is not None:
        yield violation("EXPIRY_NOT_APPLICABLE", "residence_expiry")
    for name in ("substitute_name_positions", "substitute_address_positions"):
        if len(text(name)) > MAX_ADDRESS or not _POSITIONS.fullmatch(text(name)):
            yield violation("INVALID_VALUE", name)
    if not _PATTERN.fullmatch(text("gaiji_pattern")):
        yield violation("INVALID_VALUE", "gaiji_pattern")
    if bool(it.get("gaiji_flag")) != (gaiji_total > 0):
        yield violation("GAIJI_FLAG_MISMATCH", "gaiji_flag")
    for name in ("romaji_name", "romaji_former_surname"):
        if len(text(name)) > MAX_ROMAJI or not _ROMAJI.fullmatch(text(name)):
            yield violation("INVALID_TEXT", name)


def _past_date(value: object, field: str, today: date) -> Iterator[Violation]:
    if not isinstance(value, date):
        yield violation("MISSING_FIELD", field)
    elif value > today:
        yield violation("FUTURE_DATE", field)
