"""The write logic of the store: one batch of jobs (updates, audit-only entries) applied in one
transaction on one SQLite connection. Used in the gateway's process (SqliteStore with a commit
thread) or in a writer process of its own (writer_process.py); the logic is the same.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from ..audit.event import ERROR, OK, REFUSED, REPLAYED, AuditEvent
from ..audit.trail import AuditTrail, head
from ..domain.change_notice import NOTICE_ITEMS
from ..domain.logic_checks import Accepted, decide
from ..domain.record import IdentityRecord
from ..domain.record_codec import record_from_dict
from ..domain.registry import StoredPerson
from ..domain.violations import Violation, violation
from .interface import Encoded, EncodedWrite, JobCodec, StoreError, WriteRequest, WriteResult
from .schema import migrate

_FIND = (
    "SELECT c.person_id, c.retired, h.record FROM codes c JOIN persons p ON p.person_id = c.person_id "
    "JOIN history h ON h.update_seq = p.update_seq "
    "WHERE c.juminhyo_code = ?"
)


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
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def read_last_seq(conn: sqlite3.Connection) -> int:
    (last,) = conn.execute("SELECT COALESCE(MAX(update_seq), 0) FROM history").fetchone()
    return int(last)


class _TxView:
    """RegistryView over the writer's open transaction (sees this batch's earlier items)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def find(self, juminhyo_code: str) -> StoredPerson | None:
        return find_person(self._conn, juminhyo_code)

    def individual_number_holder(self, individual_number: str) -> int | None:
        row = self._conn.execute(
            "SELECT person_id FROM individual_numbers WHERE individual_number = ?", (individual_number,)
        ).fetchone()
        return row[0] if row else None

    def person(self, person_key: int) -> StoredPerson | None:
        row = self._conn.execute("SELECT juminhyo_code FROM persons WHERE person_id = ?", (person_key,)).fetchone()
        return find_person(self._conn, row[0]) if row else None


def find_person(conn: sqlite3.Connection, juminhyo_code: str) -> StoredPerson | None:
    row = conn.execute(_FIND, (juminhyo_code,)).fetchone()
    if row is None:
        return None
    return StoredPerson(person_key=row[0], retired=bool(row[1]), record=record_from_dict(loads(row[2])))


Job = WriteRequest | EncodedWrite | AuditEvent
STREAM_BROKEN = "STREAM_BROKEN"  # audit reason: not applied, an earlier update of its stream was not stored
_BROKEN_STREAMS_KEPT = 4096


class Decoded(NamedTuple):
    """An EncodedWrite after decoding: its write, its format refusal, or why decoding failed."""

    job: EncodedWrite
    what: WriteRequest | tuple[AuditEvent, Violation] | BaseException


class _Applied(NamedTuple):
    job: EncodedWrite
    request_id: str
    result: WriteResult


