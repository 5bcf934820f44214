"""Masking of identifiers for anything a client prints or logs: the domain's one rule
(cs_gateway/domain/masking.py), under the name the clients import it by.

A 住民票コード (11 digits) or 個人番号 (12 digits) is never shown in full: only its last four
characters stay visible (``*******1234``), enough for an operator to tell records apart.
"""

from __future__ import annotations

from cs_gateway.domain.masking import MASK_CHAR, VISIBLE_TAIL, mask_identifier, mask_text

__all__ = ["MASK_CHAR", "VISIBLE_TAIL", "mask_identifier", "mask_text"]
