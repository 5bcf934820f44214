"""The embedded store: one SQLite file in WAL mode, written with group commit.

Jobs (commands, encoded requests that a registered WireCodec decodes where the batch is applied,
audit-only entries) gather while the previous batch commits; the next batch runs each command's
registered handler in turn inside one transaction (WriterCore), commits once (one fsync for the
batch, ``synchronous=FULL`` so that a commit survives power loss) and only then resolves the
callers' futures. An acknowledged update is therefore durable.

The batch is applied in a writer process of its own (writer_process.py), which keeps the
gateway's one Python thread for gRPC: the one path, for the gateway and for the tests alike.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..audit.event import AuditEvent
from ..audit.spec import AuditSpec
from ..domain.record import IdentityRecord
from ..domain.registry import StoredPerson
from ..logging_setup import get_logger
from .at_rest import default_key_path, open_cipher
from .commands import CommandRegistry
from .interface import Answer, StoreError
from .reads import SqliteReads
from .schema import migrate
from .sqlite_tx import SqliteReader, connect, open_reader
from .writer_process import ProcessWriter

log = get_logger("cs_gateway.store")
_SEQ = object()  # resolve a job's answer with its own outcome (the result, or the audit seq)
# Called on the store's loop for each committed batch: its size (commands) and its COMMIT's seconds.
BatchObserver = Callable[[int, float], None]


@dataclass(slots=True)
class _Job:
    work: object
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


class _WriteHealth:
    """Tells the operator when batches fail (a full disk, a failing disk) and when writing works
    again: at most one line per REPORT_EVERY_S while it lasts, with the count since the last one."""

    REPORT_EVERY_S = 10.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failed = 0  # batches failed since the last line
        self._failed_jobs = 0  # and the updates and audit entries in them
        self._failing_since: float | None = None
        self._last_report = -self.REPORT_EVERY_S

    @property
    def failing(self) -> bool:
        return self._failing_since is not None

    def batch_done(self, outcomes: list[object] | BaseException, jobs: int, *, stored_update: bool) -> None:
        """After each batch: its outcome, its size, and whether it stored an update (a batch of
        audit entries only, which may still fit on a full disk, says nothing about updates)."""
        if isinstance(outcomes, BaseException):
            self._failed += 1
            self._failed_jobs += jobs
            now = self._clock()
            if self._failing_since is None:
                self._failing_since = now
            if now - self._last_report >= self.REPORT_EVERY_S:
                log.error("store_writes_failing", error=str(outcomes), batches=self._failed, jobs=self._failed_jobs)
                self._failed, self._failed_jobs, self._last_report = 0, 0, now
        elif stored_update and self._failing_since is not None:
            failed_for = round(self._clock() - self._failing_since, 3)
            log.warning(
                "store_writes_resumed",
                failed_for_s=failed_for,
                batches_since_last_line=self._failed,
                jobs_since_last_line=self._failed_jobs,
            )
            self._failed, self._failed_jobs, self._failing_since = 0, 0, None


class SqliteStore:
    """UpdateStore on one SQLite file. submit() and record_audit() may be called from any
    thread; batches are formed on one event loop: the gateway's own when ``loop`` is given (the
    store must then be created on that loop's thread), else a private loop thread.

    ``registry`` holds the handlers (and wire codecs) the writer runs; ``on_batch(size,
    commit_seconds)`` is called on that loop after each committed batch (metrics)."""

    def __init__(
        self,
        path: Path,
        *,
        audit: AuditSpec,
        loop: asyncio.AbstractEventLoop | None = None,
        registry: CommandRegistry,
        max_batch: int = 512,
        now: Callable[[], datetime] | None = None,
        on_batch: BatchObserver | None = None,
        on_writer_death: Callable[[], None] | None = None,
        number_key: Path | None = None,
    ) -> None:
        """``on_batch(size, commit_seconds)`` is called on the store's loop after each committed
        batch (commit_seconds: its COMMIT in the writer, the wait for the disk included);
        ``on_writer_death()`` once, on the loop, when the writer process dies unasked (every write
        fails from then on). ``now`` (picklable; default: the UTC clock) stamps the versions in
        the writer (tests fix it; the audit trail's clock is the AuditSpec's)."""
        self.path = Path(path)
        self.on_batch = on_batch
        self.number_key = number_key or default_key_path(self.path)  # the 個人番号 key file (at_rest.py)
        self.reads = SqliteReads(
            self.path, number_key=self.number_key
        )  # the read port for the event loop (app/read_records.py)
        self._max_batch = max_batch
        self._readers = threading.local()
        self._pending: list[_Job] = []
        self._flush_scheduled = False
        self._in_flight = 0  # batches handed to the writer and not yet answered
        self._closed = False
        self._drained: asyncio.Event | None = None
        self._health = _WriteHealth()
        self._own_thread: threading.Thread | None = None
        if loop is None:
            self._loop = asyncio.new_event_loop()
            started = threading.Event()

            def run() -> None:
                self._loop_thread = threading.get_ident()
                self._loop.call_soon(started.set)
                self._loop.run_forever()

            self._own_thread = threading.Thread(target=run, name="store-loop", daemon=True)
            self._own_thread.start()
            started.wait()
        else:
            if asyncio.get_running_loop() is not loop:
                raise RuntimeError("SqliteStore(loop=...) must be created on that loop's thread")
            self._loop = loop
            self._loop_thread = threading.get_ident()
        prepared = connect(self.path)
        try:  # before the child starts, so that readers here see the schema (and the key exists)
            migrate(prepared, open_cipher(prepared, self.number_key, may_create=True))
        finally:
            prepared.close()
        self._writer = self._on_loop(
            lambda: ProcessWriter(
                self.path,
                audit,
                self._loop,
                registry=registry,
                on_death=on_writer_death,
                now=now,
                number_key=self.number_key,
            )
        )

    def _on_loop(self, make: Callable[[], ProcessWriter]) -> ProcessWriter:
        if threading.get_ident() == self._loop_thread:
            return make()

        async def on_loop() -> ProcessWriter:
            return make()

        return asyncio.run_coroutine_threadsafe(on_loop(), self._loop).result()

    @property
    def commits(self) -> int:
        """Transactions committed: fewer than writes when group commit works."""
        return self._writer.commits

    # -- writes ---------------------------------------------------------------------------

    def submit(self, command: object, answer: Answer | None = None) -> Answer:
        """Queue a command (or an EncodedWrite); ``answer`` (a concurrent or an asyncio future of
        the store's loop) resolves with its handler's outcome (an Encoded for an EncodedWrite)
        once its transaction is durable, or with StoreError."""
        answer = answer if answer is not None else Future()
        self._post(_Job(command, answer, _SEQ))
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
        if not self._flush_scheduled and self._in_flight < self._writer.max_in_flight and self._pending:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        batch = self._pending[: self._max_batch]
        del self._pending[: self._max_batch]
        if not batch:
            return
        self._in_flight += 1
        self._writer.run(
            [job.work for job in batch], lambda outcomes, seconds: self._committed(batch, outcomes, seconds)
        )

    def _committed(self, batch: list[_Job], outcomes: list[object] | BaseException, commit_seconds: float) -> None:
        self._in_flight -= 1
        if self.on_batch is not None and not isinstance(outcomes, BaseException):
            self.on_batch(len(batch), commit_seconds)
        if isinstance(outcomes, BaseException) or self._health.failing:  # nothing to do while all is well
            stored_update = not isinstance(outcomes, BaseException) and any(
                not isinstance(job.work, AuditEvent) and not isinstance(outcome, BaseException)
                for job, outcome in zip(batch, outcomes, strict=True)
            )
            self._health.batch_done(outcomes, len(batch), stored_update=stored_update)
        if isinstance(outcomes, BaseException):
            for job in batch:
                _settle(job.answer, outcomes)
        else:
            for job, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    _settle(job.answer, outcome)
                else:
                    _settle(job.answer, None, job.value if job.value is not _SEQ else outcome)
        self._schedule()
        if self._drained is not None and not self._pending and not self._in_flight and not self._flush_scheduled:
            self._drained.set()

    def close(self) -> None:
        """Finish what was accepted, sign the chain head, close. Call from outside the loop thread."""
        if self._closed:
            return
        if threading.get_ident() == self._loop_thread:
            raise RuntimeError("close() would block the store's own loop; call it from another thread")
        asyncio.run_coroutine_threadsafe(self._drain_and_close(), self._loop).result()
        self.reads.close()
        if self._own_thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._own_thread.join()
            self._loop.close()

    async def _drain_and_close(self) -> None:
        self._closed = True
        self._drained = asyncio.Event()
        if self._pending or self._in_flight or self._flush_scheduled:
            await self._drained.wait()
        self._writer.close()

    # -- reads (synchronous, on a connection of the calling thread: tests and tools; the
    # -- event loop reads through ``reads``) ------------------------------------------------

    def _reader(self) -> SqliteReader:
        reader: SqliteReader | None = getattr(self._readers, "reader", None)
        if reader is None:
            reader = self._readers.reader = open_reader(self.path, self.number_key)
        return reader

    def find(self, juminhyo_code: str) -> StoredPerson | None:
        return self._reader().find(juminhyo_code)

    def history(self, juminhyo_code: str) -> list[IdentityRecord]:
        """Every version of the person holding (or having held) this code, oldest first."""
        return self._reader().history(juminhyo_code)

    def last_update_seq(self) -> int:
        return self._reader().last_update_seq()

    def pending_notices(self, limit: int = 100) -> list[tuple[int, dict[str, object]]]:
        """Change notices not yet delivered to the 都道府県サーバー, in 更新順番号 order."""
        return self._reader().pending_notices(limit)
