"""The store file as the local commands (cs_gateway/audit/*: verify, report, lookup, prune,
verify-archive, backup) and the composition root reach it: the only place besides the writer
that opens it. SQLite adapter.

- ``ReadOnlyStore``: what the commands that only read get; each ``snapshot()`` is one read
  transaction on a read-only (``mode=ro``, ``query_only``) connection.
- ``AppendingStore``: for the commands that write (their own audit entries, a prune): each
  ``transaction()`` is one ``BEGIN IMMEDIATE`` transaction, committed durably, serialised with
  the gateway's writer by SQLite's lock (both wait on the busy timeout) so that the two never
  fork the audit chain.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Self

from .sqlite_tx import BUSY_TIMEOUT_S

AUDIT_SCHEMA_VERSION = 2  # schema.py migration 2 made the audit tables


class LocalStoreError(Exception):
    """The store cannot be opened or written by a local command; the message says why."""


def _check_schema(conn: sqlite3.Connection, path: Path) -> None:
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version < AUDIT_SCHEMA_VERSION:
        conn.close()
        raise LocalStoreError(f"{path}: not a cs-gateway store with an audit trail (schema version {version})")


@contextmanager
def _within(conn: sqlite3.Connection, begin: str) -> Iterator[sqlite3.Connection]:
    conn.execute(begin)
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    if conn.in_transaction:
        conn.execute("COMMIT")


class _LocalStore:
    """One connection to an existing store file, checked to have the audit trail's schema."""

    _how = "open the store"

    def __init__(self, store_path: Path) -> None:
        path = Path(store_path)
        if not path.is_file():
            raise LocalStoreError(f"{path}: no such store file")
        try:
            conn = self._connect(path)
            _check_schema(conn, path)
        except sqlite3.Error as err:
            raise LocalStoreError(f"{path}: cannot {self._how}: {err}") from err
        self.path = path
        self._conn = conn

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        raise NotImplementedError

    def snapshot(self) -> AbstractContextManager[sqlite3.Connection]:
        """One consistent read of the file (the gateway keeps appending meanwhile)."""
        return _within(self._conn, "BEGIN")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ReadOnlyStore(_LocalStore):
    _how = "open the store read-only"

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_S)
        conn.execute("PRAGMA query_only=ON")
        return conn

    def copy_to(self, destination: Path) -> None:
        """An online copy as one consistent snapshot, one self-contained file (no WAL), checked."""
        target = sqlite3.connect(destination, isolation_level=None, timeout=BUSY_TIMEOUT_S)
        try:
            self._conn.backup(target)  # all pages in one step: one consistent snapshot
            target.execute("PRAGMA journal_mode=DELETE")  # readable on read-only media
            (check,) = target.execute("PRAGMA quick_check").fetchone()
            if check != "ok":
                raise LocalStoreError(f"the copy fails SQLite's quick_check: {check}")
        finally:
            target.close()


class AppendingStore(_LocalStore):
    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_S)
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """One write transaction: committed (durably) when the block ends, rolled back if it raises."""
        return _within(self._conn, "BEGIN IMMEDIATE")


def trail_is_empty(store_path: Path) -> bool:
    """No audit entry yet (or no store yet): a new HMAC key may be made for it."""
    path = Path(store_path)
    if not path.exists():
        return True
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT 1 FROM audit_log LIMIT 1").fetchone() is None
    except sqlite3.OperationalError:
        return True  # no audit table yet: the migration will create it
    finally:
        conn.close()
