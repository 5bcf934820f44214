"""Format checks (フォーマットチェック): one test per rule, then properties over valid commands
and over valid commands with one item broken."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cs_gateway.domain.check_digit import make_individual_number, make_juminhyo_code
from cs_gateway.domain.enums import ChangeReason, Relationship, ResidentClass, Sex
from cs_gateway.domain.format_checks import (
    MAX_ADDRESS,
    MAX_DETAIL,
    MAX_FORMER_SURNAME,
    MAX_KANA,
    MAX_NAME,
    NOTIFIED_AFTER,
    REQUIRED_CLASS,
    FormatContext,
    check_command,
)
from cs_gateway.domain.record import ResidentEntry, UpdateCommand
from cs_gateway.domain.violations import Violation
from tests.strategies import (
    ACTOR_ALPHABET,
    AOMORI,
    CTX,
    HIROSAKI,
    KANJI,
    KATAKANA,
    MAX_PLANNED_DAYS,
    OTHER_MUNICIPALITIES,
    REASONS,
    REQUEST_ID_ALPHABET,
    TODAY,
    gaiji,
    juminhyo_code,
    st_valid_command,
    valid_command,
    valid_entry,
)

R = ChangeReason
DAY = timedelta(days=1)
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")

BASE = valid_entry(
    0,
    juminhyo_code=make_juminhyo_code("1234567890"),
    name_kanji="山田\u3000太郎",
    name_gaiji_count=0,
    name_kana="ヤマダ\u3000タロウ",
    birth_date=date(1980, 5, 5),
    sex=Sex.MALE,
    aza_code="0010203",
    postal_code="0368588",
    address="青森県弘前市大字上白銀町1番地1",
    address_gaiji_count=0,
    individual_number=make_individual_number("12345678901"),
    resident_since=date(2010, 4, 1),
    address_since=date(2015, 6, 1),
    notified_on=date(2015, 6, 10),
    previous_municipality_code=AOMORI,
    previous_address="青森県青森市長島一丁目1番1号",
    previous_address_gaiji_count=0,
    relationship=Relationship.HEAD,
    previous_juminhyo_code="",
    juminhyo_code_since=None,
    former_surname_kanji="",
    former_surname_gaiji_count=0,
    former_surname_kana="",
)


def command(reason: ChangeReason = R.TENNYU, change_date: date | None = TODAY, **entry_changes: Any) -> UpdateCommand:
    """A well-formed command for reason on BASE with some entry items replaced."""
    entry = dataclasses.replace(BASE, **entry_changes)
    if reason is R.JUMINHYO_CODE_HENKO and "previous_juminhyo_code" not in entry_changes:
        entry = dataclasses.replace(entry, previous_juminhyo_code=juminhyo_code(1))
    if reason is R.SHUSSEI and "resident_since" not in entry_changes:
        entry = dataclasses.replace(entry, resident_since=entry.birth_date)
    if reason in REQUIRED_CLASS and "resident_class" not in entry_changes:
        entry = dataclasses.replace(entry, resident_class=REQUIRED_CLASS[reason])
    if reason is R.JUSHO_SETTEI and "previous_municipality_code" not in entry_changes:
        entry = dataclasses.replace(entry, previous_municipality_code="", previous_address="大韓民国ソウル特別市")
    if reason in NOTIFIED_AFTER and change_date and "notified_on" not in entry_changes:
        entry = dataclasses.replace(entry, notified_on=max(change_date, entry.notified_on or change_date))
    return valid_command(reason, entry, change_date=change_date)


def with_cmd(cmd: UpdateCommand, **changes: Any) -> UpdateCommand:
    return dataclasses.replace(cmd, **changes)


def with_entry(cmd: UpdateCommand, **changes: Any) -> UpdateCommand:
    return dataclasses.replace(cmd, entry=dataclasses.replace(cmd.entry, **changes))


def assert_refused(cmd: UpdateCommand, code: str, field: str, ctx: FormatContext = CTX) -> Violation:
    found = check_command(cmd, ctx)
    assert found is not None, f"expected {code} on {field}, but the command was accepted"
    assert (found.code, found.field) == (code, field)
    return found


# A text item is refused INVALID_TEXT (length, outer white space, not NFC) or, for a character
# outside the repertoire (gaiji.py), CHARACTER_NOT_ALLOWED with the character's position.
TEXT_REFUSALS = ("INVALID_TEXT", "CHARACTER_NOT_ALLOWED")


def assert_text_refused(cmd: UpdateCommand, field: str) -> Violation:
    found = check_command(cmd, CTX)
    assert found is not None, f"expected a text refusal on {field}, but the command was accepted"
    assert found.code in TEXT_REFUSALS and found.field == field, (found.code, found.field)
    return found


def assert_passes(cmd: UpdateCommand, ctx: FormatContext = CTX) -> None:
    assert check_command(cmd, ctx) is None


def wrong_check_digit(code: str) -> str:
    return code[:-1] + str((int(code[-1]) + 1) % 10)


def test_base_command_passes_for_every_reason() -> None:
    for reason in REASONS:
        assert_passes(command(reason))


# -- command items -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", " ", "REQ 1", "REQ-１", "依頼1", "x" * 65, "REQ\t1", "REQ\x7f", "REQ\n"])
def test_request_id_must_be_printable_ascii(value: str) -> None:
    assert_refused(with_cmd(command(), request_id=value), "INVALID_REQUEST_ID", "request_id")


@pytest.mark.parametrize("value", ["!", "~" * 64, "A-1/2:3?{}"])
def test_request_id_of_1_to_64_printable_ascii_accepted(value: str) -> None:
    assert_passes(with_cmd(command(), request_id=value))


def test_unspecified_change_reason_refused() -> None:
    assert_refused(with_cmd(command(), change_reason=R.UNSPECIFIED), "INVALID_ENUM", "change_reason")


@pytest.mark.parametrize("field", ["operator_id", "terminal_id"])
@pytest.mark.parametrize("value", ["", "op 1", "操作者", "a" * 33, "op\n", "op/1", "ｏｐ"])
def test_operator_and_terminal_id_must_be_short_ascii_names(field: str, value: str) -> None:
    assert_refused(with_cmd(command(), **{field: value}), "INVALID_TEXT", field)


@pytest.mark.parametrize(
    "value", ["理由\x00", " 理由", "理由\u3000", "理\n由", "理由\u200b", "カ\u3099", "あ" * (MAX_DETAIL + 1)]
)
def test_change_reason_detail_must_be_clean_text(value: str) -> None:
    assert_text_refused(with_cmd(command(), change_reason_detail=value), "change_reason_detail")


def test_change_reason_detail_may_be_empty_or_up_to_max() -> None:
    assert_passes(with_cmd(command(), change_reason_detail=""))
    assert_passes(with_cmd(command(), change_reason_detail="あ" * MAX_DETAIL))


def test_change_date_required() -> None:
    assert_refused(with_cmd(command(), change_date=None), "MISSING_FIELD", "change_date")


@pytest.mark.parametrize("reason", [r for r in REASONS if r is not R.TENSHUTSU])
def test_future_change_date_refused_except_planned_tenshutsu(reason: ChangeReason) -> None:
    assert_passes(command(reason, change_date=TODAY if reason is not R.SHUSSEI else BASE.birth_date))
    assert_refused(command(reason, change_date=TODAY + DAY), "FUTURE_DATE", "change_date")


def test_planned_tenshutsu_at_most_60_days_ahead() -> None:
    assert_passes(command(R.TENSHUTSU, change_date=TODAY + DAY))
    assert_passes(command(R.TENSHUTSU, change_date=TODAY + timedelta(days=MAX_PLANNED_DAYS)))
    assert_refused(
        command(R.TENSHUTSU, change_date=TODAY + timedelta(days=MAX_PLANNED_DAYS + 1)), "FUTURE_DATE", "change_date"
    )


def test_change_date_before_birth_refused() -> None:
    assert_refused(command(change_date=BASE.birth_date - DAY), "DATE_BEFORE_BIRTH", "change_date")
    assert_passes(command(change_date=BASE.birth_date))


def test_juminhyo_code_henko_requires_previous_code() -> None:
    assert_refused(command(R.JUMINHYO_CODE_HENKO, previous_juminhyo_code=""), "MISSING_FIELD", "previous_juminhyo_code")


def test_juminhyo_code_henko_must_change_the_code() -> None:
    cmd = command(R.JUMINHYO_CODE_HENKO, previous_juminhyo_code=BASE.juminhyo_code)
    assert_refused(cmd, "JUMINHYO_CODE_UNCHANGED", "juminhyo_code")


# -- entry items -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        wrong_check_digit(BASE.juminhyo_code),
        BASE.juminhyo_code[:-1],
        BASE.juminhyo_code + "0",
        "1234567890a",
        "",
        "1234-567890",
    ],
)
def test_juminhyo_code_with_bad_check_digit_refused(value: str) -> None:
    assert_refused(command(juminhyo_code=value), "INVALID_JUMINHYO_CODE", "juminhyo_code")


def test_name_kanji_required() -> None:
    assert_refused(command(name_kanji=""), "MISSING_FIELD", "name_kanji")


@pytest.mark.parametrize(
    "value",
    ["山田\x00", " 山田", "山田\u3000", "山田\n太郎", "山\u200d田", "山田\u2028", "カ\u3099", "山" * (MAX_NAME + 1)],
)
def test_name_kanji_must_be_clean_single_line_text(value: str) -> None:
    assert_text_refused(command(name_kanji=value), "name_kanji")


def test_name_kanji_up_to_max_length_accepted() -> None:
    assert_passes(command(name_kanji="山" * MAX_NAME))


GAIJI_PAIRS = [
    ("name_kanji", "name_gaiji_count", "山" + gaiji(0) + "\u3000太" + gaiji(1)),
    ("address", "address_gaiji_count", "青森県弘前市大字" + gaiji(2) + "町1番地"),
    ("previous_address", "previous_address_gaiji_count", "青森県青森市" + gaiji(3) + "町2番地"),
    ("former_surname_kanji", "former_surname_gaiji_count", "佐" + gaiji(4)),
]


@pytest.mark.parametrize(("text_field", "count_field", "text"), GAIJI_PAIRS)
def test_gaiji_count_must_equal_private_use_characters(text_field: str, count_field: str, text: str) -> None:
    extra = {"former_surname_kana": "サトウ"} if text_field == "former_surname_kanji" else {}
    right = sum(1 for ch in text if 0xE000 <= ord(ch) <= 0xF8FF)
    assert_passes(command(**{text_field: text, count_field: right}, **extra))
    for wrong in (0, right - 1, right + 1):
        if wrong != right:
            assert_refused(
                command(**{text_field: text, count_field: wrong}, **extra), "GAIJI_COUNT_MISMATCH", count_field
            )
    # A 外字 without its count, in a text that had none.
    assert_refused(
        command(**{text_field: text[:1] + "\U000f0000"}, **extra),
        "GAIJI_COUNT_MISMATCH",
        count_field,
    )


def test_gaiji_in_supplementary_private_use_areas_counted() -> None:
    assert_passes(command(name_kanji="山\U000f0000\U00100000", name_gaiji_count=2))


@pytest.mark.parametrize(
    "value",
    [
        "やまだ",
        "ﾔﾏﾀﾞ",
        "YAMADA",
        "ヤマダ・タロウ",
        "ヤマダ\u3000\u3000タロウ",
        "\u3000ヤマダ",
        "ヤマダ ",
        "ヤマダ タロウ",
        "山田",
        "",
        "カ\u3099",
        "ヷ",
        "ア" * (MAX_KANA + 1),
    ],
)
def test_kana_must_be_katakana(value: str) -> None:
    assert_refused(command(name_kana=value), "INVALID_KANA", "name_kana")


def test_kana_with_small_and_voiced_katakana_accepted() -> None:
    assert_passes(command(name_kana="ヴァッハ\u3000ジョー"))
    assert_passes(command(name_kana="ア" * MAX_KANA))


@pytest.mark.parametrize("field", ["birth_date", "resident_since", "address_since", "notified_on"])
def test_required_dates_must_be_given(field: str) -> None:
    assert_refused(command(**{field: None}), "MISSING_FIELD", field)


@pytest.mark.parametrize(
    "field", ["birth_date", "resident_since", "address_since", "notified_on", "juminhyo_code_since"]
)
def test_person_dates_must_not_be_in_the_future(field: str) -> None:
    assert_refused(command(**{field: TODAY + DAY}), "FUTURE_DATE", field)


def test_dates_on_today_accepted() -> None:
    same = {f: TODAY for f in ("birth_date", "resident_since", "address_since", "notified_on", "juminhyo_code_since")}
    assert_passes(command(**same))


def test_unspecified_sex_refused() -> None:
    assert_refused(command(sex=Sex.UNSPECIFIED), "INVALID_ENUM", "sex")


def test_unspecified_relationship_refused() -> None:
    assert_refused(command(relationship=Relationship.UNSPECIFIED), "INVALID_ENUM", "relationship")


@pytest.mark.parametrize("value", [wrong_check_digit(HIROSAKI), HIROSAKI[:5], HIROSAKI + "0", "", "02202a"])
def test_municipality_code_must_have_valid_check_digit(value: str) -> None:
    assert_refused(command(municipality_code=value), "INVALID_MUNICIPALITY_CODE", "municipality_code")


def test_municipality_code_of_another_city_refused() -> None:
    assert_refused(command(municipality_code=AOMORI), "MUNICIPALITY_MISMATCH", "municipality_code")
    aomori = FormatContext(today=TODAY, municipality_code=AOMORI)
    assert_refused(command(), "MUNICIPALITY_MISMATCH", "municipality_code", aomori)
    assert_passes(command(municipality_code=AOMORI, previous_municipality_code=HIROSAKI), aomori)


@pytest.mark.parametrize("value", ["123456", "12345678", "12345a7", "123-4567", ""])
def test_aza_code_must_be_7_digits(value: str) -> None:
    assert_refused(command(aza_code=value), "INVALID_AZA_CODE", "aza_code")


@pytest.mark.parametrize("value", ["036858", "03685888", "036-8588", "〒0368588", ""])
def test_postal_code_must_be_7_digits(value: str) -> None:
    assert_refused(command(postal_code=value), "INVALID_POSTAL_CODE", "postal_code")


def test_address_required() -> None:
    assert_refused(command(address=""), "MISSING_FIELD", "address")


@pytest.mark.parametrize("value", ["青森県\x07弘前市", "青森県弘前市\r", "\u3000青森県", "青" * (MAX_ADDRESS + 1)])
def test_address_must_be_clean_single_line_text(value: str) -> None:
    assert_text_refused(command(address=value), "address")


@pytest.mark.parametrize(
    "value",
    [
        wrong_check_digit(BASE.individual_number),
        BASE.individual_number[:-1],
        BASE.individual_number + "0",
        "12345678901x",
        "",
    ],
)
def test_individual_number_with_bad_check_digit_refused(value: str) -> None:
    assert_refused(command(individual_number=value), "INVALID_INDIVIDUAL_NUMBER", "individual_number")


@pytest.mark.parametrize(
    ("field", "code"),
    [
        ("juminhyo_code", "INVALID_JUMINHYO_CODE"),
        ("municipality_code", "INVALID_MUNICIPALITY_CODE"),
        ("aza_code", "INVALID_AZA_CODE"),
        ("postal_code", "INVALID_POSTAL_CODE"),
        ("individual_number", "INVALID_INDIVIDUAL_NUMBER"),
        ("previous_municipality_code", "INVALID_MUNICIPALITY_CODE"),
        ("previous_juminhyo_code", "INVALID_JUMINHYO_CODE"),
    ],
)
def test_full_width_digits_refused(field: str, code: str) -> None:
    valid = getattr(BASE, field) or juminhyo_code(2)
    assert_passes(command(**{field: valid}))
    assert_refused(command(**{field: valid.translate(FULL_WIDTH)}), code, field)
    # Other scripts' digits (Arabic-Indic) are digits to str.isdigit() but not here.
    arabic = valid.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert_refused(command(**{field: arabic}), code, field)


def test_previous_municipality_code_must_be_valid_when_given() -> None:
    assert_refused(
        command(previous_municipality_code=wrong_check_digit(AOMORI)),
        "INVALID_MUNICIPALITY_CODE",
        "previous_municipality_code",
    )
    assert_passes(command(previous_municipality_code=""))  # 転入 from abroad
    assert_passes(command(R.SHOKKEN_KISAI, previous_municipality_code=HIROSAKI))


@pytest.mark.parametrize("value", ["青森市\x00", " 青森市", "青森市\n", "青" * (MAX_ADDRESS + 1)])
def test_previous_address_must_be_clean_text(value: str) -> None:
    assert_text_refused(command(previous_address=value), "previous_address")
    assert_passes(command(R.SHOKKEN_KISAI, previous_address="", previous_municipality_code=""))


def test_previous_juminhyo_code_must_be_valid_when_given() -> None:
    assert_refused(
        command(previous_juminhyo_code=wrong_check_digit(juminhyo_code(3))),
        "INVALID_JUMINHYO_CODE",
        "previous_juminhyo_code",
    )
    assert_passes(command(previous_juminhyo_code=juminhyo_code(3)))


@pytest.mark.parametrize("value", ["佐藤\x1b", " 佐藤", "佐" * (MAX_FORMER_SURNAME + 1)])
def test_former_surname_kanji_must_be_clean_text(value: str) -> None:
    cmd = command(former_surname_kanji=value, former_surname_kana="サトウ")
    assert_text_refused(cmd, "former_surname_kanji")


@pytest.mark.parametrize("value", ["さとう", "ｻﾄｳ", "SATO", "サトウ\u3000", "ア" * (MAX_KANA + 1)])
def test_former_surname_kana_must_be_katakana(value: str) -> None:
    cmd = command(former_surname_kanji="佐藤", former_surname_kana=value)
    assert_refused(cmd, "INVALID_KANA", "former_surname_kana")


def test_former_surname_needs_both_kanji_and_kana() -> None:
    assert_passes(command(former_surname_kanji="佐藤", former_surname_kana="サトウ"))
    assert_refused(command(former_surname_kanji="佐藤"), "INCOMPLETE_GROUP", "former_surname_kana")
    assert_refused(command(former_surname_kana="サトウ"), "INCOMPLETE_GROUP", "former_surname_kanji")


def test_birth_date_after_resident_since_refused() -> None:
    assert BASE.resident_since and BASE.address_since
    cmd = command(birth_date=BASE.resident_since + DAY)
    assert_refused(cmd, "DATE_BEFORE_BIRTH", "resident_since")


@pytest.mark.parametrize("field", ["resident_since", "address_since", "notified_on", "juminhyo_code_since"])
def test_person_date_before_birth_refused(field: str) -> None:
    assert BASE.birth_date
    assert_refused(command(**{field: BASE.birth_date - DAY}), "DATE_BEFORE_BIRTH", field)
    if field != "address_since":
        assert_passes(command(R.SHOKKEN_KISAI, **{field: BASE.birth_date}))


def test_address_since_before_resident_since_refused() -> None:
    assert BASE.resident_since
    assert_refused(command(address_since=BASE.resident_since - DAY), "DATE_ORDER", "address_since")
    assert_passes(command(address_since=BASE.resident_since))


def test_first_violation_in_item_order_reported() -> None:
    cmd = command(postal_code="1", individual_number="1", name_kana="やまだ")
    assert_refused(cmd, "INVALID_KANA", "name_kana")
    assert_refused(with_cmd(cmd, request_id=""), "INVALID_REQUEST_ID", "request_id")


# -- properties --------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st_valid_command(reason=None))
def test_every_valid_command_passes_format_checks(cmd: UpdateCommand) -> None:
    assert check_command(cmd, CTX) is None


Draw = Callable[[st.SearchStrategy[Any]], Any]
Expected = set[tuple[str, str]]
Corruption = Callable[[Draw, UpdateCommand, str], tuple[UpdateCommand, Expected]]
# (corruption, the item it breaks)
CORRUPTIONS: list[tuple[Corruption, str]] = []


def corruption(*fields: str) -> Callable[[Corruption], Corruption]:
    def register(fn: Corruption) -> Corruption:
        CORRUPTIONS.extend((fn, field) for field in fields)
        return fn

    return register


def corrupt_item(cmd: UpdateCommand, field: str, value: object) -> UpdateCommand:
    if field in ("request_id", "change_reason", "change_date", "change_reason_detail", "operator_id", "terminal_id"):
        return with_cmd(cmd, **{field: value})
    return with_entry(cmd, **{field: value})


BAD_CHARS = [chr(c) for c in range(0x20)] + ["\x7f", "\x85", "\u200b", "\u200e", "\ufeff", "\u2028", "\u2029", "\u0378"]
# outside the repertoire of the 漢字 items (gaiji.py): fillers, emoji, marks, half-width kana
BAD_CHARS += ["\u3164", "\u2800", "\U0001f600", "\u0301", "\u309a", "\uff71", "\u00a0", "\u2e80"]


def st_dirty(text: str) -> st.SearchStrategy[str]:
    """text with a control/format/unassigned character inserted, or with outer white space."""
    inserted = st.builds(
        lambda ch, at: text[:at] + ch + text[at:], st.sampled_from(BAD_CHARS), st.integers(0, len(text))
    )
    return st.one_of(inserted, st.sampled_from([" " + text, text + "\u3000", text + "カ\u3099"]))


def st_not_digits(valid: str) -> st.SearchStrategy[str]:
    """Near misses of a valid digit string: check digit, length, full-width digits, hyphen, empty."""
    return st.sampled_from(
        [
            wrong_check_digit(valid) if len(valid) in (6, 11, 12) else valid[:-1],
            valid[:-1],
            valid + "0",
            valid.translate(FULL_WIDTH),
            valid[:3] + "-" + valid[3:],
            "",
        ]
    )


@corruption("request_id")
def bad_request_id(draw: Draw, cmd: UpdateCommand, field: str) -> tuple[UpdateCommand, Expected]:
    value = draw(
        st.one_of(
            st.just(""),
            st.text(alphabet=REQUEST_ID_ALPHABET, min_size=65, max_size=80),
            st.text(min_size=1, max_size=10).filter(lambda s: any(not 0x21 <= ord(c) <= 0x7E for c in s)),
        )
    )
    return corrupt_item(cmd, field, value), {("INVALID_REQUEST_ID", field)}


@corruption("change_reason", "sex", "relationship", "resident_class")
def unspecified_enum(draw: Draw, cmd: UpdateCommand, field: str) -> tuple[UpdateCommand, Expected]:
    unspecified = {
        "change_reason": R.UNSPECIFIED,
        "sex": Sex.UNSPECIFIED,
        "relationship": Relationship.UNSPECIFIED,
        "resident_class": ResidentClass.UNSPECIFIED,
    }
    return corrupt_item(cmd, field, unspecified[field]), {("INVALID_ENUM", field)}


@corruption("operator_id", "terminal_id")
def bad_actor_id(draw: Draw, cmd: UpdateCommand, field: str) -> tuple[UpdateCommand, Expected]:
    value = draw(
        st.one_of(
            st.just(""),
            st.text(alphabet=ACTOR_ALPHABET, min_size=33, max_size=40),
            st.text(min_size=1, max_size=10).filter(lambda s: any(c not in ACTOR_ALPHABET for c in s)),
        )
    )
    return corrupt_item(cmd, field, value), {("INVALID_TEXT", field)}


@corruption("change_reason_detail", "name_kanji", "address", "previous_address", "former_surname_kanji")
def control_char_in_text(draw: Draw, cmd: UpdateCommand, field: str) -> tuple[UpdateCommand, Expected]:
    text = cmd.change_reason_detail if field == "change_reason_detail" else getattr(cmd.entry, field)
    return corrupt_item(cmd, field, draw(st_dirty(text or "字"))), {(code, field) for code in TEXT_REFUSALS}


LIMITS = {
    "change_reason_detail": MAX_DETAIL,
    "name_kanji": MAX_NAME,
    "address": MAX_ADDRESS,
    "previous_address": MAX_ADDRESS,
    "former_surname_kanji": MAX_FORMER_SURNAME,
}


@corruption(*LIMITS)
def text_too_long(draw: Draw, cmd: UpdateCommand, field: str) -> tuple[UpdateCommand, Expected]:
    value = draw(st.text(alphabet=KANJI, min_size=LIMITS[field] + 1, max_size=LIMITS[field] + 5))
    return corrupt_item(cmd, field, value), {("INVALID_TEXT", field)}


@corruption("name_kanji", "address")
def empty_required_text(draw: Draw, cmd: UpdateCommand, field: str) -> tuple[UpdateCommand, Expected]:
    return corrupt_item(cmd, field, ""), {("MISSING_FIELD", field)}


COUNT_OF = {text_field: count_field for text_field, count_field, _ in GAIJI_PAIRS}


@corruption(*COUNT_OF.values())
def off_by_one_gaiji_count(draw: Draw, cmd: UpdateCommand, field: str) -> tuple[UpdateCommand, Expected]:
    delta = draw(st.sampled_from([-1, 1]))
    return corrupt_item(cmd, field, getattr(cmd.entry, field) + delta), {("GAIJI_COUNT_MISMATCH", field)}


@corruption(*COUNT_OF)
def gaiji_added_without_count(draw: Draw, cmd: UpdateCommand, field: str) -> tuple[UpdateCommand, Expected]:
    text: str = getattr(cmd.entry, field)
    at = draw(st.integers(0, len(text)))
    ch = chr(
        draw(st.one_of(st.integers(0xE000, 0xF8FF), st.integers(0xF0000, 0xFFFFD), st.integers(0x100000, 0x10FFFD)))
    )
    return corrupt_item(cmd, field, text[:at] + ch + text[at:]), {("GAIJI_COUNT_MISMATCH", COUNT_OF[field])}


NOT_KATAKANA = st.one_of(
    st.sampled_from(
        ["やまだ", "ﾔﾏﾀﾞ", "YAMADA", "ヤマダ・タロウ", "ヤマダ\u3000\u3000タロウ", "\u3000ヤマダ", "カ\u3099", "山田"]
    ),
    st.text(alphabet=KATAKANA, min_size=MAX_KANA + 1, max_size=MAX_KANA + 3),
    st.builds(lambda s, ch: s + ch, st.text(alphabet=KATAKANA, max_size=5), st.characters(max_codepoint=0x309F)),
)


@corruption("name_kana", "former_surname_kana")
def non_katakana_kana(draw: Draw, cmd: UpdateCommand, field: str) -> tuple[UpdateCommand, Expected]:
    value = draw(NOT_KATAKANA if field == "former_surname_kana" else st.one_of(NOT_KATAKANA, st.just("")))
    return corrupt_item(cmd, field, value), {("INVALID_KANA", field)}


@corruption("change_date", "birth_date", "resident_since", "address_since", "notified_on")
def missing_required_date(draw: Draw, cmd: UpdateCommand, field: str) -> tuple[UpdateCommand, Expected]:
    return corrupt_item(cmd, field, None), {("MISSING_FIELD", field)}


@corruption("change_date", "birth_date", "resident_since", "address_since", "notified_on", "juminhyo_code_since")
def future_date(draw: Draw, cmd: UpdateCommand, field: str) -> tuple[UpdateCommand, Expected]:
    latest = (
        TODAY + timedelta(days=MAX_PLANNED_DAYS)
        if field == "change_date" and cmd.change_reason is R.TENSHUTSU
        else TODAY
    )
    value = latest + timedelta(days=draw(st.integers(1, 3650)))
    return corrupt_item(cmd, field, value), {("FUTURE_DATE", field)}


AFTER_BIRTH = ("resident_since", "address_since", "notified_on", "juminhyo_code_since")


@corruption("birth_date")
def birth_date_after_others(draw: Draw, cmd: UpdateCommand, field: str) -> tuple[UpdateCommand, Expected]:
    others = [getattr(cmd.entry, f) for f in AFTER_BIRTH] + [cmd.change_date]
    earliest = min(d for d in others if d is not None)
    assume(earliest < TODAY)
    birth = date.fromordinal(draw(st.integers((earliest + DAY).toordinal(), TODAY.toordinal())))
    return corrupt_item(cmd, field, birth), {("DATE_BEFORE_BIRTH", f) for f in (*AFTER_BIRTH, "change_date")}


@corruption(*AFTER_BIRTH, "change_date")
def date_before_birth(draw: Draw, cmd: UpdateCommand, field: str) -> tuple[UpdateCommand, Expected]:
    assert cmd.entry.birth_date
    value = cmd.entry.birth_date - timedelta(days=draw(st.integers(1, 3650)))
    return corrupt_item(cmd, field, value), {("DATE_BEFORE_BIRTH", field)}


@corruption("address_since", "resident_since")
def address_since_before_resident_since(draw: Draw, cmd: UpdateCommand, field: str) -> tuple[UpdateCommand, Expected]:
    e = cmd.entry
    assert e.birth_date and e.resident_since and e.address_since
    if field == "address_since":  # 住所を定めた日 before 住民となった日
        assume(e.resident_since > e.birth_date)
        value = draw(st.integers(e.birth_date.toordinal(), e.resident_since.toordinal() - 1))
    else:  # 住民となった日 after 住所を定めた日
        assume(e.address_since < TODAY)
        value = draw(st.integers(e.address_since.toordinal() + 1, TODAY.toordinal()))
    return corrupt_item(cmd, field, date.fromordinal(value)), {("DATE_ORDER", "address_since")}


@corruption("municipality_code")
def wrong_municipality(draw: Draw, cmd: UpdateCommand, field: str) -> tuple[UpdateCommand, Expected]:
    value = draw(st.one_of(st.sampled_from(OTHER_MUNICIPALITIES), st_not_digits(HIROSAKI)))
    if value in OTHER_MUNICIPALITIES:
        return corrupt_item(cmd, field, value), {("MUNICIPALITY_MISMATCH", field)}
    return corrupt_item(cmd, field, value), {("INVALID_MUNICIPALITY_CODE", field)}


@corruption("previous_municipality_code")
def bad_previous_municipality(draw: Draw, cmd: UpdateCommand, field: str) -> tuple[UpdateCommand, Expected]:
    value = draw(st_not_digits(AOMORI).filter(bool))
    return corrupt_item(cmd, field, value), {("INVALID_MUNICIPALITY_CODE", field)}


DIGIT_CODES = {
    "juminhyo_code": "INVALID_JUMINHYO_CODE",
    "aza_code": "INVALID_AZA_CODE",
    "postal_code": "INVALID_POSTAL_CODE",
    "individual_number": "INVALID_INDIVIDUAL_NUMBER",
}


@corruption(*DIGIT_CODES)
def bad_digit_code(draw: Draw, cmd: UpdateCommand, field: str) -> tuple[UpdateCommand, Expected]:
    return corrupt_item(cmd, field, draw(st_not_digits(getattr(cmd.entry, field)))), {(DIGIT_CODES[field], field)}


@corruption("previous_juminhyo_code")
def bad_previous_juminhyo_code(draw: Draw, cmd: UpdateCommand, field: str) -> tuple[UpdateCommand, Expected]:
    if cmd.change_reason is R.JUMINHYO_CODE_HENKO and draw(st.booleans()):
        if draw(st.booleans()):
            return corrupt_item(cmd, field, ""), {("MISSING_FIELD", field)}
        return corrupt_item(cmd, field, cmd.entry.juminhyo_code), {("JUMINHYO_CODE_UNCHANGED", "juminhyo_code")}
    value = draw(st_not_digits(cmd.entry.previous_juminhyo_code or juminhyo_code(4)).filter(bool))
    return corrupt_item(cmd, field, value), {("INVALID_JUMINHYO_CODE", field)}


@corruption("former_surname_kanji", "former_surname_kana")
def incomplete_former_surname(draw: Draw, cmd: UpdateCommand, field: str) -> tuple[UpdateCommand, Expected]:
    e = cmd.entry
    other = "former_surname_kana" if field == "former_surname_kanji" else "former_surname_kanji"
    if e.former_surname_kanji:  # drop one of the pair
        drop: dict[str, Any] = {field: ""}
        if field == "former_surname_kanji":
            drop["former_surname_gaiji_count"] = 0
        return with_entry(cmd, **drop), {("INCOMPLETE_GROUP", field)}
    value = "佐藤" if field == "former_surname_kanji" else "サトウ"  # give one of the pair only
    return corrupt_item(cmd, field, value), {("INCOMPLETE_GROUP", other)}


def digit_runs(cmd: UpdateCommand) -> set[str]:
    """The identifiers and dates of a command, as they might be echoed in a message."""
    e: ResidentEntry = cmd.entry
    values = {e.juminhyo_code, e.individual_number, e.postal_code, e.aza_code, e.previous_juminhyo_code}
    for d in (cmd.change_date, e.birth_date, e.resident_since, e.address_since, e.notified_on):
        if d is not None:
            values |= {d.isoformat(), d.strftime("%Y%m%d")}
    return {v for v in values if len(v) >= 4}


@pytest.mark.parametrize(("corrupt", "field"), CORRUPTIONS, ids=[f"{fn.__name__}-{f}" for fn, f in CORRUPTIONS])
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_single_field_corruption_refused_on_that_field(corrupt: Corruption, field: str, data: st.DataObject) -> None:
    cmd = data.draw(st_valid_command(reason=None), label="valid command")
    bad, expected = corrupt(data.draw, cmd, field)
    found = check_command(bad, CTX)
    assert found is not None, f"{corrupt.__name__} of {field} was not noticed"
    assert (found.code, found.field) in expected
    for run in digit_runs(bad):
        assert run not in found.message_ja and run not in found.message_en


# --- the character set of the 漢字 items and what 外字 means (gaiji.py) ------------------------


def test_takahashi_with_hashigo_daka_counts_one_gaiji() -> None:
    """髙 (U+9AD9) lies outside JIS X 0208 and X 0213: it is 外字, so 髙橋 carries 外字数 1."""
    assert_passes(command(name_kanji="髙橋\u3000太郎", name_gaiji_count=1))
    assert_refused(command(name_kanji="髙橋\u3000太郎", name_gaiji_count=0), "GAIJI_COUNT_MISMATCH", "name_gaiji_count")


def test_ideograph_outside_jis_in_address_counts_as_gaiji() -> None:
    assert_passes(command(address="青森県弘前市大字𠮷野町1番地", address_gaiji_count=1))


@pytest.mark.parametrize(
    ("field", "value", "position"),
    [
        ("name_kanji", "弘前\u3164太郎", 3),  # Hangul filler: looks like 弘前 太郎
        ("name_kanji", "弘前\u2800太郎", 3),  # braille blank
        ("name_kanji", "山田e\u0301\u0301\u0301", 4),  # stacked combining marks
        ("address", "青森県弘前市\U0001f600町1番地", 7),  # emoji
        ("previous_address", "青森県青森市ｱ町", 7),  # half-width katakana
        ("former_surname_kanji", "佐\u200b藤", 2),
        ("change_reason_detail", "理由\u3164", 3),
    ],
)
def test_character_outside_repertoire_refused_with_field_and_position(field: str, value: str, position: int) -> None:
    """Refused with the field and the character's position, never the text itself."""
    if field == "change_reason_detail":
        cmd = with_cmd(command(), change_reason_detail=value)
    elif field == "former_surname_kanji":
        cmd = command(former_surname_kanji=value, former_surname_kana="サトウ")
    elif field == "previous_address":
        cmd = command(previous_address=value, previous_municipality_code="022012")
    else:
        cmd = command(**{field: value})
    found = assert_refused(cmd, "CHARACTER_NOT_ALLOWED", field)
    assert found.position == position
    assert f"{position}" in found.message_ja and f"position {position}" in found.message_en
    for message in (found.message_ja, found.message_en):
        assert value not in message and value[position - 1] not in message


