"""Where a sequential Lookup's time goes, stage by stage (with stage_trace.patch applied to TREE).

The patch makes the gateway and its writer append ``<CLOCK_MONOTONIC ns> <stage>`` lines to
``$CS_TRACE.<pid>`` at each stage of a Lookup; this driver builds a store with the 初期移行, starts
TREE's gateway on it with CS_TRACE set, makes CALLS sequential lookups (stamping its own send and
receive), and prints each stage's p50/p90/p99 and its mean in the slowest 1% of calls. The patch
also carries two experiments, off unless set: CS_NOAUTOCKPT=1 (no WAL auto-checkpoint) and
CS_BGCKPT=1 (checkpoints in a thread of the writer instead).

Usage: PYTHONPATH=. python bench/experiments/stage_trace.py TREE [RECORDS] [CALLS]
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_lookup import Site, build_site, channel, login, lookup_calls  # noqa: E402
from bench.compare_gateways import start_from_tree  # noqa: E402
from cs_gateway.process import GatewayProcess  # noqa: E402
from pki.dev_pki import DevPki, init_dev_pki  # noqa: E402

STAGES = (
    "c_start", "g_wrap", "g_checked", "g_enter", "g_admitted", "g_send", "w_recv", "w_applied",
    "w_committed", "w_sent", "g_readable", "g_exit", "c_end",
)  # fmt: skip


async def _run(pki: DevPki, server: GatewayProcess, site: Site, records: int, count: int, fd: int) -> None:
    ch = channel(pki, server.port)
    calls = lookup_calls(ch, await login(ch, site.token), records, seed=1)
    for i in range(50):
        await calls.make(i)
    for i in range(count):
        os.write(fd, f"{time.perf_counter_ns()} c_start\n".encode())
        await calls.make(i)
        os.write(fd, f"{time.perf_counter_ns()} c_end\n".encode())
    await ch.close()


def report(prefix: str) -> None:
    events = sorted(
        (int(t), tag) for path in glob.glob(prefix + ".*") for t, tag in (line.split() for line in open(path))
    )
    first = min(t for t, tag in events if tag == "c_start")
    calls: list[dict[str, int]] = []
    current: dict[str, int] = {}
    for t, tag in events:
        if t < first:
            continue
        if tag == "c_start":
            current = {tag: t}
        else:
            current.setdefault(tag, t)
            if tag == "c_end" and all(s in current for s in STAGES):
                calls.append(current)
    whole = [(c["c_end"] - c["c_start"]) / 1e6 for c in calls]
    q = statistics.quantiles(whole, n=100)
    print(f"{len(calls)} calls: whole call p50 {statistics.median(whole):.3f} p90 {q[89]:.3f} p99 {q[98]:.3f} ms")
    slow = [c for c, w in zip(calls, whole, strict=True) if w >= q[98]]
    for a, b in zip(STAGES, STAGES[1:], strict=False):
        d = [(c[b] - c[a]) / 1e6 for c in calls]
        dq = statistics.quantiles(d, n=100)
        tail = statistics.mean((c[b] - c[a]) / 1e6 for c in slow)
        print(
            f"{a:>12} -> {b:<12} p50 {statistics.median(d):.3f} p90 {dq[89]:.3f} p99 {dq[98]:.3f}"
            f"  mean in the slowest 1% {tail:.3f}"
        )


def main() -> None:
    tree = Path(sys.argv[1]).resolve()
    records = int(sys.argv[2]) if len(sys.argv) > 2 else 30_000
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 2_000
    tmp = Path(tempfile.mkdtemp(prefix="cs-stage-trace-"))
    try:
        pki = init_dev_pki(tmp / "pki")
        site = build_site(tmp, pki, "a", records)
        prefix = str(tmp / "trace")
        os.environ["CS_TRACE"] = prefix
        server = start_from_tree(tree, site.config)
        fd = os.open(prefix + ".client", os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            asyncio.run(_run(pki, server, site, records, count, fd))
        finally:
            server.stop()
            os.close(fd)
        report(prefix)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":  # the import's worker processes re-import this module: run only here
    main()