class WriterCore:
    """Owns the writing connection: apply a batch (BEGIN + every job), then commit or abandon."""

    def __init__(
        self,
        path: Path,
        audit: AuditTrail,
        *,
        codec: JobCodec | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._conn = connect(Path(path))
        migrate(self._conn)
        self._audit = audit
        self._codec = codec
        self._now = now
        self._next_seq = read_last_seq(self._conn) + 1
        self._audit_head: tuple[int, str] | None = None
        self.audit_seconds = 0.0  # time spent appending audit entries (for the benchmark)
        self._batch_streams: set[int] = set()  # the streams with updates in the batch being applied
        self._broken_streams: dict[int, None] = {}  # streams with an update not stored (bounded)

    def apply(self, jobs: list[Job]) -> list[object]:
        """decode + apply_decoded + encode: BEGIN and apply every job; the outcomes (WriteResult,
        Encoded for an EncodedWrite, audit seq, or a job's own StoreError). On a failure of the
        batch it rolls back and raises."""
        return self.encode(self.apply_decoded(self.decode(jobs)))

    def decode(self, jobs: list[Job]) -> list[Job | Decoded]:
        """Parse and format-check the encoded writes (no database: a writer may run this while
        the previous batch's COMMIT waits for the disk)."""
        return [self._decode(job) if isinstance(job, EncodedWrite) else job for job in jobs]

    def _decode(self, job: EncodedWrite) -> Decoded:
        if self._codec is None:
            return Decoded(job, StoreError("this store has no codec for encoded writes"))
        try:
            return Decoded(job, self._codec.decode(job))
        except Exception as exc:  # noqa: BLE001 - a crashing decoder refuses this job only (audited)
            return Decoded(job, exc)

    def apply_decoded(self, jobs: list[Job | Decoded]) -> list[object]:
        """BEGIN and apply every job (outcomes still to be encoded). On a failure of the batch
        it rolls back and raises."""
        conn = self._conn
        self._audit_head = None  # re-read inside this transaction: other processes may append too
        self._batch_streams = {job.job.stream for job in jobs if isinstance(job, Decoded) and job.job.stream}
        outcomes: list[object] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for job in jobs:
                outcome = self._apply_job(conn, job)
                if isinstance(outcome, BaseException) and isinstance(job, Decoded):
                    self._break_stream(job.job.stream)  # also for its later updates in this batch
                outcomes.append(outcome)
        except BaseException:
            self.abandon()
            raise
        return outcomes

    def _break_stream(self, stream: int) -> None:
        """No later update of this stream may be stored: one of it was not."""
        if stream:
            self._broken_streams[stream] = None
            while len(self._broken_streams) > _BROKEN_STREAMS_KEPT:
                del self._broken_streams[next(iter(self._broken_streams))]

    def encode(self, outcomes: list[object]) -> list[object]:
        """The replies to the encoded writes (no database)."""
        return [self._encode(outcome) if isinstance(outcome, _Applied) else outcome for outcome in outcomes]

    def _encode(self, applied: _Applied) -> Encoded | BaseException:
        assert self._codec is not None
        try:
            return self._codec.encode(applied.job, applied.request_id, applied.result)
        except Exception as exc:  # noqa: BLE001 - committed, but this reply cannot be made
            self._break_stream(applied.job.stream)  # its caller resends from here
            return StoreError(f"reply not encoded: {type(exc).__name__}")

    def _apply_job(self, conn: sqlite3.Connection, job: Job | Decoded) -> object:
        if isinstance(job, Decoded):
            return self._apply_decoded_one(conn, job)
        if isinstance(job, AuditEvent):
            return self._append_audit(conn, job)  # a failure fails the batch: nothing unaudited commits
        return self._apply_one(conn, job)

    def _apply_decoded_one(self, conn: sqlite3.Connection, decoded: Decoded) -> _Applied | BaseException:
        """Apply a decoded write, or audit its refusal or the crash of its decoding."""
        job, what = decoded
        if job.stream in self._broken_streams:
            # audited with its request id and subject when it parsed: the caller resends it
            known = what.audit if isinstance(what, WriteRequest) else what[0] if isinstance(what, tuple) else None
            event = known or AuditEvent(job.action, "", job.actor)
            self._append_audit(conn, event.with_outcome(ERROR, reason=STREAM_BROKEN))
            return StoreError("not stored: an earlier update of this stream was not")
        if isinstance(what, WriteRequest):
            result = self._apply_one(conn, what)
            return result if isinstance(result, BaseException) else _Applied(job, what.request_id, result)
        if isinstance(what, BaseException):
            if not isinstance(what, StoreError):
                self._append_audit(conn, AuditEvent(job.action, ERROR, job.actor, reason=type(what).__name__))
                return StoreError(f"update not stored: {type(what).__name__}")
            return what
        audit, refused = what
        self._append_audit(conn, audit)
        return _Applied(job, audit.request_id, WriteResult(record=None, violation=refused))

    def commit(self) -> None:
        """COMMIT (waits for fsync; the sqlite3 module releases the GIL meanwhile)."""
        self._conn.execute("COMMIT")

    def abandon(self) -> None:
        """Roll back the batch: nothing of it is stored, so no later update of its streams may be."""
        for stream in self._batch_streams:
            self._break_stream(stream)
        self._batch_streams = set()
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")
        self._next_seq = read_last_seq(self._conn) + 1
        self._audit_head = None

    def close(self) -> None:
        self._final_checkpoint(self._conn)
        self._conn.close()

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
            view = _TxView(conn)
            if request.decide is not None:
                decision = request.decide(view)
            else:
                assert request.command is not None and request.today is not None
                decision = decide(request.command, view, request.today, request.rules)
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
        data = record_json(record)
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
        conn.execute("INSERT INTO outbox (update_seq, notice) VALUES (?, ?)", (seq, notice_json(record)))
        conn.execute(
            "INSERT INTO requests (request_id, fingerprint, update_seq) VALUES (?, ?, ?)",
            (request.request_id, request.fingerprint, seq),
        )
        self._next_seq = seq + 1
        return record

    @staticmethod
    def _version(conn: sqlite3.Connection, update_seq: int) -> IdentityRecord:
        (data,) = conn.execute("SELECT record FROM history WHERE update_seq = ?", (update_seq,)).fetchone()
        return record_from_dict(loads(data))
