"""Generic free-text hygiene for fields such as 氏名 and 住所."""

from __future__ import annotations

import functools
import re
import unicodedata

__all__ = ["is_clean_text"]

# Cc control, Cf format (ZWJ, BOM, bidi controls ...), Cs lone surrogate,
# Cn unassigned (per this Python's Unicode database), Zl/Zp U+2028/U+2029.
# Co (private use = 外字) is deliberately allowed.
_REJECTED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Cn", "Zl", "Zp"})


# Characters that are assigned, not controls and not separators in every Unicode version Python
# ships (printable ASCII, CJK symbols and punctuation, kana, CJK unified ideographs, full-width
# forms, private use = 外字): text made only of these skips the per-character category scan.
_COMMON = re.compile("[\u0020-\u007e\u3000-\u303f\u3041-\u3096\u3099-\u30ff\u4e00-\u9fff\ue000-\uf8ff\uff01-\uff5e]*")


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
    if not _COMMON.fullmatch(text) and any(_rejected(ch) for ch in text):
        return False
    return unicodedata.is_normalized("NFC", text)
