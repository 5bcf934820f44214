"""``consistency check --peer jlis``: the CS's file against the 機構's 全国サーバー copy, fed as
the real chain feeds it (CS -> 都道府県サーバー -> 全国サーバー: the prefecture emulator relays
each applied notice, signed by the CS, in order, with its own prefecture certificate). Real
processes, real mTLS."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clients import jlis_emulator, prefecture_emulator
from clients.synthetic import juminhyo_code_of, tennyu_request
from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2_grpc
from cs_gateway.process import GatewayProcess, start_gateway_process
from pki.dev_pki import DevPki
from tests.conftest import channel_for
from tests.e2e.peers_helpers import applied_seqs, gateway_config, wait_until

pytestmark = pytest.mark.slow
UPDATES = 120


def _jlis(root: Path, pki: DevPki, cert_role: str = "jlis") -> GatewayProcess:
    config = jlis_emulator.write_config(
        root / "jlis.toml", pki_dir=pki.directory, db=root / "jlis.sqlite3", cert_role=cert_role
    )
    return jlis_emulator.start_process(config)


def _prefecture(root: Path, pki: DevPki, relay_port: int) -> GatewayProcess:
    config = prefecture_emulator.write_config(
        root / "prefecture.toml",
        pki_dir=pki.directory,
        db=root / "prefecture.sqlite3",
        relay_target=f"127.0.0.1:{relay_port}",
    )
    return prefecture_emulator.start_process(config)


def _with_jlis(config: Path, port: int) -> Path:
    with config.open("a", encoding="utf-8") as out:
        out.write(f'\n[jlis]\ntarget = "127.0.0.1:{port}"\nretry_initial_s = 0.1\nretry_max_s = 1.0\n')
    return config


def _check(root: Path, peer: str, mode: str = "tree") -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "cs_gateway", "consistency", "check", "--config", str(root / "gateway.toml")]
    return subprocess.run(
        [*command, "--peer", peer, "--mode", mode], capture_output=True, text=True, timeout=60, check=False
    )


def _audited(root: Path) -> list[tuple[str, str, str]]:
    conn = sqlite3.connect(root / "cs.sqlite3")
    try:
        return list(
            conn.execute(
                "SELECT outcome, reason, detail FROM audit_log WHERE action = 'consistency.check' ORDER BY seq"
            )
        )
    finally:
        conn.close()


def test_the_jlis_copy_fed_through_the_prefecture_agrees_and_a_change_behind_its_back_is_found(
    tmp_path: Path, dev_pki: DevPki
) -> None:
    jlis = _jlis(tmp_path, dev_pki)
    prefecture = _prefecture(tmp_path, dev_pki, jlis.port)
    gateway = start_gateway_process(_with_jlis(gateway_config(tmp_path, dev_pki, prefecture.port), jlis.port))
    try:
        stub = update_service_pb2_grpc.UpdateServiceStub(channel_for(dev_pki, "kizon-juki", gateway.port))
        for result in stub.ApplyStream((tennyu_request(i) for i in range(UPDATES)), timeout=60):
            assert result.WhichOneof("outcome") == "record", result.refusal.reason
        copy = jlis_emulator.copy_db(tmp_path / "jlis.sqlite3")
        wait_until(lambda: len(applied_seqs(copy)) == UPDATES, 60, "every notice relayed to the 全国サーバー")
        assert applied_seqs(copy) == list(range(1, UPDATES + 1))  # in order, each once
        for mode in ("tree", "full"):
            agrees = _check(tmp_path, "jlis", mode)
            assert agrees.returncode == 0, agrees.stdout + agrees.stderr
            assert f"consistency check with the jlis, mode {mode}: AGREES" in agrees.stdout
            assert f"records: CS {UPDATES}, jlis {UPDATES}" in agrees.stdout
        tampered = sqlite3.connect(copy)  # one record changed, one removed behind the 機構's back
        (body,) = tampered.execute("SELECT body FROM records WHERE update_seq = 7").fetchone()
        tampered.execute(
            "UPDATE records SET body = ? WHERE update_seq = 7",
            (bytes(body).replace("弘前市".encode(), "青森市".encode()),),
        )
        tampered.execute("DELETE FROM records WHERE update_seq = 50")
        tampered.commit()
        tampered.close()
        for mode in ("tree", "full"):
            differs = _check(tmp_path, "jlis", mode)
            assert differs.returncode == 1, differs.stdout + differs.stderr
            assert "2 DIFFERENCES" in differs.stdout
            assert "differs: address" in differs.stdout and "missing at the jlis" in differs.stdout
            assert juminhyo_code_of(6) not in differs.stdout and juminhyo_code_of(49) not in differs.stdout
        assert _check(tmp_path, "prefecture").returncode == 0  # the prefecture's copy is untouched
    finally:
        gateway.stop()
        prefecture.stop()
        jlis.stop()
    audited = _audited(tmp_path)
    assert [(o, r) for o, r, _ in audited] == [
        ("ok", ""),
        ("ok", ""),
        ("refused", "COPIES_DIFFER"),
        ("refused", "COPIES_DIFFER"),
        ("ok", ""),
    ]
    assert all(d.startswith("peer jlis ") for _, _, d in audited[:4]) and audited[4][2].startswith("peer prefecture ")


def test_a_jlis_peer_without_the_jlis_role_is_asked_nothing_and_the_attempt_is_audited(
    tmp_path: Path, dev_pki: DevPki
) -> None:
    impostor = _jlis(tmp_path, dev_pki, cert_role="prefecture")  # a valid certificate, the wrong role
    try:
        config = _with_jlis(gateway_config(tmp_path, dev_pki, 1), impostor.port)
        gateway = start_gateway_process(config)
        gateway.stop()  # the store exists; the check is a local command
        refused = _check(tmp_path, "jlis")
    finally:
        impostor.stop()
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "consistency check refused" in refused.stdout and "role:prefecture-is-not-jlis" in refused.stdout
    (entry,) = [row for row in _audited(tmp_path)]
    assert entry[0] == "denied" and entry[1] == "role:prefecture-is-not-jlis"


def test_the_prefecture_relays_nothing_to_a_server_without_the_jlis_role(tmp_path: Path, dev_pki: DevPki) -> None:
    impostor = _jlis(tmp_path, dev_pki, cert_role="prefecture")  # would accept: the relay must refuse it
    prefecture = _prefecture(tmp_path, dev_pki, impostor.port)
    gateway = start_gateway_process(gateway_config(tmp_path, dev_pki, prefecture.port))
    try:
        stub = update_service_pb2_grpc.UpdateServiceStub(channel_for(dev_pki, "kizon-juki", gateway.port))
        for result in stub.ApplyStream((tennyu_request(i) for i in range(10)), timeout=60):
            assert result.WhichOneof("outcome") == "record", result.refusal.reason
        wait_until(lambda: len(applied_seqs(tmp_path / "prefecture.sqlite3")) == 10, 60, "the prefecture applied all")
        time.sleep(3.0)  # several relay attempts (backoff from 0.1 s)
        copy = jlis_emulator.copy_db(tmp_path / "jlis.sqlite3")
        assert applied_seqs(copy) == []
    finally:
        gateway.stop()
        prefecture.stop()
        impostor.stop()
