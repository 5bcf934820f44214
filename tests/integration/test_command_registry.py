"""The writer runs whatever handler is registered for a command's kind: a kind that exists only
in this test (registered here, not in store/) runs in the real writer process, its writes and its
audit entry in one transaction, and a crash of its handler leaves none of its rows behind while
the updates batched with it are stored without a gap."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import pytest

from clients.synthetic import tennyu_request
from cs_gateway.api.convert import update_from_proto
from cs_gateway.app.apply_update import prepare_update
from cs_gateway.audit.event import ERROR, OK, AuditEvent
from cs_gateway.audit.spec import AuditSpec
from cs_gateway.audit.trail import verify
from cs_gateway.domain.logic_checks import Accepted, decide
from cs_gateway.domain.record import UpdateCommand
from cs_gateway.server import command_registry
from cs_gateway.store.interface import StoreError
from cs_gateway.store.port import Transaction
from cs_gateway.store.sqlite_store import SqliteStore
from tests.conftest import APPLY, TEST_ACTOR, TODAY

SPEC = AuditSpec(hmac_key=b"k" * 32, signing_key=None, signing_cert=None)
NOTE = "test.note"


@dataclass(frozen=True, slots=True)
class Note:
    """A test-only kind of durable work: store a 転入 of synthetic person ``person`` and audit it."""

    person: int
    crash: bool = False


@dataclass(frozen=True, slots=True)
class Noted:
    update_seq: int
    audit_seq: int
    pid: int


def note(tx: Transaction, command: Note) -> Noted:
    """The handler (module level: the registry is pickled into the writer process)."""
    update = update_from_proto(tennyu_request(command.person, request_prefix="note"))
    assert isinstance(update, UpdateCommand)
    decision = decide(update, tx, TODAY)
    assert isinstance(decision, Accepted)
    record = tx.put_version(decision.record, person_key=None, retire_code=None)
    tx.enqueue_notice(record)
    audit_seq = tx.append_audit(
        AuditEvent(NOTE, OK, TEST_ACTOR, update_seq=record.update_seq, detail=f"pid={os.getpid()}")
    )
    if command.crash:
        raise RuntimeError("the note handler crashed after writing")
    return Noted(record.update_seq, audit_seq, os.getpid())


class Unregistered:
    """A command nobody handles."""


@dataclass(frozen=True, slots=True)
class Told:
    """A test-only command whose outcome is encoded in the writer (a reply encoder)."""

    person: int
    bad_reply: bool = False


def told(tx: Transaction, command: Told) -> Noted:
    audit_seq = tx.append_audit(AuditEvent(NOTE, OK, TEST_ACTOR, detail=f"told={command.person}"))
    return Noted(0, audit_seq, os.getpid())


def told_reply(command: Told, outcome: Noted) -> bytes:
    """Runs in the writer, after the handler: the caller gets these bytes instead of the outcome."""
    if command.bad_reply:
        raise ValueError("this reply cannot be encoded")
    return f"{command.person}:{outcome.audit_seq}:{os.getpid()}".encode()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    registry = command_registry("022021")
    registry.handle(Note, note)
    registry.handle(Told, told)
    registry.reply(Told, told_reply)
    s = SqliteStore(tmp_path / "cs.sqlite3", audit=SPEC, registry=registry)
    yield s
    s.close()


def rows(path: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def in_one_batch(store: SqliteStore, commands: list[object]) -> list[Future]:
    """Submit on the store's loop in one go: the writer gets them as one batch (one transaction)."""

    async def submit() -> list[Future]:
        return [store.submit(command) for command in commands]

    return asyncio.run_coroutine_threadsafe(submit(), store._loop).result(10)  # noqa: SLF001


