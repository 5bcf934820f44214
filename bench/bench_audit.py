"""Benchmark: the audit trail's share of the gateway's Apply work, measured in one run.

Two measurements, both in this run, neither reading anything the gateway logs:

1. the gateway (child process, SQLite store, dev PKI) under Apply at 32 in flight with valid
   転入 updates (every one must be accepted): its CPU time (the gateway and its writer process,
   all threads, from /proc) per update;
2. the audit trail alone, in this process, with the gateway's own configuration (HMAC key,
   checkpoints signed with the CS key every ``checkpoint_every``): the CPU time of appending the
   entry an accepted Apply writes (subject HMACs, the hash chain, the insert, the checkpoints),
   inside the store's real SQLite transaction adapter, in batches like the writer's.

The share is (2) over (1). The last line is ``ratio audit_share=X`` (target <= 0.15).

Usage: python bench/bench_audit.py [--duration S]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (str(ROOT), str(ROOT / "bench")):
    if path not in sys.path:
        sys.path.insert(0, path)

from bench_apply import (  # noqa: E402
    RequestFactory,
    process_cpu_seconds,
    secure_channel,
    unary_load,
)

from clients.synthetic import tennyu_request  # noqa: E402
from cs_gateway.config import GatewayConfig, load_config  # noqa: E402
from cs_gateway.process import start_gateway_process, write_dev_config  # noqa: E402
from pki.dev_pki import init_dev_pki  # noqa: E402


def audit_cpu_per_entry(config: GatewayConfig, folder: Path, entries: int = 6000, batch: int = 32) -> float:
    """CPU seconds per audit entry of an accepted Apply, appended through the store's transaction
    adapter (a fresh SQLite file in ``folder``) with the gateway's trail configuration."""
    from cs_gateway.audit.event import OK, Actor, AuditEvent
    from cs_gateway.audit.keys import load_or_create_hmac_key
    from cs_gateway.audit.spec import AuditSpec
    from cs_gateway.store.sqlite_tx import SqliteTransaction

    spec = AuditSpec(
        hmac_key=load_or_create_hmac_key(config.audit.hmac_key, may_create=False),
        signing_key=config.tls.key,
        signing_cert=config.tls.cert,
        checkpoint_every=config.audit.checkpoint_every,
    )
    tx = SqliteTransaction(folder / "audit-only.sqlite3", spec.build())
    actor = Actor(spiffe_id="spiffe://hirosaki.jukinet.test/kizon-juki/kizon-juki-01", peer="ipv4:127.0.0.1:50000")
    request = tennyu_request(1, request_prefix="bench")
    spent = 0.0
    entries -= entries % batch
    try:
        for first in range(0, entries, batch):
            tx.begin()
            started = time.process_time()
            for n in range(first, first + batch):
                tx.append_audit(
                    AuditEvent(
                        "/jukinet.cs.v1.UpdateService/Apply",
                        OK,
                        actor,
                        request_id=f"bench-{n:08d}",
                        subject_juminhyo_code=request.entry.juminhyo_code,
                        subject_individual_number=request.entry.individual_number,
                        update_seq=n + 1,
                    )
                )
            spent += time.process_time() - started
            tx.commit()
    finally:
        tx.close()
    return spent / entries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=8.0, help="measured seconds of Apply load")
    parser.add_argument("--warmup", type=float, default=1.0)
    args = parser.parse_args(argv)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    tmp = Path(tempfile.mkdtemp(prefix="cs-bench-audit-"))
    try:
        pki = init_dev_pki(tmp / "pki")
        config = write_dev_config(tmp / "gw.toml", pki_dir=pki.directory, store_path=tmp / "cs.sqlite3")
        log = tmp / "gateway.log"
        with open(log, "wb") as sink:
            gateway = start_gateway_process(config, stderr=sink.fileno())
            try:
                cpu_before = process_cpu_seconds(gateway.process.pid) or 0.0
                batch = RequestFactory().build(int(3000 * (args.duration + args.warmup + 2)))
                work = iter(zip(batch.payloads, batch.request_ids, strict=True))

                async def drive() -> tuple[float, int]:
                    channel = secure_channel(pki, gateway.target)
                    measured, checker = await unary_load(
                        channel,
                        server_pid=gateway.process.pid,
                        gateway=True,
                        work=work,
                        warmup=args.warmup,
                        duration=args.duration,
                    )
                    checker.require_clean("Apply")
                    await channel.close()
                    return measured.rate, checker.failures

                started = time.perf_counter()
                rate, _ = asyncio.run(drive())
                elapsed = time.perf_counter() - started
                cpu_after = process_cpu_seconds(gateway.process.pid) or 0.0
            finally:
                gateway.stop()
        updates = len(batch.payloads) - sum(1 for _ in work)  # every one accepted (checked)
        cpu_per_update = (cpu_after - cpu_before) / updates if updates else float("nan")
        audit_per_entry = audit_cpu_per_entry(load_config(config), tmp)
        share = audit_per_entry / cpu_per_update if cpu_per_update else float("nan")
        print(f"Apply {rate:.0f} calls/s over {elapsed:.1f}s; {updates} updates", flush=True)
        print(
            f"gateway CPU {cpu_per_update * 1e6:.0f} us per update; appending its audit entry "
            f"{audit_per_entry * 1e6:.1f} us",
            flush=True,
        )
        print(f"ratio audit_share={share:.3f}", flush=True)
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
