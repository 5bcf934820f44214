"""Fault test with real processes: SIGKILL the gateway mid-stream, restart it, and check that
every acknowledged update is stored exactly once with no gap in 更新順番号."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from clients.synthetic import tennyu_request
from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2_grpc
from cs_gateway.process import start_gateway_process, write_dev_config
from pki.dev_pki import DevPki
from tests.conftest import channel_for
from tests.e2e.load import stream_until_failure

TOTAL = 5000
KILL_AFTER = 1500

pytestmark = pytest.mark.slow


def _children(pid: int) -> list[int]:
    """The gateway's child processes (its store writer)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _wait_dead(pids: list[int], timeout: float = 30.0) -> None:
    """Wait until each process has exited (gone, or a zombie nobody reaped)."""
    deadline = time.monotonic() + timeout
    for pid in pids:
        while True:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except FileNotFoundError:
                break
            if stat[stat.rindex(")") + 2] in "ZX":
                break
            assert time.monotonic() < deadline, f"process {pid} outlived the gateway"
            time.sleep(0.01)


def _store_rows(path: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {
            "history": conn.execute("SELECT update_seq, juminhyo_code FROM history ORDER BY update_seq").fetchall(),
            "requests": conn.execute("SELECT request_id, update_seq FROM requests").fetchall(),
            "outbox": conn.execute("SELECT update_seq FROM outbox ORDER BY update_seq").fetchall(),
            "persons": conn.execute("SELECT juminhyo_code FROM persons").fetchall(),
        }
    finally:
        conn.close()


def test_sigkill_mid_stream_loses_no_acknowledged_update(tmp_path: Path, dev_pki: DevPki) -> None:
    store = tmp_path / "cs.sqlite3"
    config = write_dev_config(tmp_path / "gw.toml", pki_dir=dev_pki.directory, store_path=store)
    gateway = start_gateway_process(config)
    acked: dict[str, int] = {}
    progress = threading.Event()
    client = threading.Thread(
        target=stream_until_failure,
        args=(dev_pki, gateway.port, TOTAL, acked, progress),
        kwargs={"signal_after": KILL_AFTER},
    )
    client.start()
    try:
        assert progress.wait(120), "the stream made no progress"
        writer = _children(gateway.process.pid)
        assert writer, "the gateway has no store writer process"
        gateway.kill()  # SIGKILL: no shutdown, no flush
    finally:
        if gateway.process.poll() is None:
            gateway.kill()
    # The writer dies with the gateway (PR_SET_PDEATHSIG), but only once its current system call
    # returns: a COMMIT waiting for the disk still completes (durable, never acknowledged; the
    # resend below replays it). Look at the file once nothing can write to it any more.
    _wait_dead(writer)
    client.join(60)
    acknowledged = dict(acked)
    assert KILL_AFTER <= len(acknowledged) < TOTAL, "the kill did not land mid-stream"

    # After the crash, before anything else touches the file: every acknowledged update is there.
    rows = _store_rows(store)
    stored = dict(rows["requests"])
    for request_id, seq in acknowledged.items():
        assert stored.get(request_id) == seq, request_id
    seqs = [seq for seq, _code in rows["history"]]
    assert seqs == list(range(1, len(seqs) + 1)), "更新順番号 has a gap"
    assert [s for (s,) in rows["outbox"]] == seqs, "a stored update lacks its change notice"
    assert len(rows["persons"]) == len(seqs) == len(stored)

    # Restart and let the client resend everything, as 既存住基 does after a failure.
    gateway = start_gateway_process(config)
    try:
        stub = update_service_pb2_grpc.UpdateServiceStub(channel_for(dev_pki, "kizon-juki", gateway.port))
        results = list(stub.ApplyStream((tennyu_request(i) for i in range(TOTAL)), timeout=300))
    finally:
        gateway.stop()
    assert len(results) == TOTAL
    for result in results:
        assert result.WhichOneof("outcome") == "record", (result.request_id, result.refusal.reason)
        if result.request_id in acknowledged:
            assert result.replayed and result.record.update_seq == acknowledged[result.request_id]
    replayed = sum(r.replayed for r in results)
    assert replayed == len(seqs)  # everything stored before the crash is replayed, nothing applied twice

    rows = _store_rows(store)
    final = [seq for seq, _code in rows["history"]]
    assert final == list(range(1, TOTAL + 1))
    assert len(rows["persons"]) == TOTAL
    assert len({code for _seq, code in rows["history"]}) == TOTAL
