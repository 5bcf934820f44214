"""Benchmark: the counter terminal's Lookup and Search against the bare unary mTLS echo server of
bench_apply.py, in one run.

Two stores are built by the 初期移行 (``cs-gateway store import``'s code, from a synthetic JSON
Lines file): --small-records (10,000) and --records (1,000,000) persons. Each gets an operator
enrolled by the operator admin code (role shokai), the per-operator rate limit raised for the
bench (``[terminal] lookups_per_minute``), and its own gateway process; the bench logs in to
each with password + TOTP (pyotp) over a terminal certificate and then measures, alternating
echo / small / large in each round (best of the rounds):

* throughput at 32 calls in flight: the echo (a payload the size of a LookupResponse), Lookup by
  住民票コード of random residents on each store (every lookup audited durably before its answer,
  as the gateway always does);
* latency of one call at a time (p99): the echo, Lookup on the large store, and a 2-item 4情報
  Search (氏名 in kana + 生年月日 of a random resident) on the large store;
* the floor under that latency: the disk's flush alone, one durable write shaped like a
  sequential lookup's COMMIT (its WAL frames + fdatasync, beside the large store) at a time.
  It is printed with its p99 over the echo's, not part of the ratios.

Every lookup must find its resident and every search must include the resident it was built
from; anything else stops the benchmark. The last line is
``ratio lookup=A lookup_p99=B scale_1m_10k=C search_p99_over_lookup=D``: A = Lookup calls/s on
the large store / echo calls/s; B = Lookup p99 / echo p99 (both sequential); C = Lookup calls/s
on the large store / on the small one; D = Search p99 / Lookup p99 (large store).

Usage: python bench/bench_lookup.py [--records N] [--small-records N] [--rounds N] [--duration S]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import grpc

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_apply import (  # noqa: E402
    CONCURRENCY,
    ECHO_UNARY,
    Measurement,
    Series,
    measure_window,
    start_echo_process,
)
from clients.synthetic import juminhyo_code_of, synthetic_entry  # noqa: E402
from clients.synthetic_import import write_import_file  # noqa: E402
from cs_gateway import operator_commands  # noqa: E402
from cs_gateway.config import load_config  # noqa: E402
from cs_gateway.gen.jukinet.cs.v1 import terminal_service_pb2 as tpb  # noqa: E402
from cs_gateway.import_command import run_import  # noqa: E402
from cs_gateway.process import GatewayProcess, start_gateway_process, write_dev_config  # noqa: E402
from cs_gateway.security.operator_auth import totp_code  # noqa: E402
from cs_gateway.security.sessions import METADATA_KEY  # noqa: E402
from pki.dev_pki import DevPki, init_dev_pki  # noqa: E402

ROLE = "terminal"
OPERATOR = "bench-op"
PASSWORD = "bench password 0123"
LOOKUP = "/jukinet.cs.v1.TerminalService/Lookup"
SEARCH = "/jukinet.cs.v1.TerminalService/Search"
LOGIN = "/jukinet.cs.v1.TerminalService/Login"
# A sequential lookup's COMMIT appends ~3.9 WAL frames (the audit entry and its indexes; measured
# on the writer's connection), into a WAL reused from its start after each checkpoint (SQLite's
# default: every 1,000 pages).
FLUSH_PAGES = 4
FLUSH_FILE_PAGES = 1000
TERMINAL_CONFIG = "\n[terminal]\nlookups_per_minute = 1000000000\n"  # the bench is bulk extraction on purpose


def _say(text: str) -> None:
    print(text, flush=True)


def _identity(data: bytes) -> bytes:
    return data


@dataclass
class Site:
    """One store with its gateway process and a logged-in operator."""

    label: str
    records: int
    config: Path
    gateway: GatewayProcess | None = None
    token: str = ""
    import_s: float = 0.0


def build_site(root: Path, pki: DevPki, label: str, records: int) -> Site:
    folder = root / label
    folder.mkdir()
    config_path = write_dev_config(folder / "gw.toml", pki_dir=pki.directory, store_path=folder / "cs.sqlite3")
    config_path.write_text(config_path.read_text() + TERMINAL_CONFIG)
    config = load_config(config_path)
    started = time.perf_counter()
    file = write_import_file(folder / "residents.jsonl", records)
    generated = time.perf_counter() - started
    summary = run_import(config, file)
    file.unlink()
    _say(f"{label}: {records} records: file written in {generated:.1f} s, imported in {summary.seconds:.1f} s")
    _, uri = operator_commands.add(config, OPERATOR, "shokai", PASSWORD)
    site = Site(label, records, config_path, import_s=summary.seconds)
    site.token = parse_qs(urlparse(uri).query)["secret"][0]  # the TOTP secret until login
    return site


def channel(pki: DevPki, port: int) -> grpc.aio.Channel:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=pki.ca_cert_path.read_bytes(),
        private_key=pki.key_path(ROLE).read_bytes(),
        certificate_chain=pki.cert_path(ROLE).read_bytes(),
    )
    return grpc.aio.secure_channel(f"localhost:{port}", credentials)


async def login(ch: grpc.aio.Channel, secret: str) -> str:
    call = ch.unary_unary(
        LOGIN, request_serializer=tpb.LoginRequest.SerializeToString, response_deserializer=tpb.LoginResponse.FromString
    )
    reply = await call(
        tpb.LoginRequest(operator_id=OPERATOR, password=PASSWORD, totp_code=totp_code(secret, time.time())), timeout=60
    )
    return reply.session_token


# -- the calls ----------------------------------------------------------------------------------


class Calls:
    """One kind of call with its check: a coroutine making call number i."""

    def __init__(self, make: Callable[[int], object], what: str) -> None:
        self.make = make
        self.what = what


def lookup_calls(ch: grpc.aio.Channel, token: str, records: int, seed: int, count: int = 20_000) -> Calls:
    """Lookups of random residents; the requests are built before timing starts (as bench_apply.py
    does), so the load generator's share of the two cores is gRPC and the check of each answer."""
    call = ch.unary_unary(
        LOOKUP,
        request_serializer=tpb.LookupRequest.SerializeToString,
        response_deserializer=tpb.LookupResponse.FromString,
    )
    rng = random.Random(seed)
    requests = [
        tpb.LookupRequest(juminhyo_code=juminhyo_code_of(rng.randrange(records)), purpose=tpb.PURPOSE_IDENTITY_CHECK)
        for _ in range(count)
    ]
    metadata = ((METADATA_KEY, token),)
    picked = itertools.count()

    async def one(_i: int) -> None:
        request = requests[next(picked) % count]
        reply = await call(request, metadata=metadata)
        if reply.record.juminhyo_code != request.juminhyo_code or not reply.individual_number_masked:
            raise SystemExit("FAIL: a lookup answered another resident or an unmasked 個人番号")

    return Calls(one, "lookup")


