"""The writer: one batch of commands run in one transaction, each by its registered handler.

Runs in the store's writer process (writer_process.py). The writer knows no kind of work: it
looks up the handler of each command's class (and the codec of each encoded request's RPC
method) in the CommandRegistry it was given.

Failures:
- a failure of the store itself (the adapter's ``failures``: SQLite errors, an audit entry not
  written) fails the batch: it is rolled back, nothing of it is acknowledged;
- a handler that crashes (any other exception) refuses its own command only, and leaves nothing
  of it behind: the batch is rolled back and run again without it (a rare path; the common one
  pays nothing for it), the crash audited in its place.
"""

from __future__ import annotations

from typing import NamedTuple

from ..audit.event import ERROR, Actor, AuditEvent
from .commands import CommandRegistry, ReplyEncoder, WireCodec
from .interface import EncodedWrite, StoreError
from .port import BatchTransaction

STREAM_BROKEN = "STREAM_BROKEN"  # audit reason: not applied, an earlier update of its stream was not stored
NO_HANDLER = "NO_HANDLER"  # audit reason: no handler (or codec) registered for this kind of work
_BROKEN_STREAMS_KEPT = 4096


class Decoded(NamedTuple):
    """An EncodedWrite after decoding: its codec and its command, or why decoding failed."""

    job: EncodedWrite
    codec: WireCodec | None
    what: object  # the command, or the BaseException of its decoding


class _Applied(NamedTuple):
    job: EncodedWrite
    codec: WireCodec
    outcome: object


class _Replied(NamedTuple):
    command: object
    encoder: ReplyEncoder
    outcome: object


class _HandlerCrashedError(Exception):
    def __init__(self, index: int, error: Exception) -> None:
        self.index = index
        self.error = error


def _audit_of(command: object, job: EncodedWrite | None = None) -> AuditEvent:
    """The audit entry a command carries (its action, actor and subject), or a bare one."""
    audit = getattr(command, "audit", None)
    if isinstance(audit, AuditEvent):
        return audit
    if isinstance(command, AuditEvent):
        return command
    if job is not None:
        return AuditEvent(job.action, "", job.actor)
    return AuditEvent(f"command:{type(command).__qualname__}", "", Actor())


def _reply(replied: _Replied) -> object:
    try:
        return replied.encoder(replied.command, replied.outcome)
    except Exception as exc:  # noqa: BLE001 - committed (a read's audit entry), but no reply can be made
        return StoreError(f"reply not encoded: {type(exc).__name__}")


