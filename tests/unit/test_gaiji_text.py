"""Tests for cs_gateway.domain.gaiji and cs_gateway.domain.text."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cs_gateway.domain.gaiji import count_gaiji, is_gaiji
from cs_gateway.domain.text import is_clean_text

# --- 外字 ---------------------------------------------------------------------


@pytest.mark.parametrize("cp", [0xE000, 0xE123, 0xF8FF, 0xF0000, 0xFFFFD, 0x100000, 0x10FFFD])
def test_gaiji_private_use_area_boundaries(cp: int) -> None:
    assert is_gaiji(chr(cp))
    assert unicodedata.category(chr(cp)) == "Co"


@pytest.mark.parametrize(
    "cp",
    [
        0xDFFF,
        0xF900,
        0xEFFFF,
        0xFFFFE,
        0xFFFFF,
        0x10FFFE,
        0x10FFFF,
        0x41,
        0x5C71,
        0x3000,
    ],
)
def test_gaiji_outside_private_use_area(cp: int) -> None:
    assert not is_gaiji(chr(cp))


@pytest.mark.parametrize("bad", ["", "ab", "山田"])
def test_gaiji_requires_single_character(bad: str) -> None:
    with pytest.raises(ValueError):
        is_gaiji(bad)


def test_count_gaiji_counts_private_use_code_points() -> None:
    assert count_gaiji("") == 0
    assert count_gaiji("山田太郎") == 0
    assert count_gaiji("\ue000田\U000f0000郎\U0010fffd") == 3


@given(st.text())
def test_gaiji_agrees_with_unicode_category_co(text: str) -> None:
    assert count_gaiji(text) == sum(unicodedata.category(c) == "Co" for c in text)
    for c in text:
        assert is_gaiji(c) is (unicodedata.category(c) == "Co")


# --- is_clean_text ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "山田太郎",
        "山田　太郎",  # inner U+3000
        "東京都千代田区霞が関２丁目１番２号",
        "\ue000田",  # 外字 (Co) allowed
        "ガ",
        "a b",
    ],
)
def test_clean_text_accepts(text: str) -> None:
    assert is_clean_text(text, max_len=64)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("山田\x00", "Cc NUL"),
        ("山田\n太郎", "Cc newline"),
        ("山田\t太郎", "Cc tab"),
        ("山田\x7f", "Cc DEL"),
        ("山田\x85太郎", "Cc NEL"),
        ("山田\u200b太郎", "Cf zero-width space"),
        ("山田\u200d太郎", "Cf ZWJ"),
        ("\ufeff山田", "Cf BOM"),
        ("山田\u202e太郎", "Cf RTL override"),
        ("山田\ud800", "Cs lone surrogate"),
        ("山田\U000e0001", "Cf language tag"),
        ("山田\u0378", "Cn unassigned"),
        ("山田\U0010ffff", "Cn noncharacter"),
        ("山田\u2028太郎", "Zl line separator"),
        ("カ\u3099", "non-NFC (decomposed ガ)"),
        (" 山田", "leading space"),
        ("山田 ", "trailing space"),
        ("\u3000山田", "leading U+3000"),
        ("山田\u3000", "trailing U+3000"),
        ("\xa0山田", "leading NBSP"),
    ],
)
def test_clean_text_rejects(text: str, reason: str) -> None:
    assert not is_clean_text(text, max_len=64), reason


def test_clean_text_accepts_ideographic_variation_sequence() -> None:
    # 辻 + VS17 (U+E0100, category Mn): assigned and NFC, so accepted; 2 code points.
    ivs = "\u8fbb\U000e0100"
    assert is_clean_text(ivs, max_len=2)
    assert not is_clean_text(ivs, max_len=1)


def test_clean_text_compatibility_ideograph_is_not_nfc() -> None:
    # U+FA10 (CJK compatibility ideograph) normalizes to U+585A under NFC.
    assert unicodedata.normalize("NFC", "\ufa10") != "\ufa10"
    assert not is_clean_text("\ufa10", max_len=4)


def test_clean_text_max_len_counts_code_points() -> None:
    assert is_clean_text("山" * 5, max_len=5)
    assert not is_clean_text("山" * 6, max_len=5)
    # Non-BMP: one code point each, even though UTF-16 would count 2.
    assert is_clean_text("\U00020b9f" * 3, max_len=3)
    assert not is_clean_text("\U00020b9f" * 4, max_len=3)


def test_clean_text_empty_only_when_allowed() -> None:
    assert not is_clean_text("", max_len=10)
    assert is_clean_text("", max_len=10, allow_empty=True)
    assert is_clean_text("", max_len=0, allow_empty=True)


def test_clean_text_negative_max_len_raises() -> None:
    with pytest.raises(ValueError):
        is_clean_text("x", max_len=-1)


@given(st.text(max_size=40))
def test_clean_text_implies_invariants(text: str) -> None:
    if is_clean_text(text, max_len=40):
        assert text
        assert unicodedata.is_normalized("NFC", text)
        assert not text[0].isspace() and not text[-1].isspace()
        bad = {"Cc", "Cf", "Cs", "Cn"}
        assert all(unicodedata.category(c) not in bad for c in text)


letters_and_gaiji = st.characters(categories=["Lo", "Co"])


@given(st.text(alphabet=letters_and_gaiji, min_size=1, max_size=20))
def test_clean_text_accepts_nfc_letters_and_gaiji(text: str) -> None:
    nfc = unicodedata.normalize("NFC", text)
    assert is_clean_text(nfc, max_len=len(nfc))
