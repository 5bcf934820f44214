"""The record digest beside each person (migration 10): the writer keeps it with the person's
current version, a store made before it gets it when the writer opens it, and the tree built
from the stored digests equals the tree of the records themselves; the file never holds the
clear digest (it would let a 個人番号 be found by trying every candidate)."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from clients.synthetic import tennyu_request
from cs_gateway.api.convert import update_from_proto
from cs_gateway.app.consistency import MappingCopy
from cs_gateway.audit.chain import SubjectHasher
from cs_gateway.audit.trail import AuditTrail
from cs_gateway.domain.consistency_tree import HashTree
from cs_gateway.domain.record import UpdateCommand
from cs_gateway.peers.consistency_run import StoreCopy
from cs_gateway.store.schema import MIGRATIONS
from cs_gateway.store.sqlite_tx import SqliteTransaction, open_reader
from tests.conftest import TEST_HMAC_KEY, AuditedApply, new_store
from tests.integration.test_update_service import tenkyo_request
from tests.legacy_store import downgrade_to_v9

PERSONS = 40


def _stored_store(path: Path) -> None:
    store = new_store(path)
    apply = AuditedApply(store)
    for request in [tennyu_request(i) for i in range(PERSONS)] + [
        tenkyo_request(i, f"tenkyo-{i}", "青森県弘前市大字本町１番地") for i in range(0, PERSONS, 3)
    ]:
        cmd = update_from_proto(request)
        assert isinstance(cmd, UpdateCommand)
        outcome = apply.submit(cmd).result(30)
        assert outcome.record is not None, outcome
    store.close()


def _digests(path: Path) -> dict[str, bytes]:
    conn = sqlite3.connect(path)
    try:
        return {code: bytes(d) for code, d in conn.execute("SELECT juminhyo_code, record_digest FROM persons")}
    finally:
        conn.close()


def _trees(path: Path, depth: int) -> tuple[HashTree, HashTree]:
    reader = open_reader(path)
    try:
        copy = StoreCopy(reader)
        records = dict(copy.full_file())
        return copy.tree(depth), MappingCopy(records).tree(depth)
    finally:
        reader.close()


def test_the_writer_keeps_each_persons_digest_with_its_current_version(tmp_path: Path) -> None:
    path = tmp_path / "cs.sqlite3"
    _stored_store(path)
    for depth in (1, 2, 6):
        from_digests, from_records = _trees(path, depth)
        assert from_digests.root == from_records.root and from_digests.nodes == from_records.nodes
    reader = open_reader(path)
    try:
        copy = StoreCopy(reader)
        records = dict(copy.full_file())
        assert copy.count() == PERSONS
        clear = {code: hashlib.sha256(body).digest() for code, body in records.items()}
    finally:
        reader.close()
    stored = _digests(path)
    assert set(stored) == set(clear) and all(len(d) == 32 for d in stored.values())
    assert not set(stored.values()) & set(clear.values())  # sealed, never the clear digest


def test_migration_10_computes_the_digests_of_a_store_made_before_it(tmp_path: Path) -> None:
    path = tmp_path / "cs.sqlite3"
    _stored_store(path)
    written = _digests(path)
    root = _trees(path, 2)[1].root
    downgrade_to_v9(path)
    tx = SqliteTransaction(path, AuditTrail(SubjectHasher(TEST_HMAC_KEY), None))
    tx.close()
    conn = sqlite3.connect(path)
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    conn.close()
    assert version == len(MIGRATIONS)
    assert _digests(path) == written  # the migration computes exactly what the writer writes
    from_digests, from_records = _trees(path, 2)
    assert from_digests.root == from_records.root == root


def test_a_changed_record_changes_its_digest_and_only_its_bucket(tmp_path: Path) -> None:
    path = tmp_path / "cs.sqlite3"
    _stored_store(path)
    before = _digests(path)
    assert len(before) == PERSONS
    store = new_store(path)
    cmd = update_from_proto(tenkyo_request(1, "tenkyo-again-1", "青森県弘前市大字元寺町２番地"))
    assert isinstance(cmd, UpdateCommand)
    assert AuditedApply(store).submit(cmd).result(30).record is not None
    store.close()
    after = _digests(path)
    assert {code for code in before if before[code] != after[code]} == {tennyu_request(1).entry.juminhyo_code}