@pytest.mark.parametrize(
    ("value", "position"),
    [
        ("ヤマダ\u3000たろう", 5),
        ("ヤマダ・タロウ", 4),
        ("ﾔﾏﾀﾞ", 1),
        ("ヤマダ\u3000\u3000タロウ", 5),
        ("\u3000ヤマダ", 1),
    ],
)
def test_kana_item_holds_katakana_choon_and_full_width_space_only(value: str, position: int) -> None:
    found = assert_refused(command(name_kana=value), "INVALID_KANA", "name_kana")
    assert found.position == position


# --- 続柄 (#20) ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "relationship",
    [
        Relationship.ELDER_BROTHER,
        Relationship.ELDER_SISTER,
        Relationship.YOUNGER_BROTHER,
        Relationship.YOUNGER_SISTER,
        Relationship.GRANDFATHER,
        Relationship.GRANDMOTHER,
        Relationship.FATHERS_OR_MOTHERS_BROTHER,
        Relationship.SIBLINGS_SON,
        Relationship.WIFE_UNREGISTERED,
    ],
)
def test_relationship_is_the_relation_the_juminhyo_records(relationship: Relationship) -> None:
    """住基法7条4号: the 住民票 writes 兄, 姉, 弟, 妹, 祖父, 祖母, 妻(未届) ... (事務処理要領, 続柄の記載)."""
    assert_passes(command(relationship=relationship))


@pytest.mark.parametrize(
    "legacy",
    [
        Relationship.SIBLING,
        Relationship.GRANDPARENT,
        Relationship.CHILD_IN_LAW,
        Relationship.STEPCHILD,
        Relationship.UNREGISTERED_SPOUSE,
    ],
)
def test_merged_legacy_relationship_refused_in_new_entries(legacy: Relationship) -> None:
    assert_refused(command(relationship=legacy), "LEGACY_RELATIONSHIP", "relationship")
