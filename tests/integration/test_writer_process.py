"""The store's writer process, driven through its pipe: batches sent back to back are answered in
order, and a COMMIT that fails acknowledges nothing of its batch while the batches after it are
stored gaplessly.

The child is a real spawned process running writer_main on a real SQLite file; the only thing
injected is the failure of one COMMIT (the disk refusing a write cannot be provoked portably).
"""

from __future__ import annotations

import itertools
import multiprocessing
import sqlite3
from collections.abc import Iterator
from datetime import date
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from clients.synthetic import tennyu_request
from cs_gateway.api.update_codec import UpdateCodec
from cs_gateway.app.handlers import register_handlers
from cs_gateway.audit.event import Actor
from cs_gateway.audit.spec import AuditSpec
from cs_gateway.audit.trail import verify
from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2 as upb
from cs_gateway.server import command_registry
from cs_gateway.store.commands import CommandRegistry
from cs_gateway.store.interface import Encoded, EncodedWrite, StoreError
from cs_gateway.store.writer_process import receive_message, send_message, writer_main

TODAY = date(2026, 11, 29)
ACTOR = Actor(spiffe_id="spiffe://hirosaki.jukinet.test/kizon-juki/kizon-juki-01", peer="ipv4:127.0.0.1:1")
SPEC = AuditSpec(hmac_key=b"k" * 32, signing_key=None, signing_cert=None)


def writer_with_failing_commit(conn: Connection, path: str, fail_on: int) -> None:
    """The child: writer_main, with its fail_on-th COMMIT refused (nothing else changed)."""
    from cs_gateway.store import writer_core

    calls = itertools.count(1)
    real_commit = writer_core.WriterCore.commit

    def commit(self: writer_core.WriterCore) -> None:
        if next(calls) == fail_on:
            raise sqlite3.OperationalError("disk I/O error (injected)")
        real_commit(self)

    writer_core.WriterCore.commit = commit  # type: ignore[method-assign]
    writer_main(conn, path, SPEC, command_registry("022021"))


@pytest.fixture
def writer(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Connection, Path]]:
    fail_on = getattr(request, "param", 0)
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    db = tmp_path / "cs.sqlite3"
    process = context.Process(target=writer_with_failing_commit, args=(child, str(db), fail_on), daemon=True)
    process.start()
    child.close()
    assert parent.poll(60) and receive_message(parent) == ("ready",)
    try:
        yield parent, db
    finally:
        send_message(parent, ("close",))
        assert parent.poll(30) and receive_message(parent)[0] == "closed"
        process.join(30)
        assert process.exitcode == 0


def batch(first: int, count: int) -> list[EncodedWrite]:
    return [
        EncodedWrite(tennyu_request(i).SerializeToString(), ACTOR, "/jukinet.cs.v1.UpdateService/Apply", TODAY, True)
        for i in range(first, first + count)
    ]


def answers(conn: Connection, batches: int) -> list[list[object] | BaseException]:
    out = []
    for _ in range(batches):
        assert conn.poll(30), "no answer from the writer"
        kind, outcomes, _commit_seconds = receive_message(conn)
        assert kind == "results"
        out.append(outcomes)
    return out


def seqs(outcomes: list[object]) -> list[int]:
    result = []
    for outcome in outcomes:
        assert isinstance(outcome, Encoded) and outcome.payload is not None
        result.append(upb.UpdateResult.FromString(outcome.payload).record.update_seq)
    return result


