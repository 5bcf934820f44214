"""The 初期移行's writer: a whole file of new persons into an empty store, fast (SQLite adapter).

The rows are those of the writer's own put_version (sqlite_tx.version_rows: codes, the 個人番号's
blind index, the history with the number sealed, the search index), written with executemany in
one transaction, together with the import's audit entry on the store's hash chain. For the load
only, and restored afterwards:

- ``journal_mode=DELETE`` instead of WAL with an exclusive lock: the pages of a store that was
  empty are written once to the file (WAL would write every page twice: to the log, then back),
  and nobody else may have the file open meanwhile (a running gateway: refused, "in use");
- ``foreign_keys`` off (every row refers to a person of this same load, by construction), a
  large page cache, temporary B-trees in memory;
- the secondary indexes of the history and the search index are dropped at the start and
  created again from their own CREATE INDEX statements (read from the schema) before the
  commit: building an index from sorted data at the end is cheaper than a million random
  inserts into five of them.

``synchronous`` stays FULL: one transaction has one commit, so it costs a few fsyncs in all. The
transaction is atomic: a refusal or a crash before the commit leaves the store as it was.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..audit.event import AuditEvent
from ..audit.trail import AuditTrail
from .at_rest import default_key_path, open_cipher
from .schema import migrate
from .search_sqlite import INSERT_INDEX
from .sqlite_tx import INSERT_CODE, INSERT_HISTORY, INSERT_NUMBER, VersionRows, connect, read_last_seq

_INSERT_PERSON = "INSERT INTO persons (person_id, juminhyo_code, update_seq, record_digest) VALUES (?, ?, ?, ?)"
_REBUILT_TABLES = ("history", "search_index")
CACHE_KIB = 1_000_000  # the page cache for the load (~1 GB; SQLite allocates it as needed)
LOCK_WAIT_MS = 2000
NOT_EMPTY, IN_USE = "STORE_NOT_EMPTY", "STORE_IN_USE"
_IN_USE = "the store is in use (stop the gateway for the 初期移行)"


def _restore(conn: sqlite3.Connection) -> None:
    """Back to the store's modes (WAL, normal locking), then close."""
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.execute("PRAGMA locking_mode=NORMAL")
        conn.execute("PRAGMA journal_mode=WAL")
    except sqlite3.OperationalError:
        pass  # another process holds the file (a refused import): it never left WAL
    finally:
        conn.close()


class BulkImportError(Exception):
    """The store cannot take an 初期移行 (``reason``: STORE_NOT_EMPTY, STORE_IN_USE); nothing was written."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class BulkImport:
    """One 初期移行 into the store at ``path``: ``add`` records in chunks, then ``commit`` (or
    ``abort``); use as a context manager (an exception aborts)."""

    def __init__(self, path: Path, trail: AuditTrail, *, number_key: Path | None = None) -> None:
        path = Path(path)
        conn = connect(path)  # WAL, synchronous=FULL, foreign keys: as the writer opens it
        try:
            migrate(conn, open_cipher(conn, number_key or default_key_path(path), may_create=True))
            self._prepare(conn, path)
        except BaseException:
            _restore(conn)
            raise
        self._conn = conn
        self._trail = trail
        self._first_seq = read_last_seq(conn) + 1
        self._indexes = self._drop_indexes()
        self.count = 0

    @staticmethod
    def _prepare(conn: sqlite3.Connection, path: Path) -> None:
        conn.execute(f"PRAGMA busy_timeout={LOCK_WAIT_MS}")
        try:
            conn.execute("PRAGMA locking_mode=EXCLUSIVE")
            mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        except sqlite3.OperationalError as err:
            raise BulkImportError(
                IN_USE, f"{path}: the store is in use (stop the gateway for the 初期移行): {err}"
            ) from err
        if mode != "delete":
            raise BulkImportError(IN_USE, f"{path}: {_IN_USE}")
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        conn.execute("PRAGMA temp_store=MEMORY")
        try:
            conn.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError as err:
            raise BulkImportError(
                IN_USE, f"{path}: the store is in use (stop the gateway for the 初期移行): {err}"
            ) from err
        (persons,) = conn.execute("SELECT COUNT(*) FROM (SELECT 1 FROM persons LIMIT 1)").fetchone()
        (versions,) = conn.execute("SELECT COUNT(*) FROM (SELECT 1 FROM history LIMIT 1)").fetchone()
        if persons or versions:
            conn.execute("ROLLBACK")
            raise BulkImportError(
                NOT_EMPTY,
                f"{path}: the store already holds residents; the 初期移行 fills an empty store only "
                "(later changes come as updates from the 既存住基システム)",
            )

    def _drop_indexes(self) -> list[str]:
        rows = self._conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (?, ?)",
            _REBUILT_TABLES,
        ).fetchall()
        for name, _ in rows:
            self._conn.execute(f'DROP INDEX "{name}"')
        return [sql for _, sql in rows]

    def add(self, rows: list[VersionRows]) -> None:
        """Store each version's rows (sqlite_tx.version_rows) as a new person whose key is the
        version's 更新順番号 (the store was empty): persons first, then each table at once."""
        conn = self._conn
        conn.executemany(_INSERT_PERSON, [(r.history[1], r.code[0], r.history[0], r.digest) for r in rows])
        conn.executemany(INSERT_CODE, [r.code for r in rows])
        conn.executemany(INSERT_NUMBER, [r.number for r in rows])
        conn.executemany(INSERT_HISTORY, [r.history for r in rows])
        conn.executemany(INSERT_INDEX, [r.index for r in rows])
        self.count += len(rows)

    def first_seq(self) -> int:
        """The 更新順番号 of the first record of this load (1 in an empty store)."""
        return self._first_seq

    def commit(self, event: AuditEvent) -> int:
        """Build the indexes, append the import's audit entry, commit; restore the journal mode.
        The entry's seq."""
        conn = self._conn
        for sql in self._indexes:
            conn.execute(sql)
        seq = self._trail.append(conn, event)
        self._trail.checkpoint(conn)  # the import's entry is signed at once
        conn.execute("COMMIT")
        self._restore()
        return seq

    def abort(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")
        self._restore()

    def _restore(self) -> None:
        _restore(self._conn)

    def __enter__(self) -> BulkImport:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is not None and self._conn_open():
            self.abort()

    def _conn_open(self) -> bool:
        try:
            self._conn.execute("SELECT 1")
        except sqlite3.ProgrammingError:
            return False
        return True
