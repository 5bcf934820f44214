"""How a 住民票コード (11 digits) or 個人番号 (12 digits) is shown wherever it is not needed in
full: the operational log, the clients' output, error texts, the audit trail's kept ids and the
auditor's reports. One rule, here: only the last four digits stay visible, enough for an
operator to tell records apart, never enough to find a person.

* ``mask_identifier(value)``: a value known to be an identifier (a record's 住民票コード): every
  character but the last four becomes ``*``, the length is kept; four characters or fewer are
  masked entirely (a short, malformed identifier is not shown either).
* ``mask_text(text)``: free text that may hold identifiers anywhere: every run of 11 digits or more
  (ASCII or full-width, possibly split by single hyphens: ``1003-1676-008``) keeps only its last
  four digits (hyphens stay); a 個人番号 printed as on the card (4-4-4 with spaces or hyphens)
  becomes ``**** **** 1234``. Shorter numbers (dates, 更新順番号) are left alone.
"""

from __future__ import annotations

import re

MASK_CHAR = "*"
VISIBLE_TAIL = 4
MIN_IDENTIFIER_DIGITS = 11  # a 住民票コード; a 個人番号 has 12

_DIGIT = "[0-9０-９]"
# A run of digits, possibly split by single hyphens.
_DIGIT_RUN = re.compile(rf"{_DIGIT}(?:-?{_DIGIT})*")
# 個人番号 as printed on the card: 4-4-4 with spaces or hyphens.
_GROUPED = re.compile(rf"(?<!{_DIGIT}){_DIGIT}{{4}}[ \-　]{_DIGIT}{{4}}[ \-　]({_DIGIT}{{4}})(?!{_DIGIT})")
# Cheap first look: fewer than 11 digits in a row (allowing one separator between them) -> as is.
_MAYBE = re.compile(rf"(?:{_DIGIT}[ \-　]?){{{MIN_IDENTIFIER_DIGITS}}}")


def _mask_tail(value: str, keep: str = "") -> str:
    """Every character but the last VISIBLE_TAIL (not counting those in ``keep``, which stay)
    replaced by MASK_CHAR."""
    out: list[str] = []
    visible = VISIBLE_TAIL
    for ch in reversed(value):
        if ch in keep:
            out.append(ch)
        elif visible > 0:
            visible -= 1
            out.append(ch)
        else:
            out.append(MASK_CHAR)
    return "".join(reversed(out))


def mask_identifier(value: str) -> str:
    """A 住民票コード or 個人番号 with all but its last four characters masked:
    ``39201748562`` -> ``*******8562``. At most four characters are ever revealed."""
    if not isinstance(value, str):
        raise TypeError(f"expected str, got {type(value).__name__}")
    if len(value) <= VISIBLE_TAIL:
        return MASK_CHAR * len(value)
    return _mask_tail(value)


def _mask_run(match: re.Match[str]) -> str:
    """A run of 11 digits or more may hold an identifier, alone or inside a longer number (a date
    and a code run together): all but its last four digits are masked."""
    run = match.group(0)
    if len(run) - run.count("-") < MIN_IDENTIFIER_DIGITS:
        return run
    return _mask_tail(run, keep="-")


def mask_text(text: str) -> str:
    """``text`` with every identifier-shaped number in it masked (see the module's rule)."""
    if _MAYBE.search(text) is None:
        return text
    text = _GROUPED.sub(lambda m: f"{MASK_CHAR * 4} {MASK_CHAR * 4} " + m.group(1), text)
    return _DIGIT_RUN.sub(_mask_run, text)
