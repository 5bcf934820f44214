"""``cs-gateway demo``: the main job end to end on the embedded default.

Makes a dev PKI, starts the gateway as a child process on the SQLite store, lets the
既存住基 simulator push the demo scenario over mTLS, prints each result, then the counter step
(demo_counter.py: an operator logs in with a computed TOTP, looks up, searches by two items, and
a one-item search is refused), and stops the gateway again, leaving no process running.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from pki.dev_pki import init_dev_pki

from .process import start_gateway_process, write_dev_config

SCENARIO = Path(__file__).resolve().parent.parent / "clients" / "scenarios" / "demo.json"


def run_demo(*, workdir: Path | None = None, keep: bool = False) -> int:
    from clients import kizon_juki_sim

    root = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="cs-gateway-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        print(f"== 1/4 dev PKI (CA + one certificate per role) in {root / 'pki'}")
        pki = init_dev_pki(root / "pki", overwrite=True)
        config = write_dev_config(root / "gateway.toml", pki_dir=pki.directory, store_path=root / "cs.sqlite3")
        from .demo_counter import enrol_demo_operator, run_counter_step

        secret_file = enrol_demo_operator(config, root)
        print("== 2/4 starting the gateway (mTLS, SQLite store)")
        gateway = start_gateway_process(config)
        try:
            print(f"   listening on {gateway.target}")
            print("== 3/4 既存住基 simulator pushes the demo scenario")
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
            if code == 0:
                print("== 4/4 counter terminal: operator login (password + TOTP), lookup, searches")
                code = run_counter_step(gateway.target, pki, secret_file)
        finally:
            gateway.stop()
            print("== gateway stopped")
        return code
    finally:
        if not keep and workdir is None:
            shutil.rmtree(root, ignore_errors=True)