def search_calls(ch: grpc.aio.Channel, token: str, records: int, seed: int, found: list[int]) -> Calls:
    call = ch.unary_unary(
        SEARCH,
        request_serializer=tpb.SearchRequest.SerializeToString,
        response_deserializer=tpb.SearchResponse.FromString,
    )
    rng = random.Random(seed)
    metadata = ((METADATA_KEY, token),)

    async def one(_i: int) -> None:
        i = rng.randrange(records)
        entry = synthetic_entry(i)
        request = tpb.SearchRequest(
            purpose=tpb.PURPOSE_IDENTITY_CHECK, name=entry.name_kana, birth_date=entry.birth_date
        )
        reply = await call(request, metadata=metadata)
        if not reply.results or any(r.record.name_kana != entry.name_kana for r in reply.results):
            raise SystemExit("FAIL: a search found nobody, or someone of another name")
        found.append(len(reply.results) * (-1 if reply.more_found else 1))

    return Calls(one, "search")


def echo_calls(ch: grpc.aio.Channel, payload: bytes) -> Calls:
    call = ch.unary_unary(ECHO_UNARY, request_serializer=_identity, response_deserializer=_identity)

    async def one(_i: int) -> None:
        if await call(payload) != payload:
            raise SystemExit("FAIL: the echo returned other bytes")

    return Calls(one, "echo")


