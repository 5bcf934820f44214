"""The search index equals the current records after every kind of batch (store/search_sqlite.py):
first versions, key changes (a 転居), refusals in the same batch, and a version whose keys did
not change (its row is left as it is, not deleted and inserted again)."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

from clients.synthetic import pb_date, synthetic_entry, tennyu_request
from cs_gateway.api.convert import update_from_proto
from cs_gateway.audit.chain import SubjectHasher
from cs_gateway.audit.trail import AuditTrail
from cs_gateway.domain.record import UpdateCommand
from cs_gateway.gen.jukinet.cs.v1 import identity_pb2 as pb
from cs_gateway.store.search_sqlite import index_row, write_index
from cs_gateway.store.sqlite_tx import SqliteTransaction
from tests.conftest import TEST_HMAC_KEY, AuditedApply, new_store

PEOPLE = 6


def _command(request) -> UpdateCommand:  # noqa: ANN001
    cmd = update_from_proto(request)
    assert isinstance(cmd, UpdateCommand)
    return cmd


def _tenkyo(i: int, address: str) -> UpdateCommand:
    request = tennyu_request(i)
    request.request_id = f"tenkyo-{i}"
    request.change_reason = pb.CHANGE_REASON_TENKYO
    on = date(2025, 6, 1)
    request.change_date.CopyFrom(pb_date(on))
    request.entry.address = address
    request.entry.address_since.CopyFrom(pb_date(on))
    request.entry.notified_on.CopyFrom(pb_date(on))
    return _command(request)


def _index_and_records(path: Path) -> tuple[dict[int, tuple[object, ...]], dict[int, tuple[object, ...]]]:
    tx = SqliteTransaction(path, AuditTrail(SubjectHasher(TEST_HMAC_KEY), None))
    try:
        conn = tx._conn  # noqa: SLF001 - the test reads the adapter's own tables
        indexed = {row[0]: tuple(row) for row in conn.execute("SELECT * FROM search_index")}
        current = {}
        for person_id, code in conn.execute("SELECT person_id, juminhyo_code FROM persons"):
            person = tx.find(code)
            assert person is not None
            current[person_id] = index_row(person_id, person.record)
    finally:
        tx.close()
    return indexed, current


def test_the_index_equals_the_records_after_batches_with_changes_and_refusals(tmp_path: Path) -> None:
    path = tmp_path / "cs.sqlite3"
    store = new_store(path)
    try:
        apply = AuditedApply(store)
        firsts = [apply.submit(_command(tennyu_request(i))) for i in range(PEOPLE)]  # submitted together
        assert all(f.result(30).record is not None for f in firsts)
        mixed = [
            apply.submit(_tenkyo(1, "青森県弘前市大字本町1丁目2番地3")),
            apply.submit(_command(tennyu_request(2, request_prefix="again"))),  # already resident: refused
            apply.submit(_tenkyo(4, "青森県弘前市大字城東五丁目6番7号")),
        ]
        outcomes = [f.result(30) for f in mixed]
        assert outcomes[0].record is not None and outcomes[2].record is not None
        assert outcomes[1].record is None and outcomes[1].violation is not None
    finally:
        store.close()
    indexed, current = _index_and_records(path)
    assert len(indexed) == PEOPLE and indexed == current
    assert sorted(str(row[3]) for row in indexed.values() if "5-6-7" in str(row[3]) or "1-2-3" in str(row[3])) == [
        "青森県弘前市大字城東5-6-7",
        "青森県弘前市大字本町1-2-3",
    ]  # the two 転居 are in the index, in their normalised form


def test_a_version_with_the_same_keys_leaves_its_row_and_a_changed_key_rewrites_it(tmp_path: Path) -> None:
    path = tmp_path / "cs.sqlite3"
    store = new_store(path)
    try:
        assert AuditedApply(store).submit(_command(tennyu_request(0))).result(30).record is not None
    finally:
        store.close()
    tx = SqliteTransaction(path, AuditTrail(SubjectHasher(TEST_HMAC_KEY), None))
    try:
        person = tx.find(synthetic_entry(0).juminhyo_code)
        assert person is not None
        conn: sqlite3.Connection = tx._conn  # noqa: SLF001
        tx.begin()
        before = conn.total_changes
        write_index(conn, person.person_key, person.record)
        assert conn.total_changes == before  # nothing rewritten
        moved = type(person.record)(**{**_fields(person.record), "address": "青森県弘前市大字土手町9番地"})
        write_index(conn, person.person_key, moved)
        assert conn.total_changes == before + 1
        row = conn.execute("SELECT * FROM search_index WHERE person_id = ?", (person.person_key,)).fetchone()
        assert tuple(row) == index_row(person.person_key, moved)
        tx.rollback()
    finally:
        tx.close()


def _fields(record: object) -> dict[str, object]:
    return {name: getattr(record, name) for name in record.__slots__}  # type: ignore[attr-defined]
