"""Compare two versions of the gateway side by side: which one is faster, on a noisy machine.

The machine this project runs on changes speed by up to 1.5x within minutes, so two versions
measured one after the other can differ by more than any change between them. Here both run at
once (each from its own source tree, each with its own SQLite file) and the load alternates
between them in short windows (A, B, B, A, A, B, ...): a slow period hits both alike.

Usage: python bench/compare_gateways.py --a OTHER_TREE [--b THIS_TREE] [--windows N]
A tree is a checkout of this repository, e.g. ``git worktree add /tmp/base HEAD~1``.
The last line printed is ``ratio b_over_a_unary=X b_over_a_stream=Y`` (B's throughput / A's).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_apply import (  # noqa: E402
    RequestFactory,
    secure_channel,
    stream_load,
    unary_load,
)
from cs_gateway.process import GatewayProcess, start_gateway_process, write_dev_config  # noqa: E402
from pki.dev_pki import DevPki, init_dev_pki  # noqa: E402

# Configuration keys added after versions this is still run against (an older tree refuses a key
# it does not know); neither Apply nor Lookup depends on them.
NEWER_KEYS = ("municipality_name",)  # [gateway], since 2026-12-01 (b8b6872)


def without_newer_keys(config: Path) -> Path:
    """``config`` rewritten without NEWER_KEYS, so that both trees of a comparison can load it."""
    lines = config.read_text(encoding="utf-8").splitlines(keepends=True)
    config.write_text("".join(x for x in lines if x.split("=")[0].strip() not in NEWER_KEYS), encoding="utf-8")
    return config


def start_from_tree(tree: Path, config: Path) -> GatewayProcess:
    """`python -m cs_gateway serve` with the code of ``tree``: started in that folder (``-m``
    puts the working folder first on sys.path) with it as PYTHONPATH (for the writer process)."""
    saved_path, saved_cwd = os.environ.get("PYTHONPATH"), Path.cwd()
    os.environ["PYTHONPATH"] = str(tree)
    os.chdir(tree)
    try:
        return start_gateway_process(config)
    finally:
        os.chdir(saved_cwd)
        if saved_path is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved_path


def _code_of(pid: int) -> Path | None:
    """The folder a gateway imports cs_gateway from: its working folder (``python -m``)."""
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd")).resolve()
    except OSError:
        return None


async def compare(
    pki: DevPki, gateways: list[GatewayProcess], *, windows: int, duration: float, stream_updates: int
) -> tuple[list[list[float]], list[list[float]]]:
    factory = RequestFactory()
    channels = [secure_channel(pki, f"localhost:{gw.port}") for gw in gateways]
    unary: list[list[float]] = [[], []]
    stream: list[list[float]] = [[], []]
    try:
        for channel, gw in zip(channels, gateways, strict=True):
            await asyncio.wait_for(channel.channel_ready(), 15)
            _, checker = await stream_load(channel, server_pid=gw.process.pid, gateway=True, batch=factory.build(300))
            checker.require_clean("warm-up")
        for window in range(windows):
            for i in (0, 1) if window % 2 == 0 else (1, 0):
                pool = factory.build(int(6000 * (duration + 1)))
                measured, checker = await unary_load(
                    channels[i],
                    server_pid=gateways[i].process.pid,
                    gateway=True,
                    work=zip(pool.payloads, pool.request_ids, strict=True),
                    warmup=0.3,
                    duration=duration,
                )
                checker.require_clean("Apply")
                unary[i].append(measured.rate)
                measured, checker = await stream_load(
                    channels[i], server_pid=gateways[i].process.pid, gateway=True, batch=factory.build(stream_updates)
                )
                checker.require_clean("ApplyStream")
                stream[i].append(measured.rate)
            print(
                f"window {window + 1}: Apply A {unary[0][-1]:6.0f} B {unary[1][-1]:6.0f} calls/s | "
                f"ApplyStream A {stream[0][-1]:6.0f} B {stream[1][-1]:6.0f} updates/s",
                flush=True,
            )
    finally:
        for channel in channels:
            await channel.close()
    return unary, stream


def add_tree_arguments(parser: argparse.ArgumentParser) -> None:
    """--a and --b: the source trees of the two versions (B: this one by default)."""
    parser.add_argument("--a", type=Path, required=True, help="source tree of version A")
    parser.add_argument("--b", type=Path, default=ROOT, help="source tree of version B (default: this one)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="two gateway versions side by side, alternating load")
    add_tree_arguments(parser)
    parser.add_argument("--windows", type=int, default=6, help="alternations (default 6)")
    parser.add_argument("--duration", type=float, default=2.0, help="seconds of Apply load per window")
    parser.add_argument("--stream-updates", type=int, default=3000, help="updates per ApplyStream per window")
    args = parser.parse_args(argv)
    trees = [args.a.resolve(), args.b.resolve()]
    for tree in trees:
        if not (tree / "cs_gateway" / "__main__.py").is_file():
            parser.error(f"{tree} is not a checkout of cs-gateway")
    tmp = Path(tempfile.mkdtemp(prefix="cs-compare-"))
    gateways: list[GatewayProcess] = []
    try:
        pki = init_dev_pki(tmp / "pki")
        for name, tree in zip("ab", trees, strict=True):
            config = write_dev_config(tmp / f"{name}.toml", pki_dir=pki.directory, store_path=tmp / f"{name}.sqlite3")
            gateways.append(start_from_tree(tree, without_newer_keys(config)))
        for name, tree, gw in zip("AB", trees, gateways, strict=True):
            code = _code_of(gw.process.pid)
            if code != tree:
                raise SystemExit(f"FAIL: gateway {name} runs the code of {code}, not {tree}")
            print(f"{name} = {tree} (pid {gw.process.pid})")
        unary, stream = asyncio.run(
            compare(pki, gateways, windows=args.windows, duration=args.duration, stream_updates=args.stream_updates)
        )
    finally:
        for gw in gateways:
            gw.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    b_unary, b_stream = sum(unary[1]) / sum(unary[0]), sum(stream[1]) / sum(stream[0])
    print(f"ratio b_over_a_unary={b_unary:.3f} b_over_a_stream={b_stream:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