def test_a_command_kind_registered_by_a_test_runs_in_the_writer_process_with_its_audit_entry(
    store: SqliteStore,
) -> None:
    noted = store.submit(Note(person=1)).result(30)
    assert isinstance(noted, Noted)
    writer_pid = store._writer.pid  # noqa: SLF001
    assert noted.pid == writer_pid != os.getpid()  # ran in the writer process, not here
    assert rows(store.path, "SELECT update_seq FROM history") == [(noted.update_seq,)]
    assert rows(store.path, "SELECT update_seq FROM outbox") == [(noted.update_seq,)]
    assert rows(
        store.path, f"SELECT action, outcome, update_seq, detail FROM audit_log WHERE seq = {noted.audit_seq}"
    ) == [(NOTE, OK, noted.update_seq, f"pid={writer_pid}")]


def test_a_crashing_handler_leaves_no_row_behind_and_its_batch_is_stored_without_gap(store: SqliteStore) -> None:
    def update(i: int) -> object:
        cmd = update_from_proto(tennyu_request(i))
        assert isinstance(cmd, UpdateCommand)
        return prepare_update(cmd, actor=TEST_ACTOR, action=APPLY, today=TODAY, municipality_code="022021")

    first, crashed, last = in_one_batch(store, [update(1), Note(person=2, crash=True), update(3)])
    assert first.result(30).record.update_seq == 1
    with pytest.raises(StoreError):
        crashed.result(30)
    assert last.result(30).record.update_seq == 2  # the crashed note's version left no gap
    codes = [code for (code,) in rows(store.path, "SELECT juminhyo_code FROM history ORDER BY update_seq")]
    assert codes == [tennyu_request(1).entry.juminhyo_code, tennyu_request(3).entry.juminhyo_code]
    assert rows(store.path, "SELECT COUNT(*) FROM persons") == [(2,)]
    assert rows(store.path, "SELECT COUNT(*) FROM outbox") == [(2,)]
    assert rows(store.path, f"SELECT COUNT(*) FROM audit_log WHERE action = '{NOTE}' AND outcome = '{OK}'") == [(0,)]
    trail = rows(store.path, "SELECT action, outcome, reason FROM audit_log ORDER BY seq")
    assert trail == [(APPLY, OK, ""), ("command:Note", ERROR, "RuntimeError"), (APPLY, OK, "")]
    conn = sqlite3.connect(store.path)
    try:
        report = verify(conn, [])
    finally:
        conn.close()
    assert report.ok, report.describe()


def test_a_command_nobody_handles_is_refused_and_audited(store: SqliteStore) -> None:
    with pytest.raises(StoreError):
        store.submit(Unregistered()).result(30)
    assert rows(store.path, "SELECT outcome, reason FROM audit_log") == [(ERROR, "NO_HANDLER")]


def test_a_reply_encoder_runs_in_the_writer_and_its_caller_gets_only_the_bytes(store: SqliteStore) -> None:
    first, second = in_one_batch(store, [Told(7), Note(person=1)])
    person, audit_seq, pid = first.result(30).decode().split(":")
    assert (person, int(pid)) == ("7", store._writer.pid)  # noqa: SLF001 - encoded in the writer
    assert isinstance(second.result(30), Noted)  # a command without an encoder: its outcome as it is
    assert rows(store.path, f"SELECT detail FROM audit_log WHERE seq = {audit_seq}") == [("told=7",)]


def test_a_reply_that_cannot_be_encoded_is_an_error_to_its_caller_only(store: SqliteStore) -> None:
    bad, good = in_one_batch(store, [Told(1, bad_reply=True), Told(2)])
    with pytest.raises(StoreError, match="reply not encoded: ValueError"):
        bad.result(30)
    assert good.result(30).decode().startswith("2:")
    # the handler ran and committed (its entry records the read): only the reply is missing
    assert rows(store.path, "SELECT detail FROM audit_log ORDER BY seq") == [("told=1",), ("told=2",)]


def test_a_reply_encoder_needs_its_handler_first_and_only_one_per_kind() -> None:
    registry = command_registry("022021")
    with pytest.raises(ValueError, match="no handler"):
        registry.reply(Told, told_reply)
    registry.handle(Told, told)
    registry.reply(Told, told_reply)
    with pytest.raises(ValueError, match="already registered"):
        registry.reply(Told, told_reply)
