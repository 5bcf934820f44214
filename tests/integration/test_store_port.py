"""The store's transaction port, as a contract every adapter must keep (SQLite today; a
PostgreSQL adapter adds itself to ADAPTERS and must pass the same tests).

Append-only is a property of the port: through it a version, an idempotency key, a change notice
and an audit entry can only be added; nothing a handler can call changes or removes one; and the
backend itself refuses such a change made around the port (for SQLite: its triggers).
"""

from __future__ import annotations

import dataclasses
import inspect
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from clients.synthetic import tennyu_request
from cs_gateway.api.convert import update_from_proto
from cs_gateway.audit.chain import SubjectHasher
from cs_gateway.audit.event import OK, AuditEvent
from cs_gateway.audit.trail import AuditTrail
from cs_gateway.domain.logic_checks import Accepted, decide
from cs_gateway.domain.record import IdentityRecord, UpdateCommand
from cs_gateway.store.port import ReadPort, Transaction
from cs_gateway.store.sqlite_tx import SqliteTransaction
from tests.conftest import TEST_ACTOR, TODAY

# What the port lets a handler do: reads, and additions. Nothing else (checked below).
PORT_METHODS = {
    "find",
    "individual_number_holder",
    "person",
    "version",
    "history",
    "last_update_seq",
    "request",
    "put_version",
    "remember_request",
    "enqueue_notice",
    "append_audit",
    "mark_delivered",  # the one change a notice gets: delivered, once (never unmarked)
    "store_sofusaki",  # 送付先情報 appended exactly as received
    "mark_sofusaki_forwarded",  # its one change: forwarded, once
}


@dataclass
class Adapter:
    """One backend under test: a transaction on a fresh store, and raw access around the port."""

    tx: Transaction
    begin: Callable[[], None]
    commit: Callable[[], None]
    rows: Callable[[str], list[tuple]]  # every row of a table, in key order
    raw: Callable[[str], None]  # run a statement directly on the backend (an attacker, a bug)
    refused: type[BaseException]  # what the backend raises when it refuses one


@contextmanager
def sqlite_adapter(folder: Path) -> Iterator[Adapter]:
    path = folder / "cs.sqlite3"
    tx = SqliteTransaction(path, AuditTrail(SubjectHasher(b"k" * 32)))

    def rows(table: str) -> list[tuple]:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()  # noqa: S608
        finally:
            conn.close()

    def raw(sql: str) -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute(sql)
        finally:
            conn.close()

    try:
        yield Adapter(tx, tx.begin, tx.commit, rows, raw, sqlite3.IntegrityError)
    finally:
        tx.close()


ADAPTERS = {"sqlite": sqlite_adapter}


@pytest.fixture(params=sorted(ADAPTERS))
def adapter(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Adapter]:
    with ADAPTERS[request.param](tmp_path) as made:
        yield made


def tennyu(tx: Transaction, i: int) -> IdentityRecord:
    """The record of a 転入 of synthetic person i, as the domain's rules make it."""
    cmd = update_from_proto(tennyu_request(i))
    assert isinstance(cmd, UpdateCommand)
    decision = decide(cmd, tx, TODAY)
    assert isinstance(decision, Accepted)
    return decision.record


def test_the_port_offers_reads_and_additions_only() -> None:
    public = {name for name, _ in inspect.getmembers(Transaction) if not name.startswith("_")}
    assert public == PORT_METHODS
    assert {name for name, _ in inspect.getmembers(ReadPort) if not name.startswith("_")} <= PORT_METHODS


