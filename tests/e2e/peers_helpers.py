"""Real processes for the peer tests: the gateway with a [prefecture] section, the emulator."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from clients import prefecture_emulator
from cs_gateway.process import GatewayProcess, start_gateway_process, write_dev_config
from pki.dev_pki import DevPki


def gateway_config(root: Path, pki: DevPki, prefecture_port: int, *, warn_age_s: int = 300) -> Path:
    config = write_dev_config(root / "gateway.toml", pki_dir=pki.directory, store_path=root / "cs.sqlite3")
    with config.open("a", encoding="utf-8") as out:
        out.write(
            "\n[prefecture]\n"
            f'target = "127.0.0.1:{prefecture_port}"\n'
            f"backlog_warn_age_s = {warn_age_s}\n"
            "retry_initial_s = 0.1\nretry_max_s = 1.0\n"
        )
    return config


def start_prefecture(root: Path, pki: DevPki, *, port: int = 0, cert_role: str = "prefecture") -> GatewayProcess:
    config = prefecture_emulator.write_config(
        root / "prefecture.toml",
        pki_dir=pki.directory,
        db=root / "prefecture.sqlite3",
        listen=f"127.0.0.1:{port}",
        cert_role=cert_role,
    )
    return prefecture_emulator.start_process(config)


def start_gateway(config: Path) -> GatewayProcess:
    return start_gateway_process(config)


def applied_seqs(db: Path) -> list[int]:
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute("SELECT update_seq FROM applied ORDER BY update_seq")]
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def undelivered(store: Path) -> int:
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL").fetchone()[0]
    finally:
        conn.close()


def wait_until(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