class WriterCore:
    """Owns the writing transaction: apply a batch (begin + every command), then commit or abandon."""

    def __init__(self, tx: BatchTransaction, *, registry: CommandRegistry) -> None:
        self._tx = tx  # the adapter (sqlite_tx.SqliteTransaction): the writer only drives it
        self._failures = self._tx.failures
        self._handlers = registry.handlers
        self._codecs = registry.codecs
        self._replies = registry.replies
        self._batch_streams: set[int] = set()  # the streams with updates in the batch being applied
        self._broken_streams: dict[int, None] = {}  # streams with an update not stored (bounded)
        self._pass_breaks: list[int] = []  # streams first broken in the current pass over a batch

    def apply(self, jobs: list[object]) -> list[object]:
        """decode + apply_decoded + encode: the outcomes (a handler's outcome, an Encoded for an
        EncodedWrite, or a job's own StoreError). On a failure of the batch it rolls back and raises."""
        return self.encode(self.apply_decoded(self.decode(jobs)))

    def decode(self, jobs: list[object]) -> list[object]:
        """Parse the encoded requests into commands (no database)."""
        return [self._decode(job) if type(job) is EncodedWrite else job for job in jobs]

    def _decode(self, job: EncodedWrite) -> Decoded:
        codec = self._codecs.get(job.action)
        if codec is None:
            return Decoded(job, None, LookupError(NO_HANDLER))
        try:
            return Decoded(job, codec, codec.decode(job))
        except Exception as exc:  # noqa: BLE001 - a crashing decoder refuses this job only (audited)
            return Decoded(job, codec, exc)

    def apply_decoded(self, jobs: list[object]) -> list[object]:
        """Begin and run every command (replies still to be encoded). On a failure of the batch
        it rolls back and raises."""
        self._batch_streams = {job.job.stream for job in jobs if type(job) is Decoded and job.job.stream}
        crashed: dict[int, Exception] = {}
        while True:
            self._pass_breaks = []
            try:
                return self._apply_pass(jobs, crashed)
            except _HandlerCrashedError as crash:
                crashed[crash.index] = crash.error  # run the batch again, without it
                for stream in self._pass_breaks:
                    self._broken_streams.pop(stream, None)
                try:
                    self._tx.rollback()
                except BaseException:
                    self.abandon()
                    raise
            except BaseException:
                self.abandon()
                raise

    def _apply_pass(self, jobs: list[object], crashed: dict[int, Exception]) -> list[object]:
        tx = self._tx
        handlers = self._handlers
        replies = self._replies
        failures = self._failures
        tx.begin()
        outcomes: list[object] = []
        for index, job in enumerate(jobs):
            if type(job) is Decoded:
                outcome = self._apply_encoded(index, job, crashed)
            elif crashed and index in crashed:
                outcome = self._refuse(_audit_of(job), crashed[index])
            else:
                handler = handlers.get(type(job))
                if handler is None:
                    outcome = self._refuse(_audit_of(job), LookupError(NO_HANDLER))
                else:
                    try:
                        outcome = handler(tx, job)
                    except failures:
                        raise
                    except Exception as exc:  # noqa: BLE001 - the handler's own crash: its job only
                        raise _HandlerCrashedError(index, exc) from exc
                    encoder = replies.get(type(job))
                    if encoder is not None:
                        outcome = _Replied(job, encoder, outcome)
            outcomes.append(outcome)
        return outcomes

    def _apply_encoded(self, index: int, decoded: Decoded, crashed: dict[int, Exception]) -> object:
        """Run a decoded request's command, or audit why it is not run."""
        job, codec, command = decoded
        if job.stream in self._broken_streams:
            # audited with its request id and subject when it parsed: the caller resends it
            self._tx.append_audit(_audit_of(command, job).with_outcome(ERROR, reason=STREAM_BROKEN))
            return StoreError("not stored: an earlier update of this stream was not")
        if isinstance(command, BaseException):
            self._break_stream(job.stream)
            if isinstance(command, StoreError):
                return command
            return self._refuse(AuditEvent(job.action, "", job.actor), command)
        if crashed and index in crashed:
            self._break_stream(job.stream)
            return self._refuse(_audit_of(command, job), crashed[index])
        handler = self._handlers.get(type(command))
        if handler is None:
            self._break_stream(job.stream)
            return self._refuse(_audit_of(command, job), LookupError(NO_HANDLER))
        try:
            outcome = handler(self._tx, command)
        except self._failures:
            raise
        except Exception as exc:  # noqa: BLE001 - the handler's own crash: its job only
            raise _HandlerCrashedError(index, exc) from exc
        if isinstance(outcome, BaseException):
            self._break_stream(job.stream)
            return outcome
        assert codec is not None
        return _Applied(job, codec, outcome)

    def _refuse(self, audit: AuditEvent, error: BaseException) -> StoreError:
        """Audit a command that is not run (crashed, or nobody handles it); its caller gets StoreError."""
        reason = str(error) if isinstance(error, LookupError) and str(error) == NO_HANDLER else type(error).__name__
        self._tx.append_audit(audit.with_outcome(ERROR, reason=reason))
        return StoreError(f"not stored: {reason}")

    def _break_stream(self, stream: int) -> None:
        """No later update of this stream may be stored: one of it was not."""
        if stream and stream not in self._broken_streams:
            self._broken_streams[stream] = None
            self._pass_breaks.append(stream)
            while len(self._broken_streams) > _BROKEN_STREAMS_KEPT:
                del self._broken_streams[next(iter(self._broken_streams))]

    def encode(self, outcomes: list[object]) -> list[object]:
        """The replies to the encoded requests and to the commands with a reply encoder (no database)."""
        out: list[object] = []
        for outcome in outcomes:
            kind = type(outcome)
            if kind is _Applied:
                outcome = self._encode(outcome)  # type: ignore[arg-type]
            elif kind is _Replied:
                outcome = _reply(outcome)  # type: ignore[arg-type]
            out.append(outcome)
        return out

    def _encode(self, applied: _Applied) -> object:
        try:
            return applied.codec.encode(applied.job, applied.outcome)
        except Exception as exc:  # noqa: BLE001 - committed, but this reply cannot be made
            self._break_stream(applied.job.stream)  # its caller resends from here
            return StoreError(f"reply not encoded: {type(exc).__name__}")

    def commit(self) -> None:
        """COMMIT (waits for fsync; the sqlite3 module releases the GIL meanwhile)."""
        self._tx.commit()

    def abandon(self) -> None:
        """Roll back the batch: nothing of it is stored, so no later update of its streams may be."""
        for stream in self._batch_streams:
            self._break_stream(stream)
        self._batch_streams = set()
        self._tx.rollback()

    def close(self) -> None:
        self._tx.close()