async def in_flight(calls: Calls, pid: int, warmup: float, duration: float) -> Measurement:
    """CONCURRENCY tasks, each one call at a time; calls/s over ``duration`` after ``warmup``."""
    done = 0
    stop = False

    async def worker() -> None:
        nonlocal done
        while not stop:
            await calls.make(done)
            done += 1

    tasks = [asyncio.create_task(worker()) for _ in range(CONCURRENCY)]
    measured = await measure_window(pid, warmup, duration, lambda: done)
    stop = True
    await asyncio.gather(*tasks)
    return measured


async def sequential(calls: Calls, count: int) -> list[float]:
    """Latencies (ms) of ``count`` calls made one after the other (after 20 unmeasured)."""
    for i in range(20):
        await calls.make(i)
    out = []
    for i in range(count):
        t0 = time.perf_counter()
        await calls.make(i)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def disk_flushes(folder: Path, count: int, pause: float = 0.002) -> list[float]:
    """Latencies (ms) of ``count`` durable writes like a sequential lookup's COMMIT and nothing
    else: FLUSH_PAGES 4 KiB pages appended in a preallocated file in ``folder`` (as WAL frames
    are; the file reused from its start, as the WAL is) and one fdatasync, a ``pause`` apart.
    Every lookup is answered only once such a write is durable: this is the floor under it."""
    path = folder / "flush-floor.bin"
    page = os.urandom(4096)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    out: list[float] = []
    try:
        os.pwrite(fd, bytes(4096 * FLUSH_FILE_PAGES), 0)
        os.fsync(fd)
        at = 0
        for _ in range(count):
            if at + FLUSH_PAGES > FLUSH_FILE_PAGES:
                at = 0
            t0 = time.perf_counter()
            for k in range(FLUSH_PAGES):
                os.pwrite(fd, page, (at + k) * 4096)
            os.fdatasync(fd)
            out.append((time.perf_counter() - t0) * 1000)
            at += FLUSH_PAGES
            time.sleep(pause)
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)
    return out


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


# -- driver -------------------------------------------------------------------------------------


