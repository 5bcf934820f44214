"""The SQLite store on real files: group commit, gapless 更新順番号, isolation of failures."""

from __future__ import annotations

import dataclasses
import sqlite3
from concurrent.futures import wait
from pathlib import Path

import pytest

from clients.synthetic import tennyu_request
from cs_gateway.api.convert import update_from_proto
from cs_gateway.audit.event import AuditEvent
from cs_gateway.domain.record import UpdateCommand
from cs_gateway.store.interface import StoreError
from cs_gateway.store.sqlite_store import SqliteStore
from tests.conftest import AuditedApply, new_store


def command(i: int) -> UpdateCommand:
    cmd = update_from_proto(tennyu_request(i))
    assert isinstance(cmd, UpdateCommand)
    return cmd


@pytest.fixture
def store(tmp_path: Path):  # noqa: ANN201
    s = new_store(tmp_path / "cs.sqlite3")
    yield s
    s.close()


def use_case(store: SqliteStore) -> AuditedApply:
    return AuditedApply(store)


def test_group_commit_batches_concurrent_writes_without_gaps(store: SqliteStore) -> None:
    apply = use_case(store)
    futures = [apply.submit(command(i)) for i in range(500)]
    wait(futures, timeout=60)
    seqs = sorted(f.result().record.update_seq for f in futures)  # type: ignore[union-attr]
    assert seqs == list(range(1, 501))
    assert store.commits < 500  # one fsync per batch, not per update


def test_queue_order_is_update_order(store: SqliteStore) -> None:
    apply = use_case(store)
    futures = [apply.submit(command(i)) for i in range(100)]
    assert [f.result(30).record.update_seq for f in futures] == list(range(1, 101))  # type: ignore[union-attr]


def store_update_with_a_crashing_rule(tx, update):  # noqa: ANN001, ANN201 - pickled into the writer process
    """The app's StoreUpdate handler, except that the rules crash on one request (a rule's bug)."""
    from cs_gateway.app.apply_update import store_update

    if update.request_id == command(3).request_id:
        raise RuntimeError("rule crashed")
    return store_update(tx, update)


def test_a_failing_rule_refuses_its_item_only(tmp_path: Path) -> None:
    from cs_gateway.api.update_codec import register_codecs
    from cs_gateway.app.apply_update import RefuseUpdate, StoreUpdate, refuse_update
    from cs_gateway.app.audit_entry import append_entry
    from cs_gateway.audit.spec import AuditSpec
    from cs_gateway.store.commands import CommandRegistry

    registry = CommandRegistry()
    registry.handle(StoreUpdate, store_update_with_a_crashing_rule)
    registry.handle(RefuseUpdate, refuse_update)
    registry.handle(AuditEvent, append_entry)
    register_codecs(registry, municipality_code="022021")
    spec = AuditSpec(hmac_key=b"k" * 32, signing_key=None, signing_cert=None)
    store = SqliteStore(tmp_path / "cs.sqlite3", audit=spec, registry=registry)
    try:
        apply = use_case(store)
        good_before = apply.submit(command(1))
        bad = apply.submit(command(3))
        good_after = apply.submit(command(2))
        assert good_before.result(30).record.update_seq == 1  # type: ignore[union-attr]
        with pytest.raises(StoreError):
            bad.result(30)
        assert good_after.result(30).record.update_seq == 2  # type: ignore[union-attr]
    finally:
        store.close()


def test_reopened_store_continues_the_sequence(tmp_path: Path) -> None:
    path = tmp_path / "cs.sqlite3"
    first = new_store(path)
    use_case(first).submit(command(1)).result(30)
    first.close()
    second = new_store(path)
    try:
        result = use_case(second).submit(command(2)).result(30)
        assert result.record.update_seq == 2  # type: ignore[union-attr]
        replay = use_case(second).submit(command(1)).result(30)
        assert replay.replayed and replay.record.update_seq == 1  # type: ignore[union-attr]
    finally:
        second.close()


def test_store_is_wal_with_full_sync_and_versioned_schema(store: SqliteStore) -> None:
    conn = sqlite3.connect(store.path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
    finally:
        conn.close()


def test_refused_update_leaves_every_table_unchanged(store: SqliteStore) -> None:
    apply = use_case(store)
    apply.submit(command(1)).result(30)

    def snapshot() -> dict[str, list[tuple]]:
        conn = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True)
        try:
            tables = [
                r[0]
                for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
                if not r[0].startswith("audit_")  # refusals are audited: that is the point
            ]
            return {t: conn.execute(f"SELECT * FROM {t}").fetchall() for t in tables}  # noqa: S608
        finally:
            conn.close()

    before = snapshot()
    replay = apply.submit(command(1)).result(30)
    assert replay.replayed  # same id + payload: the first result, nothing applied
    refused = apply.submit(dataclasses.replace(command(1), request_id="other")).result(30)
    assert refused.violation is not None and refused.violation.code == "ALREADY_RESIDENT"
    reused = apply.submit(dataclasses.replace(command(2), request_id=command(1).request_id)).result(30)
    assert reused.violation is not None and reused.violation.code == "REQUEST_ID_REUSED"
    assert snapshot() == before


def test_gateway_fails_closed_when_its_store_writer_process_dies(gateway) -> None:  # noqa: ANN001
    """The writer process owns the database: if it dies, nothing is stored or read unaudited."""
    import os
    import signal

    import grpc

    from clients.synthetic import synthetic_entry
    from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2 as upb
    from tests.grpc_helpers import error_info

    stub = gateway.stub()
    stub.Apply(tennyu_request(1), timeout=10)
    writer_pid = gateway.running.store._writer.pid  # noqa: SLF001 - the test kills the real child
    os.kill(writer_pid, signal.SIGKILL)
    for call in (
        lambda: stub.Apply(tennyu_request(2), timeout=10),
        lambda: stub.GetRecord(upb.GetRecordRequest(juminhyo_code=synthetic_entry(1).juminhyo_code), timeout=10),
    ):
        with pytest.raises(grpc.RpcError) as caught:
            call()
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert error_info(caught.value).reason == "STORE_UNAVAILABLE"
    assert gateway.running.store.find(synthetic_entry(2).juminhyo_code) is None


def test_every_committed_batch_is_reported_to_the_observer_on_the_stores_loop(tmp_path: Path) -> None:
    """on_batch(size, commit_seconds): one call per committed batch, in the gateway's process
    (the metrics' batch size and commit latency histograms)."""
    import os
    import threading

    from cs_gateway.audit.spec import AuditSpec
    from cs_gateway.server import command_registry

    seen: list[tuple[int, float, int, int]] = []

    def on_batch(size: int, commit_seconds: float) -> None:
        seen.append((size, commit_seconds, os.getpid(), threading.get_ident()))

    spec = AuditSpec(hmac_key=b"k" * 32, signing_key=None, signing_cert=None)
    store = SqliteStore(tmp_path / "cs.sqlite3", audit=spec, registry=command_registry("022021"), on_batch=on_batch)
    try:
        apply = use_case(store)
        futures = [apply.submit(command(i)) for i in range(200)]
        assert [f.result(30).record.update_seq for f in futures] == list(range(1, 201))  # type: ignore[union-attr]
    finally:
        store.close()
    assert sum(size for size, *_ in seen) == 200
    assert len(seen) == store.commits < 200  # group commit: fewer batches than updates
    assert all(seconds > 0 for _, seconds, *_ in seen)
    assert {(pid, thread) for *_, pid, thread in seen} == {(os.getpid(), store._loop_thread)}  # noqa: SLF001
