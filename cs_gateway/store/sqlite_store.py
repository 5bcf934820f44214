"""The embedded store: one SQLite file in WAL mode, written by one thread with group commit.

Every write goes through a queue to the writer thread, which takes whatever is waiting (up to
``max_batch``), applies each item in turn inside one transaction, commits once (one fsync for
the batch, ``synchronous=FULL`` so that a commit survives power loss) and only then resolves
the callers' futures. An acknowledged update is therefore durable; an item that fails alone
is rolled back to its savepoint without touching the others.
"""

from __future__ import annotations

import json
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path

from ..audit.event import ERROR, OK, REFUSED, REPLAYED, AuditEvent
from ..audit.trail import AuditTrail
from ..domain.change_notice import change_notice
from ..domain.logic_checks import Accepted
from ..domain.record import IdentityRecord
from ..domain.record_codec import record_from_dict, record_to_dict
from ..domain.registry import StoredPerson
from ..domain.violations import violation
from .interface import StoreError, WriteRequest, WriteResult
from .schema import migrate

_STOP = object()
_FIND = (
    "SELECT c.person_id, c.retired, p.record FROM codes c JOIN persons p ON p.person_id = c.person_id "
    "WHERE c.juminhyo_code = ?"
)


def _dumps(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


class _TxView:
    """RegistryView over the writer's open transaction (sees this batch's earlier items)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def find(self, juminhyo_code: str) -> StoredPerson | None:
        return _find(self._conn, juminhyo_code)

    def individual_number_holder(self, individual_number: str) -> int | None:
        row = self._conn.execute(
            "SELECT person_id FROM individual_numbers WHERE individual_number = ?", (individual_number,)
        ).fetchone()
        return row[0] if row else None


def _find(conn: sqlite3.Connection, juminhyo_code: str) -> StoredPerson | None:
    row = conn.execute(_FIND, (juminhyo_code,)).fetchone()
    if row is None:
        return None
    return StoredPerson(person_key=row[0], retired=bool(row[1]), record=record_from_dict(json.loads(row[2])))


class SqliteStore:
    """UpdateStore on one SQLite file. Thread-safe; call close() to stop the writer."""

    def __init__(
        self,
        path: Path,
        *,
        audit: AuditTrail,
        max_batch: int = 512,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.path = Path(path)
        self._max_batch = max_batch
        self._now = now
        self._audit = audit
        self.audit_seconds = 0.0  # time spent appending audit entries (for the benchmark)
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._readers = threading.local()
        conn = _connect(self.path)
        migrate(conn)
        self._writer_conn = conn
        self._next_seq = self._read_last_seq(conn) + 1
        self._closed = False
        self.commits = 0  # transactions committed: fewer than writes when group commit works
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._thread.start()

    # -- writes ---------------------------------------------------------------------------

    def submit(self, request: WriteRequest) -> Future[WriteResult]:
        future: Future[WriteResult] = Future()
        self._enqueue(request, future)
        return future

    def record_audit(self, event: AuditEvent) -> Future[int]:
        future: Future[int] = Future()
        self._enqueue(event, future)
        return future

    def _enqueue(self, job: WriteRequest | AuditEvent, future: Future) -> None:  # type: ignore[type-arg]
        if self._closed:
            future.set_exception(StoreError("store is closed"))
        else:
            self._queue.put((job, future))

    def _run(self) -> None:
        conn = self._writer_conn
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is _STOP:
                break
            batch = [item]
            while len(batch) < self._max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stopping = True
                    break
                batch.append(more)
            self._commit_batch(conn, batch)  # type: ignore[arg-type]
        self._final_checkpoint(conn)
        conn.close()

    def _final_checkpoint(self, conn: sqlite3.Connection) -> None:
        """Sign the chain head at shutdown, so that a clean stop leaves nothing unsigned."""
        try:
            conn.execute("BEGIN IMMEDIATE")
            self._audit.checkpoint(conn)
            conn.execute("COMMIT")
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")

    def _commit_batch(self, conn: sqlite3.Connection, batch: list[tuple[WriteRequest | AuditEvent, Future]]) -> None:  # type: ignore[type-arg]
        outcomes: list[object] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for job, _future in batch:
                if isinstance(job, AuditEvent):
                    outcomes.append(self._audit_only(conn, job))
                else:
                    outcomes.append(self._apply_one(conn, job))
            conn.execute("COMMIT")
            self.commits += 1
        except BaseException as exc:  # noqa: BLE001 - the whole batch failed: acknowledge nothing
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._next_seq = self._read_last_seq(conn) + 1
            error = StoreError(f"commit failed: {type(exc).__name__}")
            for _request, future in batch:
                future.set_exception(error)
            return
        for (_request, future), outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

    def _append_audit(self, conn: sqlite3.Connection, event: AuditEvent) -> int:
        started = time.perf_counter()
        try:
            return self._audit.append(conn, event)
        finally:
            self.audit_seconds += time.perf_counter() - started

    def _audit_only(self, conn: sqlite3.Connection, event: AuditEvent) -> int | BaseException:
        conn.execute("SAVEPOINT item")
        try:
            seq = self._append_audit(conn, event)
        except Exception as exc:  # noqa: BLE001 - this entry failed alone
            conn.execute("ROLLBACK TO item")
            conn.execute("RELEASE item")
            return StoreError(f"audit unavailable: {type(exc).__name__}")
        conn.execute("RELEASE item")
        return seq

    def _apply_one(self, conn: sqlite3.Connection, request: WriteRequest) -> WriteResult | BaseException:
        """One update and its audit entry, atomically: both are stored, or neither."""
        conn.execute("SAVEPOINT item")
        try:
            result, audit = self._decide_and_write(conn, request)
            self._append_audit(conn, audit)
        except Exception as exc:  # noqa: BLE001 - this item failed alone; nothing of it is kept
            conn.execute("ROLLBACK TO item")
            conn.execute("RELEASE item")
            self._next_seq = self._read_last_seq(conn) + 1
            self._audit_only(conn, request.audit.with_outcome(ERROR, reason=type(exc).__name__))
            return StoreError(f"update not stored: {type(exc).__name__}")
        conn.execute("RELEASE item")
        if result.record is not None and not result.replayed:
            self._next_seq += 1
        return result

    def _decide_and_write(self, conn: sqlite3.Connection, request: WriteRequest) -> tuple[WriteResult, AuditEvent]:
        audit = request.audit
        row = conn.execute(
            "SELECT fingerprint, update_seq FROM requests WHERE request_id = ?", (request.request_id,)
        ).fetchone()
        if row is not None:
            if row[0] != request.fingerprint:
                refused = violation("REQUEST_ID_REUSED", "request_id")
                return WriteResult(record=None, violation=refused), audit.with_outcome(REFUSED, reason=refused.code)
            replayed = self._version(conn, row[1])
            result = WriteResult(record=replayed, violation=None, replayed=True)
            return result, audit.with_outcome(OK, update_seq=replayed.update_seq, detail=REPLAYED)
        decision = request.decide(_TxView(conn))
        if not isinstance(decision, Accepted):
            return WriteResult(record=None, violation=decision), audit.with_outcome(REFUSED, reason=decision.code)
        record = self._write(conn, request, decision)
        return WriteResult(record=record, violation=None), audit.with_outcome(
            OK,
            update_seq=record.update_seq,
            subject_juminhyo_code=record.juminhyo_code,
            subject_individual_number=record.individual_number,
        )

    def _write(self, conn: sqlite3.Connection, request: WriteRequest, decision: Accepted) -> IdentityRecord:
        seq = self._next_seq
        record = decision.record.with_stored(seq, self._now())
        data = _dumps(record_to_dict(record))
        person = decision.person_key
        if person is None:
            cur = conn.execute(
                "INSERT INTO persons (juminhyo_code, update_seq, record) VALUES (?, ?, ?)",
                (record.juminhyo_code, seq, data),
            )
            person = cur.lastrowid
        else:
            conn.execute(
                "UPDATE persons SET juminhyo_code = ?, update_seq = ?, record = ? WHERE person_id = ?",
                (record.juminhyo_code, seq, data, person),
            )
        if decision.retire_code is not None:
            conn.execute("UPDATE codes SET retired = 1 WHERE juminhyo_code = ?", (decision.retire_code,))
        conn.execute(
            "INSERT OR IGNORE INTO codes (juminhyo_code, person_id) VALUES (?, ?)", (record.juminhyo_code, person)
        )
        conn.execute(
            "INSERT OR IGNORE INTO individual_numbers (individual_number, person_id) VALUES (?, ?)",
            (record.individual_number, person),
        )
        assert record.timestamp is not None
        conn.execute(
            "INSERT INTO history (update_seq, person_id, juminhyo_code, change_reason, recorded_at, record) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (seq, person, record.juminhyo_code, int(record.change_reason), record.timestamp.isoformat(), data),
        )
        conn.execute("INSERT INTO outbox (update_seq, notice) VALUES (?, ?)", (seq, _dumps(change_notice(record))))
        conn.execute(
            "INSERT INTO requests (request_id, fingerprint, update_seq) VALUES (?, ?, ?)",
            (request.request_id, request.fingerprint, seq),
        )
        return record

    @staticmethod
    def _version(conn: sqlite3.Connection, update_seq: int) -> IdentityRecord:
        (data,) = conn.execute("SELECT record FROM history WHERE update_seq = ?", (update_seq,)).fetchone()
        return record_from_dict(json.loads(data))

    @staticmethod
    def _read_last_seq(conn: sqlite3.Connection) -> int:
        (last,) = conn.execute("SELECT COALESCE(MAX(update_seq), 0) FROM history").fetchone()
        return int(last)

    # -- reads ----------------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._readers, "conn", None)
        if conn is None:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None, timeout=30)
            conn.execute("PRAGMA query_only=ON")
            self._readers.conn = conn
        return conn

    def find(self, juminhyo_code: str) -> StoredPerson | None:
        return _find(self._reader(), juminhyo_code)

    def history(self, juminhyo_code: str) -> list[IdentityRecord]:
        """Every version of the person holding (or having held) this code, oldest first."""
        rows = (
            self._reader()
            .execute(
                "SELECT h.record FROM codes c JOIN history h ON h.person_id = c.person_id "
                "WHERE c.juminhyo_code = ? ORDER BY h.update_seq",
                (juminhyo_code,),
            )
            .fetchall()
        )
        return [record_from_dict(json.loads(r[0])) for r in rows]

    def last_update_seq(self) -> int:
        return self._read_last_seq(self._reader())

    def pending_notices(self, limit: int = 100) -> list[tuple[int, dict[str, object]]]:
        """Change notices not yet delivered to the 都道府県サーバー, in 更新順番号 order."""
        rows = (
            self._reader()
            .execute(
                "SELECT update_seq, notice FROM outbox WHERE delivered_at IS NULL ORDER BY update_seq LIMIT ?", (limit,)
            )
            .fetchall()
        )
        return [(seq, json.loads(notice)) for seq, notice in rows]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()
