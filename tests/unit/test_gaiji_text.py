"""Tests for cs_gateway.domain.gaiji and cs_gateway.domain.text."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cs_gateway.domain.gaiji import GAIJI, REFUSED, STANDARD, char_class, count_gaiji, is_gaiji, scan
from cs_gateway.domain.text import is_clean_text

# --- 外字 and the character set of the 漢字 items -----------------------------------------


@pytest.mark.parametrize("cp", [0xE000, 0xE123, 0xF8FF, 0xF0000, 0xFFFFD, 0x100000, 0x10FFFD])
def test_private_use_character_is_gaiji_the_municipality_registered(cp: int) -> None:
    assert is_gaiji(chr(cp))
    assert unicodedata.category(chr(cp)) == "Co"


@pytest.mark.parametrize("ch", ["髙", "𠮷", "\u3401", "\u9fa6", "𪛖"])
def test_cjk_ideograph_outside_jis_x_0213_is_gaiji(ch: str) -> None:
    """髙 (U+9AD9) and 𠮷 (U+20BB7): the classic 外字 of municipal systems (not in JIS X 0213)."""
    with pytest.raises(UnicodeEncodeError):
        ch.encode("euc_jis_2004")
    assert is_gaiji(ch)
    assert char_class(ch) == GAIJI


@pytest.mark.parametrize(
    "ch", ["山", "高", "𠮟", "﨑", "々", "〆", "ー", "あ", "ア", "Ａ", "１", "a", "1", "\u3000", "♨"]
)
def test_jis_x_0213_character_is_standard(ch: str) -> None:
    assert char_class(ch) == STANDARD
    assert not is_gaiji(ch)


@pytest.mark.parametrize(
    ("ch", "why"),
    [
        ("\u3164", "Hangul filler: looks like a space"),
        ("\u2800", "braille blank: looks like a space"),
        ("\U0001f600", "emoji"),
        ("\u0301", "combining mark (encodable, but stacks)"),
        ("\u309a", "combining semi-voiced mark"),
        ("ｱ", "half-width katakana (JIS X 0201)"),
        ("\u00a0", "no-break space"),
        ("\u00ad", "soft hyphen"),
        ("\x07", "control"),
        ("\u2e80", "CJK radical, not an ideograph"),
        ("\u200b", "zero-width space"),
    ],
)
def test_character_outside_repertoire_is_refused(ch: str, why: str) -> None:
    assert char_class(ch) == REFUSED, why


def test_scan_gives_gaiji_count_and_first_refused_position() -> None:
    assert scan("山田太郎") == (0, 0)
    assert scan("髙橋\u3000太郎") == (1, 0)
    assert scan("\ue000田𠮷郎") == (2, 0)
    assert scan("弘前\u3164太郎") == (0, 3)
    assert scan("髙e\u0301\u0301") == (1, 3)
    assert scan("か\u309a") == (0, 2)  # the codec would encode the pair; a combining mark is refused


def test_count_gaiji_counts_ideographs_outside_jis_and_private_use() -> None:
    assert count_gaiji("") == 0
    assert count_gaiji("山田太郎") == 0
    assert count_gaiji("\ue000田\U000f0000郎\U0010fffd") == 3
    assert count_gaiji("髙橋𠮷") == 2
    assert count_gaiji("髙\u3164𠮷") == 2  # refused characters are not 外字


@pytest.mark.parametrize("bad", ["", "ab", "山田"])
def test_gaiji_requires_single_character(bad: str) -> None:
    with pytest.raises(ValueError):
        is_gaiji(bad)


def test_every_encodable_mark_control_or_separator_is_refused() -> None:
    """The fast path (one encode + one regex) agrees with the per-character rule over the whole
    BMP: nothing the codec encodes but the repertoire excludes slips through."""
    for cp in range(0x10000):
        ch = chr(cp)
        if 0xD800 <= cp <= 0xDFFF:
            continue
        try:
            encoded = ch.encode("euc_jis_2004")
        except UnicodeEncodeError:
            continue
        category = unicodedata.category(ch)
        excluded = (category[0] in "MC" or (category[0] == "Z" and ch not in " \u3000")) or encoded[0] == 0x8E
        if excluded:
            assert char_class(ch) == REFUSED, hex(cp)
            assert scan("山" + ch)[1] == 2, hex(cp)
        else:
            assert char_class(ch) == STANDARD, hex(cp)


@given(st.text())
def test_scan_agrees_with_char_class(text: str) -> None:
    count, refused_at = scan(text)
    classes = [char_class(c) for c in text]
    if REFUSED in classes:
        assert refused_at == classes.index(REFUSED) + 1
        assert count == classes[: refused_at - 1].count(GAIJI)
    else:
        assert (count, refused_at) == (classes.count(GAIJI), 0)
    assert count_gaiji(text) == classes.count(GAIJI)


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
