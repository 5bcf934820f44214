"""Operational log: structlog, JSON lines on stderr, every line through the masking processor.

個人番号 (12 digits) and 住民票コード (11 digits), and any longer run of digits that could hold
one, are masked (domain/masking.py decides how) in every string value of every line, whatever
the key, before anything is rendered; the standard library's loggers (grpc, asyncio) and
uncaught exceptions print masked text too.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Mapping, MutableMapping
from types import TracebackType
from typing import Any

import structlog

from .domain.masking import mask_text  # the one masking rule (also imported from here by callers)

__all__ = ["configure_logging", "get_logger", "mask_identifiers", "mask_text"]


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


class _MaskingFilter(logging.Filter):
    """For the standard library's loggers (grpc's, asyncio's): the formatted message and any
    traceback, masked, before a handler prints them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = mask_text(record.getMessage()), None
        if record.exc_info:
            record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


def _print_masked(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    sys.stderr.write(mask_text("".join(traceback.format_exception(kind, value, tb))))


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is not SystemExit and args.exc_value is not None:
        thread = args.thread.name if args.thread is not None else "?"
        sys.stderr.write(f"Exception in thread {thread}:\n")
        _print_masked(args.exc_type, args.exc_value, args.exc_traceback)


def _mask_standard_logging() -> None:
    """Everything else that can print in the server process: the standard library's logging (a
    masking filter on its one stderr handler) and uncaught exceptions (masked tracebacks)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_MaskingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    sys.excepthook = _print_masked
    threading.excepthook = _thread_excepthook


def configure_logging() -> None:
    _mask_standard_logging()
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
