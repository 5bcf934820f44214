"""外字 (gaiji): characters in the Unicode private-use areas."""

from __future__ import annotations

import re

__all__ = ["count_gaiji", "is_gaiji"]

_PRIVATE_USE_RANGES = (
    (0xE000, 0xF8FF),  # Private Use Area
    (0xF0000, 0xFFFFD),  # Supplementary Private Use Area-A
    (0x100000, 0x10FFFD),  # Supplementary Private Use Area-B
)


def _is_private_use(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in _PRIVATE_USE_RANGES)


def is_gaiji(ch: str) -> bool:
    """True iff the single character ``ch`` is a private-use code point (外字).

    Raises ValueError if ``ch`` is not exactly one code point.
    """
    if len(ch) != 1:
        raise ValueError(f"expected exactly one character, got {len(ch)}: {ch!r}")
    return _is_private_use(ord(ch))


_GAIJI = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _PRIVATE_USE_RANGES) + "]")


def count_gaiji(text: str) -> int:
    """Number of 外字 code points in ``text`` (one regex scan: this runs on every update)."""
    return len(_GAIJI.findall(text))
