"""Commands run on the CS itself (audit lookup, prune, backup): who ran them, and how they reach
the store's SQLite file next to a possibly running gateway.

A local command is an operation like any RPC: it is appended to the same hash chain, through the
same AuditTrail, in its own transaction of the store's AppendingStore (store/local.py: the store
opens the file). SQLite's locking serialises it with the gateway's writer (both wait on a busy
timeout), and the chain head is read inside the transaction, so the two writers never fork the
chain.
"""

from __future__ import annotations

import os
import pwd
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509

from ..store.local import AppendingStore
from .chain import SubjectHasher
from .event import Actor, AuditEvent
from .keys import load_or_create_hmac_key
from .signing import CheckpointSigner
from .site import AuditSite
from .trail import ENTRY_COLUMNS, AuditTrail


def local_user() -> str:
    """The OS account running this process (from the uid, not from spoofable environment variables)."""
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid{uid}"


def local_actor() -> Actor:
    return Actor(spiffe_id=f"local:{local_user()}", peer="local")


def signer_for(config: AuditSite) -> CheckpointSigner:
    return CheckpointSigner.from_files(config.tls.key, config.tls.cert)


def hasher_for(config: AuditSite) -> SubjectHasher:
    """The configured subject HMAC key; a local command never creates one."""
    return SubjectHasher(load_or_create_hmac_key(config.audit.hmac_key, may_create=False))


def trail_for(config: AuditSite, *, now: Callable[[], datetime] | None = None) -> AuditTrail:
    """The same trail the gateway appends to: same HMAC key, checkpoints signed with the CS key."""
    return AuditTrail(
        hasher_for(config),
        signer_for(config),
        checkpoint_every=config.audit.checkpoint_every,
        now=now or (lambda: datetime.now(UTC)),
    )


def cs_certificates(config: AuditSite, extra: list[Path] | None = None) -> list[x509.Certificate]:
    """The CS certificate (leaf of tls.cert) plus earlier CS certificates given after a key rotation."""
    certs = [x509.load_pem_x509_certificates(Path(config.tls.cert).read_bytes())[0]]
    for path in extra or []:
        certs.extend(x509.load_pem_x509_certificates(Path(path).read_bytes())[:1])
    return certs


def append_committed(store: AppendingStore, trail: AuditTrail, event: AuditEvent) -> int:
    """Append one entry in its own transaction and commit it (durable before the caller goes on)."""
    with store.transaction() as conn:
        return trail.append(conn, event)


def select_entries(where: str = "", order: str = "ORDER BY seq") -> str:
    """SELECT of every audit_log column (chained fields, prev_hash, entry_hash) with a filter."""
    return f"SELECT {', '.join(ENTRY_COLUMNS)} FROM audit_log {where} {order}"  # noqa: S608


def rows_as_entries(cursor: sqlite3.Cursor) -> list[dict[str, object]]:
    return [dict(zip(ENTRY_COLUMNS, row, strict=True)) for row in cursor]
