"""Hash chain and subject HMACs of the audit trail.

entry_hash = SHA-256(prev_hash || canonical JSON of the entry's fields). An edit, deletion,
insertion or reordering of any entry breaks the link to its successor. Subjects are stored as
HMAC-SHA256 under a secret key: an auditor holding the key can test a known 住民票コード
against them; nobody can read them back.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

GENESIS = "0" * 64
# The fields covered by the hash, in the trail's column order.
CHAINED_FIELDS: tuple[str, ...] = (
    "seq",
    "at",
    "action",
    "outcome",
    "reason",
    "spiffe_id",
    "cert_fingerprint",
    "peer",
    "operator_id",
    "terminal_id",
    "subject_code_hmac",
    "subject_number_hmac",
    "request_id",
    "update_seq",
    "detail",
)


def canonical(fields: Mapping[str, Any]) -> bytes:
    """The entry's chained fields in a fixed order, each as name=<length>:<value> (None as ~),
    so that no value can imitate a field boundary. Runs for every operation: kept flat."""
    parts = []
    for name in CHAINED_FIELDS:
        value = fields[name]
        text = "~" if value is None else str(value)
        parts.append(f"{name}={len(text)}:{text}")
    return "\n".join(parts).encode("utf-8")


def entry_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical(fields)).hexdigest()


class SubjectHasher:
    """Keyed HMACs of subject identifiers (the key never leaves the CS)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the audit HMAC key must be at least 32 bytes")
        self._key = key

    def digest(self, kind: str, value: str) -> str:
        if not value:
            return ""
        return hmac.digest(self._key, f"{kind}:{value}".encode(), "sha256").hex()

    def juminhyo_code(self, value: str) -> str:
        return self.digest("juminhyo_code", value)

    def individual_number(self, value: str) -> str:
        return self.digest("individual_number", value)
