"""``cs-gateway demo``: the main job end to end on the embedded default.

Makes a dev PKI, starts the gateway as a child process on the SQLite store, lets the
既存住基 simulator push the demo scenario over mTLS, prints each result, shows the change notices
delivered to the 都道府県サーバー emulator (its own process) and a consistency check that agrees,
one 送付先情報 forwarded unedited to the 機構 emulator (its own process; demo_jlis.py), the
notices relayed by the 都道府県サーバー to the 機構's 全国サーバー and a consistency check against it,
then the counter step (demo_counter.py: an operator logs in with a computed TOTP, looks up,
searches by two items, and a one-item search is refused), health and a few metrics, and stops
everything again, leaving no process running.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from pki.dev_pki import DevPki, init_dev_pki

from .demo_jlis import show_jlis_copy, show_sofusaki, start_jlis, with_jlis
from .process import GatewayProcess, start_gateway_process, write_dev_config

SCENARIO = Path(__file__).resolve().parent.parent / "clients" / "scenarios" / "demo.json"


def _with_prefecture(config: Path, port: int) -> Path:
    """The gateway's configuration with the notifier's peer (the emulator on ``port``)."""
    with config.open("a", encoding="utf-8") as out:
        out.write(f'\n[prefecture]\ntarget = "127.0.0.1:{port}"\nretry_initial_s = 0.1\nretry_max_s = 1.0\n')
    return config


def _show_prefecture(root: Path, config: Path, store: Path, expected: int) -> int:
    """Wait for the notices to be delivered, dump the prefecture's copy, run a consistency check."""
    from clients import prefecture_emulator

    from .config import load_config
    from .peers.consistency_run import run_check
    from .server import certificate_gate
    from .store.stats import read_stats

    deadline = time.monotonic() + 30
    stats = read_stats(store)
    while stats is not None and stats.outbox_backlog and time.monotonic() < deadline:
        time.sleep(0.1)
        stats = read_stats(store)
    backlog = stats.outbox_backlog if stats is not None else -1
    print(f"   outbox: {expected} change notices queued, {expected - backlog} delivered, {backlog} undelivered")
    print("   the prefecture's copy (prefecture-emulator dump --summary):")
    prefecture_emulator.dump(root / "prefecture.sqlite3", summary=True)
    print("== consistency check (cs-gateway consistency check --peer prefecture)")
    loaded = load_config(config)
    return run_check(loaded, certificate_gate(loaded), echo=lambda line: print("   " + line.replace("\n", "\n   ")))


def _show_operations(gateway: GatewayProcess, pki: DevPki) -> int:
    """What an operator's supervisor sees: grpc.health over mTLS, and a few /metrics lines."""
    import urllib.request

    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    credentials = grpc.ssl_channel_credentials(
        root_certificates=pki.ca_cert_path.read_bytes(),
        private_key=pki.key_path("kizon-juki").read_bytes(),
        certificate_chain=pki.cert_path("kizon-juki").read_bytes(),
    )
    with grpc.secure_channel(gateway.target, credentials) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    print(f"   grpc.health.v1 Check (kizon-juki certificate): {status}")
    if gateway.metrics_url is None:
        print("   (no metrics listener)")
        return 0 if status == "SERVING" else 1
    with urllib.request.urlopen(gateway.metrics_url, timeout=10) as answer:  # noqa: S310 - loopback only
        text = answer.read().decode()
    wanted = ("cs_gateway_rpcs_total{", "cs_gateway_outbox_backlog", "cs_gateway_audit_entries_total")
    lines = [line for line in text.splitlines() if line.startswith(wanted) and not line.endswith(" 0.0")]
    print(f"   {gateway.metrics_url} ({len(text.splitlines())} lines), among them:")
    for line in lines:
        print(f"     {line}")
    return 0 if status == "SERVING" else 1


def run_demo(*, workdir: Path | None = None, keep: bool = False) -> int:
    from clients import kizon_juki_sim, prefecture_emulator

    from .demo_counter import enrol_demo_operator, make_demo_cards, run_counter_step

    root = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="cs-gateway-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        print(f"== 1/6 dev PKI (CA + one certificate per role) in {root / 'pki'}")
        pki = init_dev_pki(root / "pki", overwrite=True)
        print("== 2/6 starting the 機構 and 都道府県サーバー emulators and the gateway (mTLS, SQLite store)")
        jlis = start_jlis(root, pki)
        print(f"   機構 emulator (個人番号カード管理システム, 全国サーバー) listening on {jlis.target}")
        try:
            prefecture = prefecture_emulator.start_process(
                prefecture_emulator.write_config(
                    root / "prefecture.toml",
                    pki_dir=pki.directory,
                    db=root / "prefecture.sqlite3",
                    relay_target=jlis.target,  # it passes the notices on to the 全国サーバー
                )
            )
        except BaseException:
            jlis.stop()
            raise
        print(f"   prefecture emulator listening on {prefecture.target} (relays the notices to the 全国サーバー)")
        config = write_dev_config(root / "gateway.toml", pki_dir=pki.directory, store_path=root / "cs.sqlite3")
        config = _with_prefecture(config, prefecture.port)
        config = with_jlis(config, jlis.port)
        try:
            secret_file = enrol_demo_operator(config, root)
            cards = make_demo_cards(config, root)
            gateway = start_gateway_process(config)
        except BaseException:
            prefecture.stop()
            jlis.stop()
            raise
        checked = 1
        try:
            print(f"   listening on {gateway.target}")
            print("== 3/6 既存住基 simulator pushes the demo scenario")
            code = kizon_juki_sim.main(
                [
                    "--target",
                    gateway.target,
                    "--ca",
                    str(pki.ca_cert_path),
                    "--cert",
                    str(pki.cert_path("kizon-juki")),
                    "--key",
                    str(pki.key_path("kizon-juki")),
                    str(SCENARIO),
                ]
            )
            print("== 4/6 change notices to the 都道府県サーバー")
            accepted = _accepted(root / "cs.sqlite3")
            checked = _show_prefecture(root, config, root / "cs.sqlite3", accepted)
            print("== 4b/6 送付先情報 to the 機構 (個人番号カード管理システム), unedited")
            checked = show_sofusaki(root, gateway.target, pki) or checked
            print("== 4c/6 the 全国サーバー's copy (relayed by the 都道府県サーバー) and its consistency check")
            checked = show_jlis_copy(root, config) or checked
            if code == 0:
                print("== 5/6 counter terminal: operator login (password + TOTP), lookup, searches, card check")
                code = run_counter_step(gateway.target, pki, secret_file, cards)
            if code == 0:
                print("== 6/6 supervision: health and metrics")
                code = _show_operations(gateway, pki)
        finally:
            gateway.stop()
            prefecture.stop()
            jlis.stop()
            print("== gateway, prefecture emulator and 機構 emulator stopped")
        return code or checked
    finally:
        if not keep and workdir is None:
            shutil.rmtree(root, ignore_errors=True)


def _accepted(store: Path) -> int:
    """The change notices queued: one per stored update (its 更新順番号)."""
    from .store.sqlite_tx import open_reader

    reader = open_reader(store)
    try:
        return reader.last_update_seq()
    finally:
        reader.close()
