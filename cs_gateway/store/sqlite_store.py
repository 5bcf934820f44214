"""The embedded store: one SQLite file in WAL mode, written with group commit.

Jobs (updates, audit-only entries) gather while the previous batch commits; the next batch
applies each job in turn inside one transaction on the event loop's thread, then commits once
(one fsync for the batch, ``synchronous=FULL`` so that a commit survives power loss) and only
then resolves the callers' futures. An acknowledged update is therefore durable; a job that
fails alone is rolled back to its savepoint without touching the others.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..audit.event import ERROR, OK, REFUSED, REPLAYED, AuditEvent
from ..audit.trail import AuditTrail, head
from ..domain.change_notice import change_notice
from ..domain.logic_checks import Accepted
from ..domain.record import IdentityRecord
from ..domain.record_codec import record_from_dict, record_to_dict
from ..domain.registry import StoredPerson
from ..domain.violations import violation
from .interface import Answer, StoreError, WriteRequest, WriteResult
from .schema import migrate

_SEQ = object()  # resolve a job's answer with its own outcome (the result, or the audit seq)


@dataclass(slots=True)
class _Job:
    work: WriteRequest | AuditEvent
    answer: Answer
    value: object


def _settle(answer: Answer, error: BaseException | None, value: object = None) -> None:
    """Resolve a concurrent or asyncio future (on the store's loop thread), unless the caller
    gave up on it (a cancelled RPC)."""
    if answer.done():
        return
    if error is not None:
        answer.set_exception(error)
    else:
        answer.set_result(value)


_FIND = (
    "SELECT c.person_id, c.retired, h.record FROM codes c JOIN persons p ON p.person_id = c.person_id "
    "JOIN history h ON h.update_seq = p.update_seq "
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
    """UpdateStore on one SQLite file, written with group commit on an asyncio event loop.

    All writing work (idempotency, logic checks, rows, audit entries) runs on one event loop
    thread: the gateway's own loop when ``loop`` is given (so that no second Python thread
    competes with it for the GIL), else a private loop thread. Only the COMMIT, which waits for
    fsync, runs on a helper thread. While one batch commits, new jobs gather for the next.
    submit() and record_audit() may be called from any thread.
    """

    def __init__(
        self,
        path: Path,
        *,
        audit: AuditTrail,
        loop: asyncio.AbstractEventLoop | None = None,
        max_batch: int = 512,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.path = Path(path)
        self._max_batch = max_batch
        self._now = now
        self._audit = audit
        self.audit_seconds = 0.0  # time spent appending audit entries (for the benchmark)
        self.commits = 0  # transactions committed: fewer than writes when group commit works
        self._readers = threading.local()
        conn = _connect(self.path)
        migrate(conn)
        self._writer_conn = conn
        self._next_seq = self._read_last_seq(conn) + 1
        self._pending: list[_Job] = []
        self._audit_head: tuple[int, str] | None = None
        self._flush_scheduled = False
        self._committing = False
        self._closed = False
        self._drained: asyncio.Event | None = None
        self._commit_thread = ThreadPoolExecutor(1, thread_name_prefix="store-commit")
        if loop is None:
            self._loop = asyncio.new_event_loop()
            started = threading.Event()

            def run() -> None:
                self._loop_thread = threading.get_ident()
                self._loop.call_soon(started.set)
                self._loop.run_forever()

            self._own_thread: threading.Thread | None = threading.Thread(target=run, name="store-loop", daemon=True)
            self._own_thread.start()
            started.wait()
        else:
            if asyncio.get_running_loop() is not loop:
                raise RuntimeError("SqliteStore(loop=...) must be created on that loop's thread")
            self._loop = loop
            self._loop_thread = threading.get_ident()
            self._own_thread = None

    # -- writes ---------------------------------------------------------------------------

    def submit(self, request: WriteRequest, answer: Answer | None = None) -> Answer:
        """Queue an update; ``answer`` (a concurrent or an asyncio future of the store's loop)
        resolves once the update and its audit entry are durable, or it is refused."""
        answer = answer if answer is not None else Future()
        self._post(_Job(request, answer, _SEQ))
        return answer

    def record_audit(self, event: AuditEvent, answer: Answer | None = None, value: object = None) -> Answer:
        """Queue an audit-only entry; ``answer`` resolves with ``value`` (default: the entry's
        seq) once it is durable."""
        answer = answer if answer is not None else Future()
        self._post(_Job(event, answer, _SEQ if value is None else value))
        return answer

    def _post(self, job: _Job) -> None:
        if self._closed:
            _settle(job.answer, StoreError("store is closed"))
        elif threading.get_ident() == self._loop_thread:
            self._accept(job)
        else:
            try:
                self._loop.call_soon_threadsafe(self._accept, job)
            except RuntimeError:  # the loop is closed
                _settle(job.answer, StoreError("store is closed"))

    def _accept(self, job: _Job) -> None:
        if self._closed:
            _settle(job.answer, StoreError("store is closed"))
            return
        self._pending.append(job)
        self._schedule()

    def _schedule(self) -> None:
        if not self._flush_scheduled and not self._committing and self._pending:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        """Apply the waiting jobs in one transaction on this thread, then commit off-thread."""
        self._flush_scheduled = False
        batch = self._pending[: self._max_batch]
        del self._pending[: self._max_batch]
        if not batch:
            return
        conn = self._writer_conn
        self._audit_head = None  # re-read inside this transaction: other processes may append too
        try:
            conn.execute("BEGIN IMMEDIATE")
            outcomes = [
                self._audit_only(conn, job.work)
                if isinstance(job.work, AuditEvent)
                else self._apply_one(conn, job.work)
                for job in batch
            ]
        except BaseException as exc:  # noqa: BLE001 - the whole batch failed: acknowledge nothing
            self._abandon(conn, batch, exc)
            return
        self._committing = True
        done = self._commit_thread.submit(conn.execute, "COMMIT")  # waits for fsync, without the GIL
        done.add_done_callback(lambda f: self._loop.call_soon_threadsafe(self._committed, batch, outcomes, f))

    def _committed(self, batch: list[_Job], outcomes: list[object], done: Future[object]) -> None:
        self._committing = False
        error = done.exception()
        if error is not None:
            self._abandon(self._writer_conn, batch, error)
        else:
            self.commits += 1
            for job, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    _settle(job.answer, outcome)
                else:
                    _settle(job.answer, None, job.value if job.value is not _SEQ else outcome)
        self._schedule()
        self._check_drained()

    def _check_drained(self) -> None:
        if self._drained is not None and not self._pending and not self._committing and not self._flush_scheduled:
            self._drained.set()

    def _abandon(self, conn: sqlite3.Connection, batch: list[_Job], exc: BaseException) -> None:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        self._next_seq = self._read_last_seq(conn) + 1
        self._audit_head = None
        error = StoreError(f"commit failed: {type(exc).__name__}")
        for job in batch:
            _settle(job.answer, error)
        self._schedule()
        self._check_drained()

    def close(self) -> None:
        """Finish what was accepted, sign the chain head, close. Call from outside the loop thread."""
        if self._closed:
            return
        if threading.get_ident() == self._loop_thread:
            raise RuntimeError("close() would block the store's own loop; call it from another thread")
        asyncio.run_coroutine_threadsafe(self._drain_and_close(), self._loop).result()
        self._commit_thread.shutdown(wait=True)
        if self._own_thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._own_thread.join()
            self._loop.close()

    async def _drain_and_close(self) -> None:
        self._closed = True
        self._drained = asyncio.Event()
        if self._pending or self._committing or self._flush_scheduled:
            await self._drained.wait()
        self._final_checkpoint(self._writer_conn)
        self._writer_conn.close()

    def _final_checkpoint(self, conn: sqlite3.Connection) -> None:
        """Sign the chain head at shutdown, so that a clean stop leaves nothing unsigned."""
        try:
            conn.execute("BEGIN IMMEDIATE")
            self._audit.checkpoint(conn)
            conn.execute("COMMIT")
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")

    def _append_audit(self, conn: sqlite3.Connection, event: AuditEvent) -> int:
        """Append after the head known in this batch (read once, at its start)."""
        started = time.perf_counter()
        try:
            if self._audit_head is None:
                self._audit_head = head(conn)
            self._audit_head = self._audit.append_after(conn, event, self._audit_head)
            return self._audit_head[0]
        finally:
            self.audit_seconds += time.perf_counter() - started

    def _audit_only(self, conn: sqlite3.Connection, event: AuditEvent) -> int:
        return self._append_audit(conn, event)  # a failure fails the batch: nothing unaudited commits

    def _apply_one(self, conn: sqlite3.Connection, request: WriteRequest) -> WriteResult | BaseException:
        """One update and its audit entry, in the batch's transaction: both commit, or neither.

        A rule that crashes refuses its own job only (nothing was written for it yet); a failed
        write or audit append fails the whole batch, which is rolled back and answered with
        StoreError (the callers retry with the same request ids).
        """
        result, audit = self._decide_and_write(conn, request)
        self._append_audit(conn, audit)
        return result

    def _decide_and_write(
        self, conn: sqlite3.Connection, request: WriteRequest
    ) -> tuple[WriteResult | BaseException, AuditEvent]:
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
        try:
            decision = request.decide(_TxView(conn))
        except Exception as exc:  # noqa: BLE001 - a crashing rule refuses this job only
            return StoreError(f"update not stored: {type(exc).__name__}"), audit.with_outcome(
                ERROR, reason=type(exc).__name__
            )
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
                "INSERT INTO persons (juminhyo_code, update_seq) VALUES (?, ?)",
                (record.juminhyo_code, seq),
            )
            person = cur.lastrowid
        else:
            conn.execute(
                "UPDATE persons SET juminhyo_code = ?, update_seq = ? WHERE person_id = ?",
                (record.juminhyo_code, seq, person),
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
        self._next_seq = seq + 1
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