def stored(db: Path) -> list[tuple[int, str]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT update_seq, juminhyo_code FROM history ORDER BY update_seq").fetchall()
    finally:
        conn.close()


def test_pipelined_batches_are_answered_in_order(writer: tuple[Connection, Path]) -> None:
    conn, db = writer
    for k in range(6):
        send_message(conn, ("batch", batch(1 + 7 * k, 7)))  # no waiting: they queue in the pipe
    got = answers(conn, 6)
    assert [seqs(outcomes) for outcomes in got] == [list(range(1 + 7 * k, 8 + 7 * k)) for k in range(6)]  # type: ignore[arg-type]
    assert [seq for seq, _ in stored(db)] == list(range(1, 43))


@pytest.mark.parametrize("writer", [2], indirect=True)
def test_a_failed_commit_acknowledges_nothing_and_later_batches_follow_without_gap(
    writer: tuple[Connection, Path],
) -> None:
    conn, db = writer
    send_message(conn, ("batch", batch(1, 3)))
    assert seqs(answers(conn, 1)[0]) == [1, 2, 3]  # type: ignore[arg-type]
    send_message(conn, ("batch", batch(10, 4)))  # its COMMIT fails
    send_message(conn, ("batch", batch(20, 2)))  # already waiting in the pipe; applied after it failed
    failed, after = answers(conn, 2)
    assert isinstance(failed, StoreError)
    assert seqs(after) == [4, 5]  # type: ignore[arg-type]
    codes = {tennyu_request(i).entry.juminhyo_code for i in range(10, 14)}
    assert not codes & {code for _, code in stored(db)}  # nothing of the failed batch is stored
    assert [seq for seq, _ in stored(db)] == [1, 2, 3, 4, 5]
    check = sqlite3.connect(db)
    try:
        report = verify(check, [])
        assert report.ok, report.describe()
        assert report.entries == 5  # the failed batch's audit entries were rolled back with it
    finally:
        check.close()


class _CrashingCodec(UpdateCodec):
    """Decodes like the real codec, except that a request whose id ends in "boom" crashes it."""

    def decode(self, job: EncodedWrite):  # noqa: ANN201
        if upb.UpdateRequest.FromString(job.payload).request_id.endswith("boom"):
            raise RuntimeError("decoder bug")
        return super().decode(job)


def crashing_registry(store_update=None) -> CommandRegistry:  # noqa: ANN001 - a StoreUpdate handler
    """The production handlers with the crashing codec (and another StoreUpdate handler if given)."""
    from cs_gateway.app.apply_update import RefuseUpdate, StoreUpdate, refuse_update
    from cs_gateway.app.audit_entry import append_entry
    from cs_gateway.audit.event import AuditEvent

    if store_update is None:
        registry = register_handlers(CommandRegistry())
    else:
        registry = CommandRegistry()
        registry.handle(StoreUpdate, store_update)
        registry.handle(RefuseUpdate, refuse_update)
        registry.handle(AuditEvent, append_entry)
    registry.decode("/jukinet.cs.v1.UpdateService/Apply", _CrashingCodec(municipality_code="022021"))
    return registry


def stream_with_a_crashing_decode(tmp_path: Path, registry: CommandRegistry, after: int):  # noqa: ANN201
    """A writer core, and a batch: stream 5 with updates 1-3 (2's decoding crashes), then
    ``after`` single updates from 4 on."""
    from cs_gateway.store.sqlite_tx import SqliteTransaction
    from cs_gateway.store.writer_core import WriterCore

    core = WriterCore(SqliteTransaction(tmp_path / "cs.sqlite3", SPEC.build()), registry=registry)
    jobs = stream_batch(1, 3, stream=5) + batch(4, after)
    crashing = tennyu_request(2)
    crashing.request_id = "req-boom"
    jobs[1] = jobs[1]._replace(payload=crashing.SerializeToString())
    return core, jobs


def test_a_crashing_decoder_fails_its_own_request_only_and_is_audited(tmp_path: Path) -> None:
    from cs_gateway.store.sqlite_tx import SqliteTransaction
    from cs_gateway.store.writer_core import WriterCore

    core = WriterCore(SqliteTransaction(tmp_path / "cs.sqlite3", SPEC.build()), registry=crashing_registry())
    jobs = batch(1, 3)
    crashing = tennyu_request(2)
    crashing.request_id = "req-boom"
    jobs[1] = jobs[1]._replace(payload=crashing.SerializeToString())
    outcomes = core.apply(jobs)
    core.commit()
    assert isinstance(outcomes[1], StoreError)
    assert seqs([outcomes[0], outcomes[2]]) == [1, 2]
    conn = sqlite3.connect(tmp_path / "cs.sqlite3")
    try:
        rows = conn.execute("SELECT outcome, reason FROM audit_log ORDER BY seq").fetchall()
    finally:
        conn.close()
    core.close()
    assert rows == [("ok", ""), ("error", "RuntimeError"), ("ok", "")]


def stream_batch(first: int, count: int, stream: int) -> list[EncodedWrite]:
    return [job._replace(stream=stream) for job in batch(first, count)]


@pytest.mark.parametrize("writer", [2], indirect=True)
def test_after_a_failed_batch_no_later_update_of_its_streams_is_stored(writer: tuple[Connection, Path]) -> None:
    """A stream's order is the order its updates are stored in: once one of them is not stored
    (its caller gets UNAVAILABLE and resends from there), the later ones, even those already
    waiting in the writer, are not stored either. Other streams and single calls go on."""
    conn, db = writer
    send_message(conn, ("batch", stream_batch(1, 3, stream=1)))
    assert seqs(answers(conn, 1)[0]) == [1, 2, 3]  # type: ignore[arg-type]
    send_message(conn, ("batch", stream_batch(10, 2, stream=1) + stream_batch(12, 1, stream=2)))  # its COMMIT fails
    send_message(conn, ("batch", stream_batch(20, 2, stream=1) + stream_batch(22, 1, stream=2) + batch(23, 1)))
    failed, after = answers(conn, 2)
    assert isinstance(failed, StoreError)
    assert isinstance(after, list)
    assert [type(o).__name__ for o in after[:3]] == ["StoreError"] * 3  # streams 1 and 2: not stored
    assert seqs(after[3:]) == [4]  # the single call is stored
    assert [code for _, code in stored(db)][-1] == tennyu_request(23).entry.juminhyo_code
    check = sqlite3.connect(db)
    try:
        rows = check.execute("SELECT outcome, reason FROM audit_log ORDER BY seq").fetchall()
    finally:
        check.close()
    assert rows[3:] == [("error", "STREAM_BROKEN")] * 3 + [("ok", "")]
    check = sqlite3.connect(db)
    try:
        ids = [r for (r,) in check.execute("SELECT request_id FROM audit_log WHERE reason = 'STREAM_BROKEN'")]
    finally:
        check.close()
    assert ids == [tennyu_request(i).request_id for i in (20, 21, 22)]  # the caller resends these


def test_a_crashing_update_in_a_stream_stops_the_rest_of_that_stream_in_the_same_batch(tmp_path: Path) -> None:
    core, jobs = stream_with_a_crashing_decode(tmp_path, crashing_registry(), after=1)
    outcomes = core.apply(jobs)
    core.commit()
    assert seqs([outcomes[0]]) == [1]
    assert isinstance(outcomes[1], StoreError) and isinstance(outcomes[2], StoreError)  # after the crash: not stored
    assert seqs([outcomes[3]]) == [2]  # not part of the stream
    core.close()


def store_update_crashing_on_4(tx, update):  # noqa: ANN001, ANN201
    """The app's StoreUpdate handler, crashing (after its reads) for synthetic person 4."""
    from cs_gateway.app.apply_update import store_update

    if update.request_id == tennyu_request(4).request_id:
        tx.find(update.command.subject_code)
        raise RuntimeError("handler bug")
    return store_update(tx, update)


def test_a_crashing_handler_is_left_out_and_the_rest_of_its_batch_keeps_its_outcomes(tmp_path: Path) -> None:
    """The batch runs again without the crashed command: what came before it in the batch
    (a stored update of stream 5, then that stream broken by a decoder crash) comes out as it
    would have without the crash, and the crash leaves no row."""
    core, jobs = stream_with_a_crashing_decode(tmp_path, crashing_registry(store_update_crashing_on_4), after=2)
    outcomes = core.apply(jobs)
    core.commit()
    core.close()
    assert seqs([outcomes[0]]) == [1]  # stored, though its stream broke later in the batch
    assert all(isinstance(o, StoreError) for o in outcomes[1:4])  # decoder crash, stream broken, handler crash
    assert seqs([outcomes[4]]) == [2]  # no gap: the crashed handler's work was rolled back
    assert [code for _, code in stored(tmp_path / "cs.sqlite3")] == [
        tennyu_request(1).entry.juminhyo_code,
        tennyu_request(5).entry.juminhyo_code,
    ]
    conn = sqlite3.connect(tmp_path / "cs.sqlite3")
    try:
        rows = conn.execute("SELECT outcome, reason FROM audit_log ORDER BY seq").fetchall()
    finally:
        conn.close()
    assert rows == [
        ("ok", ""),
        ("error", "RuntimeError"),
        ("error", "STREAM_BROKEN"),
        ("error", "RuntimeError"),
        ("ok", ""),
    ]