def test_versions_notices_keys_and_audit_entries_only_accumulate(adapter: Adapter) -> None:
    tx = adapter.tx
    adapter.begin()
    first = tx.put_version(tennyu(tx, 1), person_key=None, retire_code=None)
    tx.enqueue_notice(first)
    tx.remember_request("req-1", "fp-1", first.update_seq)
    seq_one = tx.append_audit(AuditEvent("test", OK, TEST_ACTOR, update_seq=first.update_seq))
    adapter.commit()
    stored = {table: adapter.rows(table) for table in ("history", "outbox", "requests", "audit_log")}

    adapter.begin()
    person = tx.find(first.juminhyo_code)
    assert person is not None
    moved = dataclasses.replace(first, address=first.address + "2", request_id="req-2")
    second = tx.put_version(moved, person_key=person.person_key, retire_code=None)
    tx.enqueue_notice(second)
    tx.remember_request("req-2", "fp-2", second.update_seq)
    seq_two = tx.append_audit(AuditEvent("test", OK, TEST_ACTOR, update_seq=second.update_seq))
    adapter.commit()

    assert (first.update_seq, second.update_seq, seq_two) == (1, 2, seq_one + 1)
    for table, before in stored.items():
        assert adapter.rows(table)[: len(before)] == before, f"{table}: an earlier row changed"
        assert len(adapter.rows(table)) == len(before) + 1, table
    assert [v.update_seq for v in tx.history(first.juminhyo_code)] == [1, 2]
    assert tx.version(1) == first  # the older version is kept as it was stored
    assert tx.request("req-1") == ("fp-1", 1)


def test_an_idempotency_key_is_never_replaced(adapter: Adapter) -> None:
    tx = adapter.tx
    adapter.begin()
    first = tx.put_version(tennyu(tx, 1), person_key=None, retire_code=None)
    tx.remember_request("req-1", "fp-1", first.update_seq)
    adapter.commit()
    adapter.begin()
    with pytest.raises(adapter.refused):
        tx.remember_request("req-1", "fp-other", first.update_seq)
    assert tx.request("req-1") == ("fp-1", 1)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE history SET record = '{}'",
        "DELETE FROM history",
        "UPDATE requests SET fingerprint = 'x'",
        "DELETE FROM requests",
        "UPDATE outbox SET notice = '{}'",
        "DELETE FROM outbox",
        "DELETE FROM codes",
        "UPDATE codes SET person_id = 99",
        "UPDATE individual_numbers SET person_id = 99",
        "DELETE FROM individual_numbers",
        "UPDATE audit_log SET detail = 'x'",
        "DELETE FROM audit_log",
    ],
)
def test_the_backend_refuses_a_change_made_around_the_port(adapter: Adapter, statement: str) -> None:
    tx = adapter.tx
    adapter.begin()
    record = tx.put_version(tennyu(tx, 1), person_key=None, retire_code=None)
    tx.enqueue_notice(record)
    tx.remember_request("req-1", "fp-1", record.update_seq)
    tx.append_audit(AuditEvent("test", OK, TEST_ACTOR, update_seq=record.update_seq))
    adapter.commit()
    table = statement.split()[1] if statement.startswith("UPDATE") else statement.split()[2]
    before = adapter.rows(table)
    with pytest.raises(adapter.refused, match="append-only|never removed|stays with its person"):
        adapter.raw(statement)
    assert adapter.rows(table) == before


def test_a_notice_is_marked_delivered_once_and_never_unmarked(adapter: Adapter) -> None:
    tx = adapter.tx
    adapter.begin()
    first = tx.put_version(tennyu(tx, 1), person_key=None, retire_code=None)
    tx.enqueue_notice(first)
    second = tx.put_version(tennyu(tx, 2), person_key=None, retire_code=None)
    tx.enqueue_notice(second)
    adapter.commit()
    adapter.begin()
    assert tx.mark_delivered((first.update_seq,)) == 1
    adapter.commit()
    marked = adapter.rows("outbox")
    adapter.begin()
    assert tx.mark_delivered((first.update_seq, second.update_seq)) == 1  # a redelivery marks nothing twice
    adapter.commit()
    rows = adapter.rows("outbox")
    assert rows[0] == marked[0] and rows[1][2] is not None
    with pytest.raises(adapter.refused):
        adapter.raw(f"UPDATE outbox SET delivered_at = NULL WHERE update_seq = {first.update_seq}")
