"""Masking of identifiers for anything a client prints or logs.

A 住民票コード (11 digits) or 個人番号 (12 digits) is never shown in full: only its last four
characters stay visible (``*******1234``), enough for an operator to tell records apart.
"""

from __future__ import annotations

__all__ = ["MASK_CHAR", "VISIBLE_TAIL", "mask_identifier"]

MASK_CHAR = "*"
VISIBLE_TAIL = 4


def mask_identifier(value: str) -> str:
    """``value`` with every character but the last four replaced by ``*``.

    The length is kept, so ``39201748562`` becomes ``*******8562``. A value of four
    characters or fewer is masked entirely, so a short (malformed) identifier is not shown
    in full either. At most four characters, hence at most four digits, are ever revealed.
    """
    if not isinstance(value, str):
        raise TypeError(f"expected str, got {type(value).__name__}")
    if len(value) <= VISIBLE_TAIL:
        return MASK_CHAR * len(value)
    return MASK_CHAR * (len(value) - VISIBLE_TAIL) + value[-VISIBLE_TAIL:]
