"""An online copy of the store (seed III(2)-3: only an administrator copies the file, only as a
backup, and every output to a medium is recorded).

The copy is made with SQLite's backup API from a read snapshot while the gateway keeps running.
Its ``store.backup`` audit entry (who: the local OS user; what: the store; where: the path) is
committed BEFORE the copy is made: a crash in between leaves an entry for a copy that may be
incomplete, never a copy without an entry. A failed copy is removed and recorded as an error.
The destination is created exclusively (an existing file is never overwritten) with mode 0600.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..store.local import AppendingStore, LocalStoreError, ReadOnlyStore
from .event import ERROR, OK, REFUSED, AuditEvent
from .local_ops import append_committed, local_actor, trail_for
from .site import AuditSite
from .trail import AuditTrail

ACTION = "store.backup"


class BackupError(Exception):
    """No backup was made; the message says why."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    audit_seq: int

    def describe(self) -> str:
        return f"backup written to {self.path} ({self.size} bytes, mode 0600); recorded as audit entry {self.audit_seq}"


def _is_administrator(store_path: Path) -> bool:
    """The store's owner (the service account) or root: who may hold a copy of the file."""
    euid = os.geteuid()
    return euid == 0 or euid == store_path.stat().st_uid


def _record(conn: AppendingStore, trail: AuditTrail, outcome: str, detail: str, reason: str = "") -> int:
    return append_committed(
        conn, trail, AuditEvent(action=ACTION, outcome=outcome, actor=local_actor(), reason=reason, detail=detail)
    )


def _refuse(conn: AppendingStore, trail: AuditTrail, reason: str, detail: str, message: str) -> BackupError:
    try:
        _record(conn, trail, REFUSED, detail, reason)
    except Exception as err:  # noqa: BLE001 - the refusal stands whether or not it could be recorded
        return BackupError(f"{message} (and the refusal could not be audited: {type(err).__name__})")
    return BackupError(message)


def _fsync(path: Path, flags: int = os.O_RDONLY) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup_store(config: AuditSite, destination: Path) -> BackupResult:
    store = config.store_path
    destination = Path(destination).absolute()
    trail = trail_for(config)
    conn = AppendingStore(store)
    try:
        detail = f"copy of the store {store.resolve()} to {destination}"
        if not _is_administrator(store):
            raise _refuse(conn, trail, "not-administrator", detail, "only the store's owner or root may copy it")
        if destination.exists() or destination.is_symlink():
            raise _refuse(conn, trail, "destination-exists", detail, f"{destination} exists; a backup never overwrites")
        if not destination.parent.is_dir():
            raise BackupError(f"{destination.parent} is not a folder")
        try:
            fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            raise _refuse(conn, trail, "destination-exists", detail, f"{destination} exists") from None
        os.close(fd)
        try:
            seq = _record(conn, trail, OK, detail)  # the entry first: no copy without an entry
        except BaseException:
            destination.unlink(missing_ok=True)
            raise
        try:
            _copy(store, destination)
        except BaseException as err:
            for leftover in (destination, Path(f"{destination}-journal"), Path(f"{destination}-wal")):
                leftover.unlink(missing_ok=True)
            try:
                _record(conn, trail, ERROR, detail + " failed; the partial copy was removed", type(err).__name__)
            except Exception:  # noqa: BLE001, S110 - the original failure is what the caller must see
                pass
            raise BackupError(f"the copy failed and was removed: {err}") from err
        return BackupResult(destination, destination.stat().st_size, seq)
    finally:
        conn.close()


def _copy(store: Path, destination: Path) -> None:
    with ReadOnlyStore(store) as source:
        try:
            source.copy_to(destination)  # one consistent snapshot, one self-contained file, checked
        except LocalStoreError as err:
            raise BackupError(str(err)) from err
    os.chmod(destination, 0o600)
    _fsync(destination)
    _fsync(destination.parent)
