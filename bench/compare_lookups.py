"""Compare two versions of the gateway's counter Lookup side by side, on a noisy machine.

As compare_gateways.py does for Apply: both versions run at once, each from its own source tree
on its own copy of one store (built once by the 初期移行 with this tree's code, then copied file
by file), and the load alternates between them in short windows (A, B, B, A, ...) so that a slow
period of the machine hits both alike. Each window is 32 Lookups in flight by 住民票コード of
random residents (each audited durably, as always), or with ``--sequential`` one at a time.

Usage: python bench/compare_lookups.py --a OTHER_TREE [--b THIS_TREE] [--records N] [--windows N]
The last line is ``ratio b_over_a_lookup=X`` (B's lookups/s / A's, median over the windows), or
with ``--sequential`` ``ratio b_over_a_lookup_p50=X b_over_a_lookup_p99=Y`` (B's latency / A's).
Both trees must read the store this tree writes (the same schema version).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_apply import CONCURRENCY  # noqa: E402
from bench.bench_lookup import Calls, Site, build_site, channel, login, lookup_calls, p99, sequential  # noqa: E402
from bench.compare_gateways import add_tree_arguments, start_from_tree, without_newer_keys  # noqa: E402
from cs_gateway.process import GatewayProcess  # noqa: E402
from pki.dev_pki import DevPki, init_dev_pki  # noqa: E402


def copy_site(site: Site, folder: Path) -> Path:
    """The site's config and store files under ``folder`` (same PKI, same operator): its config."""
    source = site.config.parent
    folder.mkdir()
    for path in source.iterdir():
        if path.is_file() and path.suffix != ".toml":
            shutil.copy2(path, folder / path.name)
    text = site.config.read_text().replace(str(source), str(folder))
    config = folder / site.config.name
    config.write_text(text)
    return config


async def rate(calls: Calls, seconds: float) -> float:
    done = 0
    end = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < end:
            await calls.make(done)
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return done / (time.perf_counter() - started)


async def compare(pki: DevPki, servers: list[GatewayProcess], secret: str, args: argparse.Namespace) -> str:
    channels = [channel(pki, server.port) for server in servers]
    try:
        tokens = [await login(ch, secret) for ch in channels]  # one store each: the code is fresh for both
        pairs = enumerate(zip(channels, tokens, strict=True))
        calls = [lookup_calls(ch, token, args.records, seed=n) for n, (ch, token) in pairs]
        for c in calls:  # warm both
            await rate(c, 1.0)
        ratios: list[float] = []
        lat: list[list[float]] = [[], []]
        for window in range(args.windows):
            order = (0, 1) if window % 2 == 0 else (1, 0)
            got: dict[int, float] = {}
            for i in order:
                if args.sequential:
                    lat[i] += await sequential(calls[i], args.sequential)
                else:
                    got[i] = await rate(calls[i], args.duration)
            if not args.sequential:
                ratios.append(got[1] / got[0])
                print(f"window {window + 1}: A {got[0]:.0f}/s  B {got[1]:.0f}/s  B/A {got[1] / got[0]:.3f}", flush=True)
    finally:
        for ch in channels:
            await ch.close()
    if args.sequential:
        a50, b50 = statistics.median(lat[0]), statistics.median(lat[1])
        a99, b99 = p99(lat[0]), p99(lat[1])
        print(f"sequential A p50 {a50:.2f} ms p99 {a99:.2f} ms | B p50 {b50:.2f} ms p99 {b99:.2f} ms")
        return f"ratio b_over_a_lookup_p50={b50 / a50:.3f} b_over_a_lookup_p99={b99 / a99:.3f}"
    ahead = sum(r > 1 for r in ratios)
    print(f"B ahead in {ahead} of {len(ratios)} windows")
    return f"ratio b_over_a_lookup={statistics.median(ratios):.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="two gateway versions' Lookup side by side, alternating load")
    add_tree_arguments(parser)
    parser.add_argument("--records", type=int, default=200_000, help="persons in the store (default 200,000)")
    parser.add_argument("--windows", type=int, default=8, help="alternations (default 8)")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds of load per window")
    parser.add_argument("--sequential", type=int, default=0, help="instead: N sequential lookups per window")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="cs-compare-lookups-"))
    servers: list[GatewayProcess] = []
    try:
        pki = init_dev_pki(tmp / "pki")
        site = build_site(tmp, pki, "a", args.records)
        configs = [without_newer_keys(site.config), copy_site(site, tmp / "b")]
        for tree, config in zip((args.a, args.b), configs, strict=True):
            servers.append(start_from_tree(tree.resolve(), config))
        print(f"A = {args.a.resolve()}, B = {args.b.resolve()}; {args.records} records", flush=True)
        last = asyncio.run(compare(pki, servers, site.token, args))
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(last)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
