"""The character set of the 漢字 items (氏名, 住所, 転入前住所, 旧氏) and what counts as 外字.

The repertoire (the emulator's choice, documented in docs/domain-rules.md; the seed only says
that 外字数 items exist, 別添1 (2) #3, #12, #19, #38):

- **standard characters**: JIS X 0213:2004 (planes 1 and 2, which contain JIS X 0208), as
  Python's ``euc_jis_2004`` codec encodes it, and printable ASCII (the 既存住基 sends half-width
  digits in addresses). Not standard although the codec encodes them: C0/C1 controls, U+00A0,
  U+00AD, half-width katakana (JIS X 0201, a different set) and every combining mark (JIS X 0213's
  combining sequences such as か゚ included: a stacked mark cannot be told from a plain letter on a
  screen, so the 既存住基 registers such characters as 外字 instead).
- **外字**, counted in the item's 外字数: a CJK ideograph outside JIS X 0213 (髙 U+9AD9, 𠮷
  U+20BB7: the classic 外字 of municipal systems) and a private-use character (the code point a
  municipality gives its registered 外字).
- **anything else is refused**: emoji, Hangul fillers (U+3164), braille blanks (U+2800), Latin
  letters with stacked diacritics, symbols outside JIS X 0213, CJK radicals.

This runs per update in the store's writer: text that the codec encodes in one go and that holds
no encodable-but-refused character is standard throughout (the fast path); otherwise each
character is classified once and cached.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

__all__ = ["GAIJI", "REFUSED", "STANDARD", "char_class", "count_gaiji", "is_gaiji", "scan"]

STANDARD: Final = 0
GAIJI: Final = 1
REFUSED: Final = 2

_CODEC = "euc_jis_2004"
_PRIVATE_USE_RANGES = (
    (0xE000, 0xF8FF),  # Private Use Area
    (0xF0000, 0xFFFFD),  # Supplementary Private Use Area-A
    (0x100000, 0x10FFFD),  # Supplementary Private Use Area-B
)
# CJK ideographs (Unicode 15.1 blocks): a character here that JIS X 0213 lacks is 外字.
_IDEOGRAPH_RANGES = (
    (0x3400, 0x4DBF),  # Extension A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0xF900, 0xFAFF),  # CJK Compatibility Ideographs (the non-NFC ones are refused as non-NFC)
    (0x20000, 0x2A6DF),  # Extension B
    (0x2A700, 0x2EE5F),  # Extensions C, D, E, F, I
    (0x2F800, 0x2FA1F),  # CJK Compatibility Ideographs Supplement
    (0x30000, 0x323AF),  # Extensions G, H
)
# What euc_jis_2004 encodes but the 漢字 items do not hold (see the module docstring).
_ENCODABLE_BUT_REFUSED = re.compile(
    "[\x00-\x1f\x7f-\xa0\xad\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\u3099\u309a\ufe20-\ufe2f\uff61-\uff9f]"
)
_CACHE_LIMIT = 65536
_cache: dict[str, int] = {}


def _in(cp: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(lo <= cp <= hi for lo, hi in ranges)


def _classify(ch: str) -> int:
    cp = ord(ch)
    if _in(cp, _PRIVATE_USE_RANGES):
        return GAIJI
    if _ENCODABLE_BUT_REFUSED.match(ch):
        return REFUSED
    try:
        ch.encode(_CODEC)
    except UnicodeEncodeError:
        if _in(cp, _IDEOGRAPH_RANGES) and unicodedata.category(ch) == "Lo":
            return GAIJI
        return REFUSED
    return STANDARD


def char_class(ch: str) -> int:
    """STANDARD, GAIJI or REFUSED for one character (cached)."""
    found = _cache.get(ch)
    if found is None:
        if len(ch) != 1:
            raise ValueError(f"expected exactly one character, got {len(ch)}")
        found = _classify(ch)
        if len(_cache) < _CACHE_LIMIT:
            _cache[ch] = found
    return found


def scan(text: str) -> tuple[int, int]:
    """(number of 外字, 1-based position of the first refused character or 0) of ``text``."""
    try:
        text.encode(_CODEC)
    except UnicodeEncodeError:
        pass
    else:
        if _ENCODABLE_BUT_REFUSED.search(text) is None:
            return 0, 0
    count = 0
    for position, ch in enumerate(text, 1):
        found = _cache.get(ch)
        if found is None:
            found = char_class(ch)
        if found == REFUSED:
            return count, position
        count += found  # GAIJI == 1
    return count, 0


def is_gaiji(ch: str) -> bool:
    """True iff the single character ``ch`` is 外字 (see the module docstring).

    Raises ValueError if ``ch`` is not exactly one code point.
    """
    return char_class(ch) == GAIJI


def count_gaiji(text: str) -> int:
    """Number of 外字 in ``text`` (refused characters are not counted)."""
    count, refused_at = scan(text)
    if not refused_at:
        return count
    return sum(1 for ch in text if char_class(ch) == GAIJI)
