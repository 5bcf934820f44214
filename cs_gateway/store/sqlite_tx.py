"""The SQLite adapter of the store's ports (port.py): the writer's transaction and the readers.

One writing connection per writer (WAL, ``synchronous=FULL``); ``BEGIN IMMEDIATE`` takes the
file's write lock for a batch, so another writer beside the gateway (a local audit command)
waits on the busy timeout instead of forking the audit chain.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from ..audit.event import AuditEvent
from ..audit.trail import AuditTrail, AuditWriteError, head
from ..domain.change_notice import NOTICE_ITEMS, change_notice
from ..domain.record import IdentityRecord
from ..domain.record_codec import StoredVersion, record_from_dict
from ..domain.registry import StoredPerson
from .at_rest import NumberCipher, default_key_path, open_cipher
from .interface import StoreError
from .operators_sqlite import SqliteOperators
from .record_digests import current_digest_rows, stored_digest
from .schema import migrate
from .search_sqlite import WRITE_INDEX, SqliteSearch, fill_index, index_row

BUSY_TIMEOUT_S = 30.0
# The file's pages are read through a memory map instead of one pread per page not in SQLite's
# own cache (a lookup on a 1,000,000-record store, 1.8 GB, missed it ~7 times: ~7 system calls,
# each dear on a VM). Reads only: pages are still written with pwrite and the WAL as before, so
# a full disk is still an error to the writer. A read error of the disk becomes a signal that
# ends the process (the writer's death fails the gateway closed, as any crash of it does).
# SQLite's own upper bound, 2 GiB - 64 KiB; a larger file is read beyond the map as before.
MMAP_BYTES = 0x7FFF0000
_FIND = (
    "SELECT c.person_id, c.retired, h.record FROM codes c JOIN persons p ON p.person_id = c.person_id "
    "JOIN history h ON h.update_seq = p.update_seq "
    "WHERE c.juminhyo_code = ?"
)
_HISTORY = (
    "SELECT h.record FROM codes c JOIN history h ON h.person_id = c.person_id "
    "WHERE c.juminhyo_code = ? ORDER BY h.update_seq"
)
# What a failure of the store itself (not of a handler's own logic) raises here: it fails the
# whole batch, which is rolled back and answered with StoreError (the callers retry).
STORE_FAILURES: tuple[type[BaseException], ...] = (sqlite3.Error, AuditWriteError, StoreError)


def record_json(record: IdentityRecord) -> str:
    """A version's stored form: compact JSON of record_to_dict(record), non-ASCII as UTF-8 (the
    text of json.dumps(..., ensure_ascii=False, separators=(",", ":"))), made by orjson from the
    dataclass itself, several times faster; a test checks that the texts are equal."""
    return orjson.dumps(record).decode()


def notice_json(record: IdentityRecord) -> str:
    """The outbox's stored notice: the same JSON text of change_notice(record) (checked by a test)."""
    if record.update_seq <= 0:
        raise ValueError("a change notice needs the stored 更新順番号")
    return orjson.dumps({name: getattr(record, name) for name in NOTICE_ITEMS}).decode()


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_S)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
    return conn


def read_last_seq(conn: sqlite3.Connection) -> int:
    (last,) = conn.execute("SELECT COALESCE(MAX(update_seq), 0) FROM history").fetchone()
    return int(last)


