"""Tests for cs_gateway.domain.check_digit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cs_gateway.domain.check_digit import (
    individual_number_check_digit,
    is_valid_individual_number,
    is_valid_juminhyo_code,
    is_valid_municipality_code,
    is_valid_postal_code,
    juminhyo_code_check_digit,
    make_individual_number,
    make_juminhyo_code,
    municipality_code_check_digit,
)

ASCII_DIGITS = "0123456789"
# Digits that str.isdigit() accepts but the checks must reject.
NON_ASCII_ZERO = {
    "fullwidth": 0xFF10,
    "arabic_indic": 0x0660,
    "extended_arabic_indic": 0x06F0,
    "devanagari": 0x0966,
    "mathematical_bold": 0x1D7CE,
}


def digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=ASCII_DIGITS, min_size=n, max_size=n)


def _single_substitutions(value: str) -> list[str]:
    return [value[:i] + d + value[i + 1 :] for i in range(len(value)) for d in ASCII_DIGITS if d != value[i]]


def _replace_at(value: str, position: int, zero: int) -> str:
    """Replace the ASCII digit at ``position`` by the same digit of another script."""
    return value[:position] + chr(zero + int(value[position])) + value[position + 1 :]


def _residue(body: str, weights: tuple[int, ...]) -> int:
    return sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11


IN_WEIGHTS = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
JC_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


# --- 個人番号 ---------------------------------------------------------------


@pytest.mark.parametrize("value", ["123456789018", "983205673214"])
def test_individual_number_vectors_from_ministerial_ordinance(value: str) -> None:
    """The formula of 平成26年総務省令第85号 第5条; the values are worked examples (not numbers
    the ordinance lists: it lists none), each checked by hand against the formula."""
    assert is_valid_individual_number(value)
    assert individual_number_check_digit(value[:11]) == int(value[11])
    assert make_individual_number(value[:11]) == value


@pytest.mark.parametrize("value", ["123456789018", "983205673214"])
def test_individual_number_vectors_single_digit_change_is_invalid(value: str) -> None:
    for changed in _single_substitutions(value):
        assert not is_valid_individual_number(changed), changed


def test_individual_number_residue_zero_and_one_share_check_digit_zero() -> None:
    # Limitation of the ordinance's formula: r=0 and r=1 both give check 0,
    # so a substitution moving r between them is NOT detected.
    assert is_valid_individual_number("000000000000")  # r = 0
    assert is_valid_individual_number("200000000000")  # r = 12 % 11 = 1


@pytest.mark.parametrize(
    "value",
    [
        "",
        "12345678901",
        "1234567890180",
        "12345678901a",
        "1234-5678-9018",
        " 123456789018",
    ],
)
def test_individual_number_rejects_malformed(value: str) -> None:
    assert not is_valid_individual_number(value)


@pytest.mark.parametrize("bad", ["", "1234567890", "123456789012", "1234567890x", "１２３４５６７８９０１"])
def test_individual_number_check_digit_rejects_bad_body(bad: str) -> None:
    with pytest.raises(ValueError):
        individual_number_check_digit(bad)
    with pytest.raises(ValueError):
        make_individual_number(bad)


@given(digits(11))
def test_make_individual_number_output_validates(body: str) -> None:
    value = make_individual_number(body)
    assert len(value) == 12
    assert value.startswith(body)
    assert is_valid_individual_number(value)


@given(digits(11))
def test_individual_number_substitution_detected_unless_residue_0_1(body: str) -> None:
    value = make_individual_number(body)
    r = _residue(body, IN_WEIGHTS)
    for changed in _single_substitutions(value):
        if changed[11] != value[11]:
            assert not is_valid_individual_number(changed)  # check digit changed
            continue
        r2 = _residue(changed[:11], IN_WEIGHTS)
        assert r2 != r  # every weight is non-zero mod 11
        undetected = {r, r2} == {0, 1}
        assert is_valid_individual_number(changed) is undetected, changed


# --- 住民票コード -------------------------------------------------------------


@pytest.mark.parametrize(
    ("first10", "check"),
    [
        ("0000000000", 0),  # sum 0, r 0 -> 0
        ("1000000000", 6),  # sum 5, r 5 -> 6
        # 1*5+2*4+3*3+4*2+5*7+6*6+7*5+8*4+9*3+0*2 = 195, r 8 -> 3
        ("1234567890", 3),
        # 9*5+8*4+7*3+6*2+5*7+4*6+3*5+2*4+1*3+0*2 = 195, r 8 -> 3
        ("9876543210", 3),
    ],
)
def test_juminhyo_code_vectors_emulation_mod11(first10: str, check: int) -> None:
    """The emulation's own formula: the official one (平成14年総務省告示第436号) was not found in a
    public source, so these vectors test the emulation only (see juminhyo_code_check_digit)."""
    assert juminhyo_code_check_digit(first10) == check
    assert make_juminhyo_code(first10) == first10 + str(check)
    assert is_valid_juminhyo_code(first10 + str(check))


def test_juminhyo_code_vector_any_single_digit_change_is_invalid() -> None:
    for changed in _single_substitutions("12345678903"):
        assert not is_valid_juminhyo_code(changed), changed


def test_juminhyo_code_residue_zero_and_one_share_check_digit_zero() -> None:
    assert is_valid_juminhyo_code("00000000000")  # r = 0
    assert is_valid_juminhyo_code("90000000000")  # r = 45 % 11 = 1


@pytest.mark.parametrize("value", ["", "1234567890", "123456789030", "1234567890x", "１２３４５６７８９０３"])
def test_juminhyo_code_rejects_malformed(value: str) -> None:
    assert not is_valid_juminhyo_code(value)


@pytest.mark.parametrize("bad", ["", "123456789", "12345678901", "12345678９0"])
def test_juminhyo_code_check_digit_rejects_bad_body(bad: str) -> None:
    with pytest.raises(ValueError):
        juminhyo_code_check_digit(bad)
    with pytest.raises(ValueError):
        make_juminhyo_code(bad)


@given(digits(10))
def test_make_juminhyo_code_output_validates(body: str) -> None:
    value = make_juminhyo_code(body)
    assert len(value) == 11
    assert value.startswith(body)
    assert is_valid_juminhyo_code(value)


@given(digits(10))
def test_juminhyo_code_substitution_detected_unless_residue_0_1(body: str) -> None:
    value = make_juminhyo_code(body)
    r = _residue(body, JC_WEIGHTS)
    for changed in _single_substitutions(value):
        if changed[10] != value[10]:
            assert not is_valid_juminhyo_code(changed)
            continue
        r2 = _residue(changed[:10], JC_WEIGHTS)
        assert r2 != r
        assert is_valid_juminhyo_code(changed) is ({r, r2} == {0, 1}), changed


# --- 市町村コード -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "name"),
    [("011002", "札幌市"), ("130001", "東京都"), ("022021", "弘前市"), ("200000", "長野県"), ("022012", "青森市")],
)
def test_municipality_code_vectors_jis_x_0402(value: str, name: str) -> None:
    """Codes as the 総務省 publishes them (全国地方公共団体コード, soumu.go.jp/denshijiti/code.html)."""
    assert is_valid_municipality_code(value), name
    assert municipality_code_check_digit(value[:5]) == int(value[5])


def test_municipality_code_remainder_one_gives_zero_nagano_prefecture() -> None:
    """長野県 200000 (総務省「全国地方公共団体コード」): 2*6 = 12, 12 % 11 = 1, 11 - 1 = 10 -> 0."""
    assert municipality_code_check_digit("20000") == 0
    assert is_valid_municipality_code("200000")
    assert not is_valid_municipality_code("200001")


def test_municipality_code_remainder_zero_gives_one() -> None:
    # 弘前市: 0*6+2*5+2*4+0*3+2*2 = 22, 22 % 11 = 0, 11 - 0 = 11 -> last digit 1
    assert municipality_code_check_digit("02202") == 1
    assert municipality_code_check_digit("00000") == 1


@pytest.mark.parametrize("value", ["", "01100", "0110020", "011003", "01100a", "０１１００２"])
def test_municipality_code_rejects_malformed(value: str) -> None:
    assert not is_valid_municipality_code(value)


@pytest.mark.parametrize("bad", ["", "0110", "011002", "０１１００"])
def test_municipality_code_check_digit_rejects_bad_body(bad: str) -> None:
    with pytest.raises(ValueError):
        municipality_code_check_digit(bad)


@given(digits(5))
def test_municipality_code_check_digit_roundtrip(body: str) -> None:
    value = body + str(municipality_code_check_digit(body))
    assert is_valid_municipality_code(value)


# --- 郵便番号 -----------------------------------------------------------------


@pytest.mark.parametrize("value", ["1000001", "0600000", "9071801"])
def test_postal_code_seven_ascii_digits(value: str) -> None:
    assert is_valid_postal_code(value)


@pytest.mark.parametrize(
    "value",
    ["", "100-0001", "100000", "10000011", "１０００００１", "100000a", " 1000001"],
)
def test_postal_code_rejects_hyphen_length_and_non_ascii(value: str) -> None:
    assert not is_valid_postal_code(value)


# --- non-ASCII digits ---------------------------------------------------------


def test_non_ascii_digit_sets_are_isdigit_true() -> None:
    # Guard: these really are the trap str.isdigit() falls into.
    for zero in NON_ASCII_ZERO.values():
        assert "".join(chr(zero + d) for d in range(10)).isdigit()


@given(
    body=digits(11),
    position=st.integers(min_value=0, max_value=11),
    script=st.sampled_from(sorted(NON_ASCII_ZERO)),
)
def test_individual_number_non_ascii_digit_rejected(body: str, position: int, script: str) -> None:
    value = make_individual_number(body)
    bad = _replace_at(value, position, NON_ASCII_ZERO[script])
    assert not is_valid_individual_number(bad)
    if position < 11:
        with pytest.raises(ValueError):
            individual_number_check_digit(bad[:11])


@given(
    body=digits(10),
    position=st.integers(min_value=0, max_value=10),
    script=st.sampled_from(sorted(NON_ASCII_ZERO)),
)
def test_juminhyo_code_non_ascii_digit_rejected(body: str, position: int, script: str) -> None:
    value = make_juminhyo_code(body)
    bad = _replace_at(value, position, NON_ASCII_ZERO[script])
    assert not is_valid_juminhyo_code(bad)
    if position < 10:
        with pytest.raises(ValueError):
            make_juminhyo_code(bad[:10])


@given(
    value=st.sampled_from(["011002", "130001", "022021"]),
    position=st.integers(min_value=0, max_value=5),
    script=st.sampled_from(sorted(NON_ASCII_ZERO)),
)
def test_municipality_code_non_ascii_digit_rejected(value: str, position: int, script: str) -> None:
    bad = _replace_at(value, position, NON_ASCII_ZERO[script])
    assert not is_valid_municipality_code(bad)


@given(body=digits(7), position=st.integers(min_value=0, max_value=6))
def test_postal_code_full_width_digit_rejected(body: str, position: int) -> None:
    bad = _replace_at(body, position, 0xFF10)
    assert not is_valid_postal_code(bad)


def test_a_misused_helper_never_puts_the_identifier_in_its_error() -> None:
    """Given a whole 個人番号 or 住民票コード where a body is expected, the error says the length,
    not the value (error messages reach logs and terminals)."""
    from cs_gateway.domain.check_digit import make_individual_number, make_juminhyo_code

    number, code = make_individual_number("12345678901"), make_juminhyo_code("9876543210")
    with pytest.raises(ValueError) as caught:
        make_individual_number(number)
    assert number not in str(caught.value) and "12 characters" in str(caught.value)
    with pytest.raises(ValueError) as caught:
        make_juminhyo_code(code)
    assert code not in str(caught.value) and "11 characters" in str(caught.value)
