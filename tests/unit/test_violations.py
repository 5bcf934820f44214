"""The violation catalogue: every code has a kind and messages, and no message echoes the input."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import cs_gateway
from cs_gateway.domain import format_checks
from cs_gateway.domain.enums import ChangeReason
from cs_gateway.domain.format_checks import check_command
from cs_gateway.domain.logic_checks import Accepted, decide
from cs_gateway.domain.record import ENTRY_FIELDS, ResidentEntry, UpdateCommand
from cs_gateway.domain.violations import CATALOG, Kind, Violation, violation
from tests.strategies import CTX, TODAY, InMemoryRegistry, st_valid_command, st_valid_entry, valid_command

R = ChangeReason
PACKAGE = Path(cs_gateway.__file__).parent
CODE_LITERAL = re.compile(r"\"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\"")
DIGITS = re.compile(r"\d+")  # ASCII and full-width alike
COMMAND_FIELDS = ("request_id", "change_reason", "change_date", "change_reason_detail", "operator_id", "terminal_id")
FIELDS = ("", *COMMAND_FIELDS, *ENTRY_FIELDS)


def template_digits(code: str, position: int = 0) -> tuple[list[str], list[str]]:
    """The digits of the catalogue's messages, with the character position where they name one."""
    _kind, ja, en = CATALOG[code]
    ja, en = ja.replace("{position}", f"{position}"), en.replace("{position}", f"{position}")
    return DIGITS.findall(ja), DIGITS.findall(en)


def assert_no_echo(v: Violation, *inputs: str) -> None:
    """The only digits in a message are the catalogue's own (11桁, 12桁, 7桁, 1〜64, 0402) and
    the position of a refused character (never a digit of the input)."""
    ja, en = template_digits(v.code, v.position)
    assert DIGITS.findall(v.message_ja) == ja, v.message_ja
    assert DIGITS.findall(v.message_en) == en, v.message_en
    for value in inputs:
        if len(value) >= 4:
            assert value not in v.message_ja and value not in v.message_en


@pytest.mark.parametrize("code", sorted(CATALOG))
def test_every_catalogued_code_has_a_kind_and_messages(code: str) -> None:
    kind, ja, en = CATALOG[code]
    assert isinstance(kind, Kind)
    assert ja.strip() and en.strip()
    assert re.fullmatch(r"[A-Z][A-Z_]+", code)
    for field in FIELDS:
        v = violation(code, field)
        assert (v.code, v.field, v.kind) == (code, field, kind)
        assert v.message_ja.strip() and v.message_en.strip()
        assert "{" not in v.message_ja + v.message_en and "}" not in v.message_ja + v.message_en
        if "{field}" in en:
            assert (field or "-") in v.message_en
        assert_no_echo(v)


def test_unknown_code_is_an_error() -> None:
    with pytest.raises(KeyError):
        violation("NO_SUCH_CODE", "juminhyo_code")


def test_japanese_detail_replaces_the_field_name_in_japanese_only() -> None:
    v = violation("ALREADY_RESIDENT", "juminhyo_code", detail_ja="転入")
    assert "転入" in v.message_ja and "juminhyo_code" not in v.message_ja
    w = violation("TENKYO_CHANGES_NON_ADDRESS", "name_kanji", detail_ja="漢字氏名")
    assert "漢字氏名" in w.message_ja and "name_kanji" in w.message_en


def _violation_lines(path: Path) -> list[str]:
    """Source lines that build a violation or pick its code."""
    return [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if "violation(" in line or re.match(r'\s*code\s*=\s*"', line)
    ]


def _codes_used(path: Path) -> set[str]:
    return {code for line in _violation_lines(path) for code in CODE_LITERAL.findall(line)}


def test_every_code_the_package_produces_is_catalogued() -> None:
    used = set().union(*(_codes_used(path) for path in PACKAGE.rglob("*.py")))
    assert {"ALREADY_RESIDENT", "NOT_MOVED_OUT", "NOT_CURRENT_RESIDENT", "INVALID_TEXT", "REQUEST_ID_REUSED"} <= used
    assert used - set(CATALOG) == set()


def test_format_checks_produce_format_violations_only() -> None:
    """A format check needs no stored state, so what it refuses can never become acceptable:
    INVALID_ARGUMENT (Kind.FORMAT), not FAILED_PRECONDITION (Kind.STATE)."""
    codes = _codes_used(Path(format_checks.__file__)) | _codes_used(PACKAGE / "domain" / "parsing.py")
    assert {"INVALID_REQUEST_ID", "GAIJI_COUNT_MISMATCH", "INVALID_DATE"} <= codes
    not_format = {code: CATALOG[code][0].name for code in codes if CATALOG[code][0] is not Kind.FORMAT}
    assert not_format == {}


def test_logic_refusals_are_not_format_kind() -> None:
    for code in ("ALREADY_RESIDENT", "NO_RECORD", "DECEASED", "UPDATE_PROHIBITED", "INDIVIDUAL_NUMBER_IN_USE"):
        assert CATALOG[code][0] is not Kind.FORMAT


DIGIT_ITEMS = ("juminhyo_code", "individual_number", "postal_code", "aza_code", "municipality_code")


@settings(max_examples=100, deadline=None)
@given(cmd=st_valid_command(reason=None), item=st.sampled_from(DIGIT_ITEMS), cut=st.integers(1, 3))
def test_format_refusals_never_echo_digits_from_the_input(cmd: UpdateCommand, item: str, cut: int) -> None:
    value: str = getattr(cmd.entry, item)
    bad = dataclasses.replace(cmd, entry=dataclasses.replace(cmd.entry, **{item: value[:-cut]}))
    found = check_command(bad, CTX)
    assert found is not None
    e = bad.entry
    assert_no_echo(found, value, value[:-cut], e.juminhyo_code, e.individual_number, e.postal_code, e.aza_code)


@settings(max_examples=60, deadline=None)
@given(first=st_valid_entry(), second=st_valid_entry())
def test_logic_refusals_never_echo_digits_from_the_input(first: ResidentEntry, second: ResidentEntry) -> None:
    assume(second.juminhyo_code != first.juminhyo_code and second.individual_number != first.individual_number)
    reg = InMemoryRegistry()
    result = decide(valid_command(R.TENNYU, first), reg, TODAY)
    assert isinstance(result, Accepted)
    reg.apply(result)
    clash = dataclasses.replace(second, individual_number=first.individual_number)
    attempts = [
        valid_command(R.TENNYU, first),  # ALREADY_RESIDENT
        valid_command(R.TENKYO, second),  # NO_RECORD
        valid_command(R.TENSHUTSU_TORIKESHI, first),  # NOT_MOVED_OUT
        valid_command(R.TENNYU, clash),  # INDIVIDUAL_NUMBER_IN_USE
    ]
    for cmd in attempts:
        v = decide(cmd, reg, TODAY)
        assert isinstance(v, Violation)
        e = cmd.entry
        assert_no_echo(v, e.juminhyo_code, e.individual_number, first.juminhyo_code, first.individual_number)
