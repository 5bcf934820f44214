"""Operational log: structlog, JSON lines on stderr, every line through the masking processor.

個人番号 (12 digits) and 住民票コード (11 digits) are masked in every string value of every
line, whatever the key, before anything is rendered.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

# 11 or 12 digit runs not part of a longer digit run (ASCII and full-width digits).
_IDENTIFIER = re.compile(r"(?<![0-9０-９])([0-9０-９]{7,8})([0-9０-９]{4})(?![0-9０-９])")
# 個人番号 as printed on the card: 4-4-4 with spaces or hyphens.
_GROUPED = re.compile(r"(?<![0-9０-９])[0-9０-９]{4}[ \-　][0-9０-９]{4}[ \-　]([0-9０-９]{4})(?![0-9０-９])")


def mask_text(text: str) -> str:
    text = _GROUPED.sub(lambda m: "**** **** " + m.group(1), text)
    return _IDENTIFIER.sub(lambda m: "*" * len(m.group(1)) + m.group(2), text)


def _mask(value: Any) -> Any:
    """``value`` with every identifier masked, whatever its type: keys of mappings included, and
    anything but str, int, float, bool and None turned into its masked text here (the renderer
    would otherwise print its repr() after this processor has run)."""
    if isinstance(value, str):
        return mask_text(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return mask_text(str(value)) if 10**10 <= abs(value) < 10**12 else value
    if isinstance(value, float):
        text = repr(value)
        return value if mask_text(text) == text else mask_text(text)
    if isinstance(value, Mapping):
        return {mask_text(str(k)): _mask(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_mask(v) for v in value]
    return mask_text(str(value))


def mask_identifiers(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: mask 個人番号 and 住民票コード in every field."""
    return {key: _mask(value) for key, value in event_dict.items()}


def configure_logging() -> None:
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            mask_identifiers,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
