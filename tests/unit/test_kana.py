"""Tests for cs_gateway.domain.kana."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cs_gateway.domain.kana import is_katakana_name, seion

KATAKANA = [chr(cp) for cp in range(0x30A1, 0x30F7)] + ["ー"]
SP = "\u3000"

words = st.text(alphabet=KATAKANA, min_size=1, max_size=8)
katakana_names = st.lists(words, min_size=1, max_size=4).map(SP.join)


@pytest.mark.parametrize(
    "text",
    [
        "ヤマダ",
        "ヤマダ　タロウ",
        "ヴァイオリン",
        "ヵヶ",
        "ルーシー",
        "ア　イ　ウ",
        "ァ",
        "ヰヱヲン",
    ],
)
def test_katakana_name_accepts_full_width_katakana(text: str) -> None:
    assert is_katakana_name(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "　ヤマダ",  # leading U+3000
        "ヤマダ　",  # trailing U+3000
        "ヤマダ　　タロウ",  # doubled U+3000
        "　",
        "ヤマダ タロウ",  # ASCII space
        "ジョン・スミス",  # middle dot U+30FB
        "ﾔﾏﾀﾞ",  # half-width katakana
        "やまだ",  # hiragana
        "YAMADA",
        "山田",
        "ヷ",  # U+30F7: outside U+30A1-U+30F6
        "ヽ",  # iteration mark
        "゠",  # U+30A0
        "ㇰ",  # Katakana Phonetic Extensions
        "ヤマダ\n",
        "ヤマダ\u200b",
    ],
)
def test_katakana_name_rejects_non_katakana(text: str) -> None:
    assert not is_katakana_name(text)


def test_katakana_name_requires_nfc_decomposed_ga_rejected() -> None:
    decomposed = "カ\u3099"
    assert unicodedata.normalize("NFC", decomposed) == "ガ"
    assert not is_katakana_name(decomposed)
    assert not is_katakana_name("カ\u309a")  # half-voiced mark on its own
    assert is_katakana_name("ガ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ガッコウ", "カツコウ"),
        ("ジョウ", "シヨウ"),
        ("パン", "ハン"),
        ("ヴァイオリン", "ウアイオリン"),
        ("ヤマダ　タロウ", "ヤマタ　タロウ"),
        ("キョウコ", "キヨウコ"),
        ("ヅヂ", "ツチ"),
        ("バビブベボ", "ハヒフヘホ"),
        ("パピプペポ", "ハヒフヘホ"),
        ("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ"),
        ("ルーシー", "ルーシー"),
    ],
)
def test_seion_vectors_seion_folding(text: str, expected: str) -> None:
    assert seion(text) == expected


@pytest.mark.parametrize("text", ["", "やまだ", "ヤマダ　", "ジョン・スミス", "カ\u3099", "ヷ"])
def test_seion_rejects_non_katakana_name(text: str) -> None:
    with pytest.raises(ValueError):
        seion(text)


def test_seion_folds_every_voiced_katakana_in_range() -> None:
    for ch in KATAKANA:
        folded = seion(ch)
        assert "\u3099" not in unicodedata.normalize("NFD", folded)
        assert "\u309a" not in unicodedata.normalize("NFD", folded)


@given(katakana_names)
def test_seion_is_idempotent(text: str) -> None:
    once = seion(text)
    assert seion(once) == once


@given(katakana_names)
def test_seion_output_is_katakana_name_of_same_shape(text: str) -> None:
    out = seion(text)
    assert is_katakana_name(out)
    assert len(out) == len(text)
    assert [i for i, c in enumerate(out) if c in (SP, "ー")] == [i for i, c in enumerate(text) if c in (SP, "ー")]


@given(katakana_names)
def test_generated_names_are_katakana_names(text: str) -> None:
    assert is_katakana_name(text)


@given(
    katakana_names,
    st.sampled_from(["・", " ", "ｱ", "あ", "a", "\u3099", "\u3000\u3000"]),
)
def test_katakana_name_rejects_any_foreign_char(text: str, bad: str) -> None:
    assert not is_katakana_name(text + bad)
    assert not is_katakana_name(bad + text)
