"""The canonical encodings the CS signs and hashes, defined once (fixed vectors: tests/unit).

- ``encode_notice``: a change notice (change_notice.NOTICE_ITEMS) as the bytes the CS signs
  with its key (a detached signature) and the 都道府県サーバー verifies and applies.
- ``encode_record``: a record's 本人確認情報 as both copies hold it (the same items), the leaf
  of the consistency check's hash tree (consistency_tree.py) and the unit of its full mode.

Both are a label line, then the items as JSON with sorted keys, no whitespace, non-ASCII as
UTF-8, integers for enums, ISO dates, "" for an empty text. The label keeps a notice's bytes
from ever being taken for a record's, and says the version. Decoding checks that the bytes are
exactly the canonical encoding of what they decode to: two different byte strings never mean
the same notice.
"""

from __future__ import annotations

import json
from typing import Any

from .change_notice import NOTICE_ITEMS

NOTICE_LABEL = b"jukinet-cs-change-notice/v1\n"
RECORD_LABEL = b"jukinet-cs-record/v1\n"
_INT_ITEMS = frozenset({"sex", "change_reason", "record_status", "update_seq"})


class EncodingError(ValueError):
    """Bytes that are not the canonical encoding of a notice or a record."""


def _json(items: dict[str, Any]) -> bytes:
    return json.dumps(items, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _checked(items: dict[str, Any]) -> dict[str, Any]:
    if set(items) != set(NOTICE_ITEMS):
        missing = sorted(set(NOTICE_ITEMS) - set(items))
        extra = sorted(set(items) - set(NOTICE_ITEMS))
        raise EncodingError(f"items differ from the notice's: missing {missing}, unknown {extra}")
    out: dict[str, Any] = {}
    for name in NOTICE_ITEMS:
        value = items[name]
        if name in _INT_ITEMS:
            if not isinstance(value, int) or isinstance(value, bool):
                raise EncodingError(f"{name}: must be an integer")
            value = int(value)
        elif value is None:
            value = ""
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        elif not isinstance(value, str):
            raise EncodingError(f"{name}: must be a text")
        out[name] = value
    return out


def checked_items(items: dict[str, Any]) -> dict[str, Any]:
    """The items as the encodings write them (checked, in NOTICE_ITEMS order), or EncodingError."""
    return _checked(items)


def encode_notice(items: dict[str, Any]) -> bytes:
    """The signed bytes of a change notice (items: change_notice(record) or the outbox's JSON)."""
    return NOTICE_LABEL + _json(_checked(items))


def encode_record(items: dict[str, Any]) -> bytes:
    """The canonical bytes of a record's 本人確認情報 (the notice items of its current version)."""
    return RECORD_LABEL + _json(_checked(items))


def _decode(data: bytes, label: bytes) -> dict[str, Any]:
    if not data.startswith(label):
        raise EncodingError("wrong label")
    try:
        items = json.loads(data[len(label) :].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise EncodingError(f"not JSON: {err}") from err
    if not isinstance(items, dict):
        raise EncodingError("not an object")
    checked = _checked(items)
    if label + _json(checked) != data:
        raise EncodingError("not the canonical encoding")
    return checked


def decode_notice(data: bytes) -> dict[str, Any]:
    return _decode(data, NOTICE_LABEL)


def decode_record(data: bytes) -> dict[str, Any]:
    return _decode(data, RECORD_LABEL)


def record_of_notice(notice: bytes) -> bytes:
    """The record encoding of what a notice says (the prefecture keeps this per 住民票コード)."""
    return encode_record(decode_notice(notice))