class SqliteReader:
    """ReadPort on one SQLite connection (the writer's, inside its transaction, or a read-only one);
    the 個人番号 in each stored record and notice is opened with the store's cipher (at_rest.py)."""

    def __init__(self, conn: sqlite3.Connection, cipher: NumberCipher) -> None:
        self._conn = conn
        self._cipher = cipher
        self._last_blind = ("", "")  # (個人番号, its blind index): an update looks it up, then stores it

    def _blind(self, number: str) -> str:
        last = self._last_blind
        if last[0] == number and number:
            return last[1]
        blind = self._cipher.blind(number)
        self._last_blind = (number, blind)
        return blind

    def _record(self, text: str) -> IdentityRecord:
        return record_from_dict(self._open(text))

    def _open(self, text: str | bytes) -> Any:
        return self._cipher.open_dict(loads(text))

    def find(self, juminhyo_code: str) -> StoredPerson | None:
        row = self._conn.execute(_FIND, (juminhyo_code,)).fetchone()
        if row is None:
            return None
        return StoredPerson(person_key=row[0], retired=bool(row[1]), record=self._record(row[2]))

    def find_version(self, juminhyo_code: str) -> StoredVersion | None:
        """find(), in the stored form (for a read that only shows the record)."""
        row = self._conn.execute(_FIND, (juminhyo_code,)).fetchone()
        return None if row is None else StoredVersion(self._open(row[2]), bool(row[1]))

    def person_version(self, person_key: int) -> StoredVersion | None:
        row = self._conn.execute("SELECT juminhyo_code FROM persons WHERE person_id = ?", (person_key,)).fetchone()
        return self.find_version(row[0]) if row else None

    def individual_number_holder(self, individual_number: str) -> int | None:
        row = self._conn.execute(
            "SELECT person_id FROM individual_numbers WHERE number_index = ?",
            (self._blind(individual_number),),
        ).fetchone()
        return row[0] if row else None

    def person(self, person_key: int) -> StoredPerson | None:
        row = self._conn.execute("SELECT juminhyo_code FROM persons WHERE person_id = ?", (person_key,)).fetchone()
        return self.find(row[0]) if row else None

    def version(self, update_seq: int) -> IdentityRecord:
        row = self._conn.execute("SELECT record FROM history WHERE update_seq = ?", (update_seq,)).fetchone()
        if row is None:
            raise StoreError(f"no version {update_seq}")
        return self._record(row[0])

    def history(self, juminhyo_code: str) -> list[IdentityRecord]:
        return [self._record(r[0]) for r in self._conn.execute(_HISTORY, (juminhyo_code,))]

    def last_update_seq(self) -> int:
        return read_last_seq(self._conn)

    def close(self) -> None:
        self._conn.close()

    def pending_notices(self, limit: int = 100, after: int = 0) -> list[tuple[int, dict[str, object]]]:
        """Change notices not yet delivered to the 都道府県サーバー, in 更新順番号 order (those
        after the 更新順番号 ``after``)."""
        rows = self._conn.execute(
            "SELECT update_seq, notice FROM outbox WHERE delivered_at IS NULL AND update_seq > ? "
            "ORDER BY update_seq LIMIT ?",
            (after, limit),
        ).fetchall()
        return [(seq, self._open(notice)) for seq, notice in rows]

    def pending_sofusaki(
        self, limit: int = 100, after: int = 0, skip: Collection[int] = ()
    ) -> list[tuple[int, bytes, bytes]]:
        """送付先情報 not yet acknowledged by the 機構, in the order received: (number, body, digest);
        ``skip``: numbers left out (those parked as refused by the 機構)."""
        return [
            (seq, self._cipher.open_bytes(bytes(body)), bytes(digest))
            for seq, body, digest in self._conn.execute(
                "SELECT seq, body, digest FROM sofusaki WHERE forwarded_at IS NULL AND seq > ? "
                "AND seq NOT IN (SELECT value FROM json_each(?)) ORDER BY seq LIMIT ?",
                (after, json.dumps(sorted(skip)), limit),
            )
        ]

    def sofusaki_backlog(self, skip: Collection[int] = ()) -> tuple[int, str | None]:
        """How many 送付先情報 wait for the 機構 (``skip`` left out), and when the oldest arrived."""
        skipped = json.dumps(sorted(skip))
        (count,) = self._conn.execute(
            "SELECT COUNT(*) FROM sofusaki WHERE forwarded_at IS NULL AND seq NOT IN (SELECT value FROM json_each(?))",
            (skipped,),
        ).fetchone()
        row = self._conn.execute(
            "SELECT received_at FROM sofusaki WHERE forwarded_at IS NULL AND seq NOT IN "
            "(SELECT value FROM json_each(?)) ORDER BY seq LIMIT 1",
            (skipped,),
        ).fetchone()
        return int(count), (row[0] if row else None)

    def audited_subjects(self, action: str) -> list[tuple[str, str]]:
        """(request_id, reason) of every audit entry of ``action`` (the parked 送付先情報: their
        park is an audit entry, the durable record of the decision)."""
        return [
            (str(r), str(reason))
            for r, reason in self._conn.execute("SELECT request_id, reason FROM audit_log WHERE action = ?", (action,))
        ]

    def current_records(self) -> list[tuple[str, dict[str, object]]]:
        """(住民票コード, the notice items of the current version) of every person, by code: the
        file as the consistency check compares it."""
        rows = self._conn.execute(
            "SELECT p.juminhyo_code, h.record FROM persons p JOIN history h ON h.update_seq = p.update_seq "
            "ORDER BY p.juminhyo_code"
        )
        out: list[tuple[str, dict[str, object]]] = []
        for code, text in rows:
            record = self._open(text)
            out.append((code, {name: record[name] for name in NOTICE_ITEMS}))
        return out


    def current_digest_rows(self) -> list[tuple[bytes, bytes]]:
        """(code, record digest) of every person, by code (record_digests.py)."""
        return current_digest_rows(self._conn, self._cipher)

    def current_records_of(self, codes: list[str]) -> dict[str, dict[str, object]]:
        """The notice items of the current version of the persons with these codes."""
        out: dict[str, dict[str, object]] = {}
        for code in codes:
            row = self._conn.execute(
                "SELECT h.record FROM persons p JOIN history h ON h.update_seq = p.update_seq "
                "WHERE p.juminhyo_code = ?",
                (code,),
            ).fetchone()
            if row is not None:
                record = self._open(row[0])
                out[code] = {name: record[name] for name in NOTICE_ITEMS}
        return out


