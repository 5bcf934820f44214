"""Benchmark: the audit trail's share of the gateway's Apply work, measured in one run.

Starts the gateway (child process, SQLite store, dev PKI), drives Apply at 32 in flight with
valid 転入 updates (every one must be accepted), then scrapes its Prometheus metrics
(``/metrics``): the seconds spent appending audit entries (HMACs of the subjects, the hash chain,
the insert, the signed checkpoints) inside the store's transactions (in the store's writer
process), and the commits. The share is that time over the CPU time of the gateway and its writer
process during the load (all threads), so the baseline is the same gateway in the same run.
The last line is ``ratio audit_share=X`` (target <= 0.15).

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

from cs_gateway.metrics_listener import Samples, sample, scrape  # noqa: E402
from cs_gateway.process import GatewayProcess, start_gateway_process, write_dev_config  # noqa: E402
from pki.dev_pki import init_dev_pki  # noqa: E402


def _metrics(gateway: GatewayProcess, log: Path) -> Samples:
    if gateway.metrics_url is None:
        raise SystemExit(f"FAIL: the gateway printed no metrics address (log: {log})")
    return scrape(gateway.metrics_url)


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
                metrics = _metrics(gateway, log)
            finally:
                gateway.stop()
        audit_seconds = sample(metrics, "cs_gateway_audit_append_seconds_total")
        commits = int(sample(metrics, "cs_gateway_store_batch_commit_seconds_count"))
        cpu = cpu_after - cpu_before
        share = audit_seconds / cpu if cpu else float("nan")
        print(f"Apply {rate:.0f} calls/s over {elapsed:.1f}s; {commits} commits", flush=True)
        print(f"gateway CPU {cpu:.2f}s, of which appending audit entries {audit_seconds:.2f}s", flush=True)
        print(f"ratio audit_share={share:.3f}", flush=True)
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
