"""The notifier against the 都道府県サーバー emulator, both real processes over mTLS."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clients.synthetic import juminhyo_code_of, tennyu_request
from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2_grpc
from pki.dev_pki import DevPki
from tests.conftest import channel_for
from tests.e2e.peers_helpers import (
    applied_seqs,
    gateway_config,
    start_gateway,
    start_prefecture,
    undelivered,
    wait_until,
)
from tests.metrics_helpers import metric

pytestmark = pytest.mark.slow


def _push(pki: DevPki, port: int, start: int, count: int) -> list[int]:
    stub = update_service_pb2_grpc.UpdateServiceStub(channel_for(pki, "kizon-juki", port))
    seqs = []
    for result in stub.ApplyStream((tennyu_request(i) for i in range(start, start + count)), timeout=60):
        assert result.WhichOneof("outcome") == "record", result.refusal.reason
        seqs.append(result.record.update_seq)
    return seqs


def _consistency(root: Path, mode: str = "tree") -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "cs_gateway", "consistency", "check", "--config", str(root / "gateway.toml")]
    return subprocess.run([*command, "--mode", mode], capture_output=True, text=True, timeout=60, check=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_every_notice_reaches_the_prefecture_in_order_and_leaves_the_outbox(tmp_path: Path, dev_pki: DevPki) -> None:
    prefecture = start_prefecture(tmp_path, dev_pki)
    gateway = start_gateway(gateway_config(tmp_path, dev_pki, prefecture.port))
    try:
        seqs = _push(dev_pki, gateway.port, 0, 300)
        db = tmp_path / "prefecture.sqlite3"
        wait_until(lambda: len(applied_seqs(db)) == 300, 60, "300 notices applied")
        assert applied_seqs(db) == sorted(seqs) == list(range(1, 301))
        wait_until(lambda: undelivered(tmp_path / "cs.sqlite3") == 0, 30, "the outbox drained")
        agrees = _consistency(tmp_path)
        assert agrees.returncode == 0, agrees.stdout + agrees.stderr
        assert "mode tree: AGREES" in agrees.stdout and "records: CS 300, prefecture 300" in agrees.stdout
        tampered = sqlite3.connect(db)  # one record changed behind the CS's back
        (body,) = tampered.execute("SELECT body FROM records WHERE update_seq = 17").fetchone()
        changed = bytes(body).replace("弘前市".encode(), "青森市".encode())
        tampered.execute("UPDATE records SET body = ? WHERE update_seq = 17", (changed,))
        tampered.commit()
        tampered.close()
        for mode in ("tree", "full"):
            differs = _consistency(tmp_path, mode)
            assert differs.returncode == 1, differs.stdout + differs.stderr
            assert "1 DIFFERENCES" in differs.stdout and "differs: address" in differs.stdout
            assert juminhyo_code_of(16) not in differs.stdout  # masked in the report
    finally:
        gateway.stop()
        prefecture.stop()
    conn = sqlite3.connect(tmp_path / "cs.sqlite3")
    (checks,) = conn.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'consistency.check'").fetchone()
    assert checks == 3
    (entries,) = conn.execute(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'peers.prefecture.notices_delivered'"
    ).fetchone()
    assert entries >= 1


OUTAGE_S = 60.0  # the figure
WARN_AGE_S = 5  # the backlog health warning, checked during the same outage


def test_prefecture_down_for_60_s_during_a_stream_refuses_no_update_warns_and_gets_every_notice_once(
    tmp_path: Path, dev_pki: DevPki
) -> None:
    """Acceptance (a), and the backlog's health warning in the same outage (one 60 s wait, not two):
    updates stream all through the outage (a small batch every second: the figure is the
    outage's length, not the load), none is refused because of it; the backlog grows and, once
    older than backlog_warn_age_s, the notifier's health is NOT_SERVING (the gateway still
    serves); after it, every notice arrives in order, once, and the warning clears."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    port = _free_port()
    prefecture = start_prefecture(tmp_path, dev_pki, port=port)
    gateway = start_gateway(gateway_config(tmp_path, dev_pki, port, warn_age_s=WARN_AGE_S))
    db, store = tmp_path / "prefecture.sqlite3", tmp_path / "cs.sqlite3"
    health = health_pb2_grpc.HealthStub(channel_for(dev_pki, "kizon-juki", gateway.port))

    def status(service: str) -> int:
        return health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status

    notifier, serving = "jukinet.cs.v1.PrefectureNotifier", health_pb2.HealthCheckResponse.SERVING
    try:
        assert gateway.metrics_url is not None
        _push(dev_pki, gateway.port, 0, 100)
        wait_until(lambda: len(applied_seqs(db)) == 100, 60, "the first 100 notices")
        # applied there is not yet acknowledged here: the CS marks a notice delivered once its ack
        # is back (a notice applied but unmarked when the peer dies is redelivered, a DUPLICATE)
        wait_until(lambda: undelivered(store) == 0, 60, "the first 100 marked delivered")
        assert status(notifier) == serving
        prefecture.kill()  # down: the updates go on regardless, all through the outage
        down_at = time.monotonic()
        stored, warned = 100, False
        while time.monotonic() - down_at < OUTAGE_S:
            assert len(_push(dev_pki, gateway.port, stored, 10)) == 10  # none refused because of it
            stored += 10
            if not warned and metric(gateway.metrics_url, "cs_gateway_outbox_stale") == 1:
                warned = True
                assert time.monotonic() - down_at > WARN_AGE_S  # not before the configured age
                assert status(notifier) == health_pb2.HealthCheckResponse.NOT_SERVING
                assert status("") == serving  # the gateway itself still serves
                assert metric(gateway.metrics_url, "cs_gateway_outbox_backlog") == stored - 100
                assert metric(gateway.metrics_url, "cs_gateway_outbox_oldest_age_seconds") > WARN_AGE_S
            time.sleep(1.0)
        assert warned, "no health warning during a 60 s outage"
        assert undelivered(store) == stored - 100 and applied_seqs(db) == list(range(1, 101))
        prefecture = start_prefecture(tmp_path, dev_pki, port=port)
        wait_until(lambda: len(applied_seqs(db)) == stored, 60, "every notice after the outage")
        assert applied_seqs(db) == list(range(1, stored + 1))  # in order, each once (its primary key)
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        assert conn.execute("SELECT COUNT(*) FROM records").fetchone()[0] == stored
        conn.close()
        wait_until(lambda: undelivered(store) == 0, 30, "the outbox drained")
        wait_until(lambda: metric(gateway.metrics_url, "cs_gateway_outbox_stale") == 0, 30, "the warning cleared")
        assert status(notifier) == serving
        assert metric(gateway.metrics_url, "cs_gateway_outbox_backlog") == 0
        assert metric(gateway.metrics_url, "cs_gateway_notices_acknowledged_total") >= stored
    finally:
        gateway.stop()
        prefecture.stop()