INSERT_CODE = "INSERT OR IGNORE INTO codes (juminhyo_code, person_id) VALUES (?, ?)"
INSERT_NUMBER = "INSERT OR IGNORE INTO individual_numbers (number_index, person_id) VALUES (?, ?)"
INSERT_HISTORY = (
    "INSERT INTO history (update_seq, person_id, juminhyo_code, change_reason, recorded_at, record) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True, slots=True)
class VersionRows:
    """The rows a stored version adds besides its person's row (codes, the 個人番号's blind index,
    the history with the number sealed, the search index): put_version executes them one by
    one, the 初期移行 (bulk_import.py) collects them for executemany."""

    code: tuple[str, int]
    number: tuple[str, int]
    history: tuple[int, int, str, int, str, str]
    index: tuple[object, ...]
    digest: bytes  # persons.record_digest (the consistency check's leaf, sealed: record_digests.py)


def version_rows(
    cipher: NumberCipher,
    record: IdentityRecord,
    person_key: int,
    *,
    blind: str | None = None,
    sealed: str | None = None,
    digest: bytes | None = None,
) -> VersionRows:
    """The rows of ``record`` (with its 更新順番号 and タイムスタンプ) for the person ``person_key``;
    ``blind`` / ``sealed``: the 個人番号's blind index / sealed token when the caller has them already
    (the writer computes each once per update and reuses them for the lookup and the notice);
    ``digest``: the stored record digest when the caller computed it for the person's row."""
    assert record.timestamp is not None
    return VersionRows(
        (record.juminhyo_code, person_key),
        (blind if blind is not None else cipher.blind(record.individual_number), person_key),
        (
            record.update_seq,
            person_key,
            record.juminhyo_code,
            int(record.change_reason),
            record.timestamp.isoformat(),
            cipher.seal_json(record_json(record), record.individual_number, sealed),
        ),
        index_row(person_key, record),
        digest if digest is not None else stored_digest(cipher, change_notice(record)),
    )


def open_reader(path: Path, number_key: Path | None = None) -> SqliteReader:
    """A read-only reader of the store's file (autocommit: each read sees the last commit);
    ``number_key``: the 個人番号 key file (default: next to the store, at_rest.default_key_path)."""
    conn = sqlite3.connect(
        f"file:{path}?mode=ro", uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_S, check_same_thread=False
    )  # used by one thread at a time (a reader thread's own), closed by whoever closes the reads
    conn.execute("PRAGMA query_only=ON")
    conn.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
    try:
        cipher = open_cipher(conn, number_key or default_key_path(path), may_create=False)
    except BaseException:
        conn.close()
        raise
    return SqliteReader(conn, cipher)


class SqliteTransaction(SqliteOperators, SqliteSearch, SqliteReader):
    """Transaction port on the writer's connection, and the batch's lifecycle for WriterCore
    (begin, commit, rollback). One per writer, reused for every batch."""

    failures = STORE_FAILURES

    def __init__(
        self,
        path: Path,
        audit: AuditTrail,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        number_key: Path | None = None,
    ) -> None:
        conn = connect(Path(path))
        try:
            cipher = open_cipher(conn, number_key or default_key_path(Path(path)), may_create=True)
            migrate(conn, cipher)
        except BaseException:
            conn.close()
            raise
        super().__init__(conn, cipher)
        fill_index(conn, self._open)  # the search index of a store made before it existed
        self._audit = audit
        self._now = now
        self._next_seq = read_last_seq(conn) + 1
        self._audit_head: tuple[int, str] | None = None
        # (個人番号, its sealed token) of the version put last: its change notice reuses the token
        self._sealed: tuple[str, str] | None = None

    # -- the batch's lifecycle (WriterCore) -------------------------------------------------------

    def begin(self) -> None:
        self._audit_head = None  # re-read inside this transaction: other processes may append too
        self._sealed = None
        self._conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        """COMMIT (waits for fsync; the sqlite3 module releases the GIL meanwhile)."""
        self._conn.execute("COMMIT")

    def rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")
        self._next_seq = read_last_seq(self._conn) + 1
        self._audit_head = None
        self._sealed = None

    def close(self) -> None:
        """Sign the chain head (a clean stop leaves nothing unsigned), then close."""
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            self._audit.checkpoint(conn)
            conn.execute("COMMIT")
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        conn.close()

    # -- the Transaction port -------------------------------------------------------------------

    def request(self, request_id: str) -> tuple[str, int] | None:
        row = self._conn.execute(
            "SELECT fingerprint, update_seq FROM requests WHERE request_id = ?", (request_id,)
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def put_version(self, record: IdentityRecord, *, person_key: int | None, retire_code: str | None) -> IdentityRecord:
        conn = self._conn
        seq = self._next_seq
        record = record.with_stored(seq, self._now())
        digest = stored_digest(self._cipher, change_notice(record))  # the consistency check's leaf
        if person_key is None:
            person_key = conn.execute(
                "INSERT INTO persons (juminhyo_code, update_seq, record_digest) VALUES (?, ?, ?)",
                (record.juminhyo_code, seq, digest),
            ).lastrowid
        else:
            conn.execute(
                "UPDATE persons SET juminhyo_code = ?, update_seq = ?, record_digest = ? WHERE person_id = ?",
                (record.juminhyo_code, seq, digest, person_key),
            )
        if retire_code is not None:
            conn.execute("UPDATE codes SET retired = 1 WHERE juminhyo_code = ?", (retire_code,))
        number = record.individual_number
        sealed = self._cipher.seal(number)
        self._sealed = (number, sealed)
        rows = version_rows(
            self._cipher, record, person_key, blind=self._blind(number), sealed=sealed, digest=digest
        )
        conn.execute(INSERT_CODE, rows.code)
        conn.execute(INSERT_NUMBER, rows.number)
        conn.execute(INSERT_HISTORY, rows.history)
        conn.execute(WRITE_INDEX, rows.index)
        self._next_seq = seq + 1
        return record

    def remember_request(self, request_id: str, fingerprint: str, update_seq: int) -> None:
        self._conn.execute(
            "INSERT INTO requests (request_id, fingerprint, update_seq) VALUES (?, ?, ?)",
            (request_id, fingerprint, update_seq),
        )

    def enqueue_notice(self, record: IdentityRecord) -> None:
        number = record.individual_number
        last = self._sealed
        sealed = last[1] if last is not None and last[0] == number else None  # the version's token
        self._conn.execute(
            "INSERT INTO outbox (update_seq, notice) VALUES (?, ?)",
            (record.update_seq, self._cipher.seal_json(notice_json(record), number, sealed)),
        )

    def criteria_hmac(self, kind: str, value: str) -> str:
        return self._audit.hasher.digest(kind, value)

    def mark_delivered(self, update_seqs: tuple[int, ...]) -> int:
        at = self._now().isoformat()
        marked = 0
        for seq in update_seqs:
            marked += self._conn.execute(
                "UPDATE outbox SET delivered_at = ? WHERE update_seq = ? AND delivered_at IS NULL", (at, seq)
            ).rowcount
        return marked

    def store_sofusaki(self, body: bytes, digest: bytes) -> int:
        cursor = self._conn.execute(
            # sealed at rest like every stored 個人番号 (at_rest.py); forwarded as received, opened
            "INSERT INTO sofusaki (received_at, body, digest) VALUES (?, ?, ?)",
            (self._now().isoformat(), self._cipher.seal_bytes(body), digest),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def mark_sofusaki_forwarded(self, seqs: tuple[int, ...]) -> int:
        at = self._now().isoformat()
        return sum(
            self._conn.execute(
                "UPDATE sofusaki SET forwarded_at = ? WHERE seq = ? AND forwarded_at IS NULL", (at, seq)
            ).rowcount
            for seq in seqs
        )

    def append_audit(self, event: AuditEvent) -> int:
        """Append after the head known in this batch (read once, at its start)."""
        prev = self._audit_head
        if prev is None:
            prev = head(self._conn)
        self._audit_head = prev = self._audit.append_after(self._conn, event, prev)
        return prev[0]
