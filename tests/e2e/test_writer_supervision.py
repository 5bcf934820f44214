"""Supervision with real processes: SIGKILL the store's writer process (as an OOM kill would)
while the 既存住基 side streams updates and another client applies them one by one. The gateway
must say NOT_SERVING, exit non-zero at once (EXIT_WRITER_DIED) for its supervisor to restart it,
have lost no acknowledged update, and after the restart a resend with the same request ids must
apply nothing twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from clients.synthetic import tennyu_request
from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2_grpc
from cs_gateway.metrics_listener import sample, scrape
from cs_gateway.process import start_gateway_process, write_dev_config
from cs_gateway.server import EXIT_WRITER_DIED
from pki.dev_pki import DevPki
from tests.conftest import channel_for
from tests.e2e.load import stream_until_failure

STREAM_TOTAL = 5000
UNARY_FIRST = 100_000  # the unary client's synthetic residents, apart from the stream's
UNARY_TOTAL = 3000
KILL_AFTER = 1000  # acknowledged stream updates before the kill
EXIT_WITHIN_S = 5.0
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING

pytestmark = pytest.mark.slow


def _unary(pki: DevPki, port: int, acked: dict[str, int], codes: list[grpc.StatusCode]) -> None:
    stub = update_service_pb2_grpc.UpdateServiceStub(channel_for(pki, "kizon-juki", port))
    for i in range(UNARY_FIRST, UNARY_FIRST + UNARY_TOTAL):
        try:
            result = stub.Apply(tennyu_request(i), timeout=30)
        except grpc.RpcError as err:
            codes.append(err.code())
            return
        acked[result.request_id] = result.record.update_seq


def _watch(pki: DevPki, port: int, seen: list[int], serving: threading.Event) -> None:
    stub = health_pb2_grpc.HealthStub(channel_for(pki, "kizon-juki", port))
    try:
        for reply in stub.Watch(health_pb2.HealthCheckRequest(service="jukinet.cs.v1.UpdateService"), timeout=120):
            seen.append(reply.status)
            if reply.status == SERVING:
                serving.set()
    except grpc.RpcError:
        pass  # the gateway stopped


def _writer_of(pid: int) -> int:
    """The gateway's store writer: its multiprocessing child."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                return int(child)
    raise AssertionError("the gateway has no store writer process")


def _stored(path: Path) -> tuple[dict[str, int], list[int], list[int]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        requests = dict(conn.execute("SELECT request_id, update_seq FROM requests").fetchall())
        history = [s for (s,) in conn.execute("SELECT update_seq FROM history ORDER BY update_seq")]
        outbox = [s for (s,) in conn.execute("SELECT update_seq FROM outbox ORDER BY update_seq")]
    finally:
        conn.close()
    return requests, history, outbox


def test_sigkill_of_the_writer_under_load_exits_non_zero_and_loses_nothing(tmp_path: Path, dev_pki: DevPki) -> None:
    store = tmp_path / "cs.sqlite3"
    config = write_dev_config(tmp_path / "gw.toml", pki_dir=dev_pki.directory, store_path=store)
    log = tmp_path / "gateway.log"
    with log.open("wb") as sink:
        gateway = start_gateway_process(config, stderr=sink.fileno())
    stream_acked: dict[str, int] = {}
    unary_acked: dict[str, int] = {}
    unary_codes: list[grpc.StatusCode] = []
    statuses: list[int] = []
    progress, serving = threading.Event(), threading.Event()
    clients = [
        threading.Thread(target=_watch, args=(dev_pki, gateway.port, statuses, serving), daemon=True),
        threading.Thread(
            target=stream_until_failure,
            args=(dev_pki, gateway.port, STREAM_TOTAL, stream_acked, progress),
            kwargs={"signal_after": KILL_AFTER},
        ),
        threading.Thread(target=_unary, args=(dev_pki, gateway.port, unary_acked, unary_codes)),
    ]
    for client in clients:
        client.start()
    try:
        assert serving.wait(30), "health never said SERVING"
        assert progress.wait(120), "the stream made no progress"
        assert len(stream_acked) < STREAM_TOTAL, "the stream ended before the kill"
        assert gateway.metrics_url is not None and gateway.metrics_url.startswith("http://127.0.0.1:")
        metrics = scrape(gateway.metrics_url)  # the process's own listener, over HTTP
        assert sample(metrics, "cs_gateway_rpcs_total", method="/jukinet.cs.v1.UpdateService/Apply", code="OK") > 0
        assert sample(metrics, "cs_gateway_store_batch_size_sum") >= KILL_AFTER
        os.kill(_writer_of(gateway.process.pid), signal.SIGKILL)  # as an OOM kill would
        killed = time.monotonic()
        code = gateway.process.wait(30)
        exited_after = time.monotonic() - killed
    finally:
        if gateway.process.poll() is None:
            gateway.kill()
    for client in clients:
        client.join(60)
    text = log.read_text(encoding="utf-8", errors="replace")
    assert code == EXIT_WRITER_DIED, text[-3000:]
    assert exited_after < EXIT_WITHIN_S, exited_after
    assert "store_writer_died" in text
    assert statuses[0] == SERVING and NOT_SERVING in statuses, statuses  # NOT_SERVING before it went
    assert unary_codes in ([], [grpc.StatusCode.UNAVAILABLE]), unary_codes
    assert unary_acked, "the unary client made no progress"

    # Every acknowledged update is stored, with the 更新順番号 it was acknowledged with.
    acknowledged = {**stream_acked, **unary_acked}
    requests, history, outbox = _stored(store)
    for request_id, seq in acknowledged.items():
        assert requests.get(request_id) == seq, request_id
    assert history == list(range(1, len(history) + 1)), "更新順番号 has a gap"
    assert outbox == history

    # The supervisor starts it again; both clients resend everything with the same request ids.
    gateway = start_gateway_process(config)
    try:
        health = health_pb2_grpc.HealthStub(channel_for(dev_pki, "kizon-juki", gateway.port))
        assert health.Check(health_pb2.HealthCheckRequest(), timeout=10).status == SERVING
        stub = update_service_pb2_grpc.UpdateServiceStub(channel_for(dev_pki, "kizon-juki", gateway.port))
        results = list(stub.ApplyStream((tennyu_request(i) for i in range(STREAM_TOTAL)), timeout=300))
        results += list(
            stub.ApplyStream((tennyu_request(i) for i in range(UNARY_FIRST, UNARY_FIRST + UNARY_TOTAL)), timeout=300)
        )
    finally:
        assert gateway.stop() == 0
    assert len(results) == STREAM_TOTAL + UNARY_TOTAL
    for result in results:
        assert result.WhichOneof("outcome") == "record", (result.request_id, result.refusal.reason)
        if result.request_id in acknowledged:
            assert result.replayed and result.record.update_seq == acknowledged[result.request_id]
    assert sum(r.replayed for r in results) == len(history)  # stored before the kill: replayed, not applied again
    requests, final, outbox = _stored(store)
    assert final == list(range(1, STREAM_TOTAL + UNARY_TOTAL + 1))
    assert outbox == final
    assert len(requests) == STREAM_TOTAL + UNARY_TOTAL
