"""Generic free-text hygiene for fields such as 氏名 and 住所."""

from __future__ import annotations

import functools
import unicodedata

__all__ = ["is_clean_text"]

# Cc control, Cf format (ZWJ, BOM, bidi controls ...), Cs lone surrogate,
# Cn unassigned (per this Python's Unicode database), Zl/Zp U+2028/U+2029.
# Co (private use = 外字) is deliberately allowed.
_REJECTED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Cn", "Zl", "Zp"})


@functools.lru_cache(maxsize=8192)
def _rejected(ch: str) -> bool:
    return unicodedata.category(ch) in _REJECTED_CATEGORIES


def is_clean_text(text: str, *, max_len: int, allow_empty: bool = False) -> bool:
    """True iff ``text`` is safe single-line text.

    Rejects Cc/Cf/Cs/Cn characters, line/paragraph separators (Zl/Zp), non-NFC
    text, leading or trailing whitespace (incl. U+3000) and more than
    ``max_len`` code points; the empty string only passes with
    ``allow_empty``.  外字 (Co) and inner U+3000 are allowed.
    Raises ValueError if ``max_len`` is negative.
    """
    if max_len < 0:
        raise ValueError(f"max_len must be >= 0, got {max_len}")
    if not isinstance(text, str):
        return False
    if not text:
        return allow_empty
    if len(text) > max_len:
        return False
    if text[0].isspace() or text[-1].isspace():
        return False
    if any(_rejected(ch) for ch in text):
        return False
    return unicodedata.is_normalized("NFC", text)
