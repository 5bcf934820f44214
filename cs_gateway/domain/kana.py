"""カタカナ氏名の検証と清音化 (katakana name validation and seion folding)."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["first_non_kana", "is_katakana_name", "seion"]

IDEOGRAPHIC_SPACE = "\u3000"
CHOONPU = "\u30fc"  # ー

# One word = one or more of ァ..ヶ (U+30A1-U+30F6) or ー; words are separated by
# exactly one U+3000.  ・ (U+30FB), ヷ-ヺ (U+30F7-U+30FA), ヽヾ, half-width kana,
# hiragana and combining marks (U+3099/U+309A) are all outside the class, so a
# decomposed (non-NFC) ガ = カ + U+3099 is rejected as well.
_WORD = "[\u30a1-\u30f6\u30fc]+"
_KATAKANA_NAME = re.compile(f"{_WORD}(?:\u3000{_WORD})*")

_SMALL_TO_FULL = {
    "ァ": "ア",
    "ィ": "イ",
    "ゥ": "ウ",
    "ェ": "エ",
    "ォ": "オ",
    "ッ": "ツ",
    "ャ": "ヤ",
    "ュ": "ユ",
    "ョ": "ヨ",
    "ヮ": "ワ",
    "ヵ": "カ",
    "ヶ": "ケ",
}


def _build_seion_table() -> dict[int, str]:
    table: dict[int, str] = {}
    # U+30A1..U+30FA: also covers ヷヸヹヺ even though is_katakana_name rejects them.
    for cp in range(0x30A1, 0x30FB):
        ch = chr(cp)
        nfd = unicodedata.normalize("NFD", ch)
        base = nfd.replace("\u3099", "").replace("\u309a", "")
        if base != ch:
            table[cp] = base
    for small, full in _SMALL_TO_FULL.items():
        table[ord(small)] = full
    return table


_SEION_TABLE = str.maketrans(_build_seion_table())


def is_katakana_name(text: str) -> bool:
    """True iff ``text`` is a non-empty NFC full-width katakana name.

    Allowed: U+30A1-U+30F6 (incl. ヴ ヵ ヶ), ー, and single U+3000 between words.
    Not allowed: ・, leading/trailing/doubled U+3000, half-width kana, hiragana,
    ASCII, combining marks (hence decomposed forms).
    """
    return isinstance(text, str) and _KATAKANA_NAME.fullmatch(text) is not None


_KANA_CHAR = re.compile("[\u30a1-\u30f6\u30fc]")


def first_non_kana(text: str) -> int:
    """The 1-based position where ``text`` stops being a katakana name (0: it is one).

    A character outside katakana / ー / U+3000, or a U+3000 at either end or after another."""
    if is_katakana_name(text):
        return 0
    for position, ch in enumerate(text, 1):
        if _KANA_CHAR.fullmatch(ch):
            continue
        if ch == IDEOGRAPHIC_SPACE and 1 < position < len(text) and text[position - 2] != IDEOGRAPHIC_SPACE:
            continue
        return position
    return 1  # the empty string


def seion(text: str) -> str:
    """清音化かな: ガ→カ, パ→ハ, ヴ→ウ, ッ→ツ, ャ→ヤ, ヵ→カ ...; ー and U+3000 kept.

    Raises ValueError if ``text`` is not :func:`is_katakana_name`.
    """
    if not is_katakana_name(text):
        raise ValueError(f"not a katakana name: {text!r}")
    return text.translate(_SEION_TABLE)