async def run_bench(
    args: argparse.Namespace, pki: DevPki, echo_server: GatewayProcess, small: Site, large: Site
) -> str:
    echo_ch = channel(pki, echo_server.port)
    channels = {s.label: channel(pki, s.gateway.port) for s in (small, large)}  # type: ignore[union-attr]
    try:
        await asyncio.wait_for(echo_ch.channel_ready(), 15)
        for site in (small, large):
            site.token = await login(channels[site.label], site.token)
        lookups = {
            s.label: lookup_calls(channels[s.label], s.token, s.records, seed=n) for n, s in enumerate((small, large))
        }
        sample = await channels[large.label].unary_unary(
            LOOKUP, request_serializer=tpb.LookupRequest.SerializeToString, response_deserializer=_identity
        )(
            tpb.LookupRequest(juminhyo_code=juminhyo_code_of(0), purpose=tpb.PURPOSE_IDENTITY_CHECK),
            metadata=((METADATA_KEY, large.token),),
        )
        payload = bytes(sample)  # the echo carries a LookupResponse's bytes both ways
        _say(f"LookupResponse {len(payload)} bytes")
        echo = echo_calls(echo_ch, payload)
        found: list[int] = []
        search = search_calls(channels[large.label], large.token, large.records, 99, found)
        pids = {"echo": echo_server.process.pid}
        pids.update((s.label, s.gateway.process.pid) for s in (small, large))  # type: ignore[union-attr]
        rate = {
            "echo": Series("echo unary", "calls/s"),
            small.label: Series(f"lookup {small.label}", "calls/s"),
            large.label: Series(f"lookup {large.label}", "calls/s"),
        }
        lat: dict[str, list[float]] = {"echo": [], "lookup": [], "search": [], "disk": []}
        for rnd in range(1, args.rounds + 1):
            rate["echo"].add(rnd, await in_flight(echo, pids["echo"], args.warmup, args.duration))
            for site in (small, large):
                measured = await in_flight(lookups[site.label], pids[site.label], args.warmup, args.duration)
                rate[site.label].add(rnd, measured)
            for key, calls in (("echo", echo), ("lookup", lookups[large.label]), ("search", search)):
                got = await sequential(calls, args.sequential)
                lat[key].extend(got)
                _say(
                    f"round {rnd}: sequential {key:<7} p50 {statistics.median(got):6.2f} ms  "
                    f"p99 {p99(got):6.2f} ms  ({len(got)} calls)"
                )
            got = await asyncio.to_thread(disk_flushes, large.config.parent, args.sequential)
            lat["disk"].extend(got)
            _say(f"round {rnd}: disk flush alone p50 {statistics.median(got):6.2f} ms  p99 {p99(got):6.2f} ms")
    finally:
        await echo_ch.close()
        for ch in channels.values():
            await ch.close()
    _say("--- summary (best of rounds for rates; p99 over every sequential call)")
    for series in rate.values():
        _say(series.summary())
    for key, values in lat.items():
        _say(f"sequential {key:<7} p50 {statistics.median(values):6.2f} ms  p99 {p99(values):6.2f} ms")
    _say(
        f"floor: the disk's flush alone has a p99 {p99(lat['disk']) / p99(lat['echo']):.2f}x the echo's "
        f"(a lookup's is that flush and everything else)"
    )
    capped = sum(1 for n in found if n < 0)
    _say(
        f"search: 氏名(kana)+生年月日, {statistics.mean(abs(n) for n in found):.1f} results shown on average, "
        f"{capped} of {len(found)} capped with more_found"
    )
    _say(f"import: {large.records} records in {large.import_s:.1f} s, {small.records} in {small.import_s:.1f} s")
    a = rate[large.label].best / rate["echo"].best
    b = p99(lat["lookup"]) / p99(lat["echo"])
    c = rate[large.label].best / rate[small.label].best
    d = p99(lat["search"]) / p99(lat["lookup"])
    return f"ratio lookup={a:.2f} lookup_p99={b:.2f} scale_1m_10k={c:.2f} search_p99_over_lookup={d:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Lookup/Search against a bare mTLS echo server")
    parser.add_argument("--records", type=int, default=1_000_000, help="persons in the large store")
    parser.add_argument("--small-records", type=int, default=10_000, help="persons in the small store")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--sequential", type=int, default=500, help="sequential calls per kind and round")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (PKI, stores, logs)")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    tmp = Path(tempfile.mkdtemp(prefix="cs-bench-lookup-"))
    pki = init_dev_pki(tmp / "pki")
    servers: list[GatewayProcess] = []
    try:
        small = build_site(tmp, pki, f"{args.small_records}-store", args.small_records)
        large = build_site(tmp, pki, f"{args.records}-store", args.records)
        echo = start_echo_process(small.config)
        servers.append(echo)
        for site in (small, large):
            with open(tmp / f"{site.label}.log", "wb") as log:
                site.gateway = start_gateway_process(site.config, stderr=log.fileno())
            servers.append(site.gateway)
        _say(
            f"{CONCURRENCY} in flight for {args.duration:g}s after {args.warmup:g}s; {args.sequential} sequential "
            f"calls per kind; {args.rounds} rounds; {os.cpu_count()} CPUs"
        )
        last = asyncio.run(run_bench(args, pki, echo, small, large))
    finally:
        for server in reversed(servers):
            server.stop()
        if args.keep:
            _say(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    _say(f"({time.perf_counter() - began:.0f} s in all)")
    _say(last)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
