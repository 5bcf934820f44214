"""The audit HMAC key: 32 random bytes in a 0600 file, made once at set-up."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

KEY_BYTES = 32


class AuditKeyError(Exception):
    pass


def load_or_create_hmac_key(path: Path, *, may_create: bool) -> bytes:
    """Read the key; create it only when allowed (a new, empty trail), never silently replace it."""
    path = Path(path)
    if path.exists():
        data = path.read_bytes()
        if len(data) < KEY_BYTES:
            raise AuditKeyError(f"{path}: the audit HMAC key is shorter than {KEY_BYTES} bytes")
        return data
    if not may_create:
        raise AuditKeyError(
            f"{path}: the audit HMAC key is missing but the trail has entries; restore the key "
            "(a new key would make the existing subject HMACs unmatchable)"
        )
    key = secrets.token_bytes(KEY_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    return key
