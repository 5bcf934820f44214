"""Benchmark: the gateway's UpdateService.Apply / ApplyStream against a bare mTLS echo server.

Both servers run in their own child process; this process is the load generator (grpc.aio, one
secure channel each, kizon-juki client certificate). The echo server has the same TLS setup
(``grpc.ssl_server_credentials(..., require_client_auth=True)`` with the dev PKI's cs cert) and the
gateway's channel options, and echoes the bytes of a representative UpdateRequest.

Every gateway request is a valid 転入 of a new person and must be accepted: any refusal or error
stops the benchmark. Measurements alternate echo / gateway; the best of each is compared.
The last line printed is ``ratio apply_unary=X apply_stream=Y`` (gateway / echo throughput).

Usage: python bench/bench_apply.py [--rounds N] [--duration S] [--stream-updates N] [--budget S]
(the script is also the echo server child: ``--echo-server CONFIG``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from clients.synthetic import tennyu_request  # noqa: E402
from cs_gateway.config import load_config  # noqa: E402
from cs_gateway.domain.check_digit import make_individual_number, make_juminhyo_code  # noqa: E402
from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2 as upb  # noqa: E402
from cs_gateway.metrics_listener import sample, scrape  # noqa: E402
from cs_gateway.process import (  # noqa: E402
    GatewayProcess,
    start_gateway_process,
    start_listening_process,
    write_dev_config,
)
from cs_gateway.server import server_options  # noqa: E402
from pki.dev_pki import DevPki, init_dev_pki  # noqa: E402

CONCURRENCY = 32  # unary calls in flight
CLIENT_ROLE = "kizon-juki"
ECHO_SERVICE = "bench.Echo"
ECHO_UNARY = f"/{ECHO_SERVICE}/Unary"
ECHO_STREAM = f"/{ECHO_SERVICE}/Stream"
GW_APPLY = "/jukinet.cs.v1.UpdateService/Apply"
GW_APPLY_STREAM = "/jukinet.cs.v1.UpdateService/ApplyStream"
_ECHO_LISTENING = re.compile(r"echo listening on (\S+):(\d+)")
_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# -- the echo server (child process) ----------------------------------------------------------


async def _serve_echo(config_path: Path) -> None:
    config = load_config(config_path)
    tls = config.tls

    async def unary(request: bytes, _context: grpc.aio.ServicerContext) -> bytes:
        return request

    async def stream(request_iterator, _context: grpc.aio.ServicerContext):  # noqa: ANN001, ANN202
        async for request in request_iterator:
            yield request

    handler = grpc.method_handlers_generic_handler(
        ECHO_SERVICE,
        {  # no (de)serializers: bytes in, the same bytes out
            "Unary": grpc.unary_unary_rpc_method_handler(unary),
            "Stream": grpc.stream_stream_rpc_method_handler(stream),
        },
    )
    server = grpc.aio.server(options=server_options(config))
    server.add_generic_rpc_handlers((handler,))
    credentials = grpc.ssl_server_credentials(
        [(tls.key.read_bytes(), tls.cert.read_bytes())],
        root_certificates=tls.ca.read_bytes(),
        require_client_auth=True,
    )
    port = server.add_secure_port(config.listen, credentials)
    await server.start()
    print(f"echo listening on {config.listen.rpartition(':')[0]}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(0)


def start_echo_process(config: Path, timeout: float = 30.0) -> GatewayProcess:
    """Run this script as ``--echo-server`` in a child process (like start_gateway_process)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--echo-server", str(config)]
    return start_listening_process(command, _ECHO_LISTENING, what="the echo server", timeout=timeout)


def process_cpu_seconds(pid: int) -> float | None:
    """user+system CPU time of a process and its live descendants (all threads; the gateway's
    store writer process included), or None where /proc is unavailable."""
    total = 0.0
    for member in _process_tree(pid):
        try:
            with open(f"/proc/{member}/stat", encoding="ascii") as fh:
                fields = fh.read().rpartition(")")[2].split()
        except OSError:
            if member == pid:
                return None
            continue
        total += (int(fields[11]) + int(fields[12])) / _CLK_TCK
    return total


def _process_tree(pid: int) -> list[int]:
    """pid and its descendants, from /proc/<pid>/task/*/children."""
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as fh:
                    todo.extend(int(child) for child in fh.read().split())
            except OSError:
                continue
    return tree


# -- requests -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    payloads: list[bytes]  # serialized UpdateRequests
    request_ids: list[str]


class RequestFactory:
    """Serialized 転入 requests, each for a new person (unique 住民票コード, 個人番号, request_id)."""

    def __init__(self, start: int = 1) -> None:
        self._next = start
        self._message = tennyu_request(0, request_prefix="bench")  # the synthetic 弘前市 resident

    def build(self, count: int) -> Batch:
        msg = self._message
        payloads: list[bytes] = []
        ids: list[str] = []
        for i in range(self._next, self._next + count):
            msg.request_id = f"bench-{i:010d}"
            msg.entry.juminhyo_code = make_juminhyo_code(f"{i:010d}")
            msg.entry.individual_number = make_individual_number(f"{i:011d}")
            payloads.append(msg.SerializeToString())
            ids.append(msg.request_id)
        self._next += count
        return Batch(payloads, ids)


# -- load ---------------------------------------------------------------------------------------


@dataclass
class Checker:
    """Counts responses that are not what they should be: a refusal, an error, a wrong echo."""

    failures: int = 0
    examples: list[str] = field(default_factory=list)

    def fail(self, what: str) -> None:
        self.failures += 1
        if len(self.examples) < 5:
            self.examples.append(what)

    def gateway(self, response: upb.UpdateResult, request_id: str) -> None:
        if response.WhichOneof("outcome") != "record":
            self.fail(f"{request_id}: refused {response.refusal.reason} ({response.refusal.field})")
        elif response.replayed or response.request_id != request_id or response.record.update_seq <= 0:
            self.fail(f"{request_id}: unexpected result for {response.request_id!r} (replayed={response.replayed})")

    def require_clean(self, what: str) -> None:
        if self.failures:
            raise SystemExit(f"FAIL: {what}: {self.failures} requests refused or failed, e.g. {self.examples}")


def _identity(data: bytes) -> bytes:
    return data


@dataclass(frozen=True)
class Measurement:
    rate: float  # calls/s or messages/s
    server_cpu_us: float | None  # server process CPU per call/message (the gateway's writer included)
    client_cpu_us: float  # this process's CPU (the load generator) per call/message


async def unary_load(
    channel: grpc.aio.Channel,
    *,
    server_pid: int,
    gateway: bool,
    work: Iterator[tuple[bytes, str]],
    warmup: float,
    duration: float,
) -> tuple[Measurement, Checker]:
    """CONCURRENCY tasks, each looping one call at a time; calls/s over `duration` after `warmup`."""
    call = channel.unary_unary(
        GW_APPLY if gateway else ECHO_UNARY,
        request_serializer=_identity,
        response_deserializer=upb.UpdateResult.FromString if gateway else _identity,
    )
    checker = Checker()
    done = 0
    stop = False

    async def worker() -> None:
        nonlocal done
        while not stop:
            try:
                payload, request_id = next(work)
            except StopIteration:
                raise RuntimeError("request pool exhausted: raise --pool-rate") from None
            try:
                response = await call(payload)
            except grpc.aio.AioRpcError as err:
                checker.fail(f"{request_id}: {err.code().name} {err.details()}")
                continue
            if gateway:
                checker.gateway(response, request_id)
            elif response != payload:
                checker.fail("echo returned other bytes")
            done += 1

    tasks = [asyncio.create_task(worker()) for _ in range(CONCURRENCY)]
    measured = await measure_window(server_pid, warmup, duration, lambda: done)
    stop = True
    await asyncio.gather(*tasks)
    return measured, checker


async def measure_window(server_pid: int, warmup: float, duration: float, done: Callable[[], int]) -> Measurement:
    """While the load runs: calls/s over ``duration`` after ``warmup`` (``done()``: calls so far),
    with the server's and this process's CPU per call."""
    await asyncio.sleep(warmup)
    count0, cpu0, own0, t0 = done(), process_cpu_seconds(server_pid), time.process_time(), time.perf_counter()
    await asyncio.sleep(duration)
    count1, cpu1, own1, t1 = done(), process_cpu_seconds(server_pid), time.process_time(), time.perf_counter()
    calls = count1 - count0
    cpu = (cpu1 - cpu0) / calls * 1e6 if cpu0 is not None and cpu1 is not None and calls else None
    return Measurement(calls / (t1 - t0), cpu, (own1 - own0) / max(calls, 1) * 1e6)


async def stream_load(
    channel: grpc.aio.Channel, *, server_pid: int, gateway: bool, batch: Batch
) -> tuple[Measurement, Checker]:
    """One stream call: send every request as fast as possible; msgs/s until the last result."""
    method = channel.stream_stream(
        GW_APPLY_STREAM if gateway else ECHO_STREAM,
        request_serializer=_identity,
        response_deserializer=upb.UpdateResult.FromString if gateway else _identity,
    )
    checker = Checker()
    expected = iter(batch.request_ids)
    payloads = iter(batch.payloads)
    received = 0
    cpu0, own0, t0 = process_cpu_seconds(server_pid), time.process_time(), time.perf_counter()
    async for response in method(iter(batch.payloads)):
        request_id = next(expected, "?")
        if gateway:
            checker.gateway(response, request_id)
        elif response != next(payloads, None):
            checker.fail("echo returned other bytes")
        received += 1
    cpu1, own1, t1 = process_cpu_seconds(server_pid), time.process_time(), time.perf_counter()
    if received != len(batch.payloads):
        checker.fail(f"stream returned {received} results for {len(batch.payloads)} requests")
    cpu = (cpu1 - cpu0) / received * 1e6 if cpu0 is not None and cpu1 is not None and received else None
    return Measurement(received / (t1 - t0), cpu, (own1 - own0) / max(received, 1) * 1e6), checker


def secure_channel(pki: DevPki, target: str) -> grpc.aio.Channel:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=pki.ca_cert_path.read_bytes(),
        private_key=pki.key_path(CLIENT_ROLE).read_bytes(),
        certificate_chain=pki.cert_path(CLIENT_ROLE).read_bytes(),
    )
    return grpc.aio.secure_channel(target, credentials)


def _repeat(payload: bytes) -> Iterator[tuple[bytes, str]]:
    while True:
        yield payload, ""


# -- driver -------------------------------------------------------------------------------------


@dataclass
class Series:
    label: str
    unit: str
    runs: list[Measurement] = field(default_factory=list)

    @property
    def best(self) -> float:
        return max(m.rate for m in self.runs)

    @property
    def median(self) -> float:
        return statistics.median(m.rate for m in self.runs)

    def cpu(self) -> str:
        values = [m.server_cpu_us for m in self.runs if m.server_cpu_us is not None]
        return f"  server CPU {statistics.median(values):5.0f} us/msg" if values else ""

    def add(self, rnd: int, measurement: Measurement) -> None:
        self.runs.append(measurement)
        parts = [] if measurement.server_cpu_us is None else [f"server CPU {measurement.server_cpu_us:5.0f} us/msg"]
        parts.append(f"load generator {measurement.client_cpu_us:4.0f} us/msg")
        _say(f"round {rnd}: {self.label:<20} {measurement.rate:8.0f} {self.unit}  ({', '.join(parts)})")

    def summary(self) -> str:
        return f"{self.label:<20} best {self.best:8.0f}  median {self.median:8.0f} {self.unit:<10}{self.cpu()}"


def _say(text: str) -> None:
    print(text, flush=True)


async def run_bench(
    args: argparse.Namespace, pki: DevPki, echo: GatewayProcess, gw: GatewayProcess, began: float
) -> list[Series]:
    factory = RequestFactory()
    sample = factory.build(1).payloads[0]  # a representative UpdateRequest: the echo's payload
    reply = await _one_apply(pki, gw.port, factory.build(1))
    _say(f"UpdateRequest {len(sample)} bytes, UpdateResult {reply} bytes")
    echo_unary = Series("echo unary", "calls/s")
    gw_unary = Series("gateway Apply", "calls/s")
    echo_stream = Series("echo stream", "msgs/s")
    gw_stream = Series("gateway ApplyStream", "updates/s")
    echo_ch = secure_channel(pki, f"localhost:{echo.port}")
    gw_ch = secure_channel(pki, f"localhost:{gw.port}")
    try:
        await asyncio.wait_for(echo_ch.channel_ready(), 15)
        await asyncio.wait_for(gw_ch.channel_ready(), 15)
        # Warm both paths (lazy imports, first-call setup, SQLite pages).
        _, checker = await stream_load(gw_ch, server_pid=gw.process.pid, gateway=True, batch=factory.build(300))
        checker.require_clean("gateway warm-up stream")
        await stream_load(echo_ch, server_pid=echo.process.pid, gateway=False, batch=_echo_batch(sample, 300))

        pool_size = max(2000, int(args.pool_rate * (args.warmup + args.duration + 1)))
        round_seconds = 0.0
        for rnd in range(1, args.rounds + 1):
            elapsed = time.perf_counter() - began
            if rnd > 2 and elapsed + round_seconds > args.budget:
                _say(f"(stopping after {rnd - 1} rounds to stay within the {args.budget:g}s budget)")
                break
            round_began = time.perf_counter()
            unary_pool = factory.build(pool_size)  # built before timing starts
            stream_batch = factory.build(args.stream_updates)
            echo_stream_batch = _echo_batch(sample, args.stream_updates)

            measured, _ = await unary_load(
                echo_ch,
                server_pid=echo.process.pid,
                gateway=False,
                work=_repeat(sample),
                warmup=args.warmup,
                duration=args.duration,
            )
            echo_unary.add(rnd, measured)

            measured, checker = await unary_load(
                gw_ch,
                server_pid=gw.process.pid,
                gateway=True,
                work=zip(unary_pool.payloads, unary_pool.request_ids, strict=True),
                warmup=args.warmup,
                duration=args.duration,
            )
            checker.require_clean("gateway Apply")
            gw_unary.add(rnd, measured)

            measured, _ = await stream_load(
                echo_ch, server_pid=echo.process.pid, gateway=False, batch=echo_stream_batch
            )
            echo_stream.add(rnd, measured)

            measured, checker = await stream_load(gw_ch, server_pid=gw.process.pid, gateway=True, batch=stream_batch)
            checker.require_clean("gateway ApplyStream")
            gw_stream.add(rnd, measured)
            round_seconds = time.perf_counter() - round_began
    finally:
        await echo_ch.close()
        await gw_ch.close()
    return [echo_unary, gw_unary, echo_stream, gw_stream]


def _echo_batch(payload: bytes, count: int) -> Batch:
    return Batch([payload] * count, [""] * count)


async def _one_apply(pki: DevPki, port: int, batch: Batch) -> int:
    """One Apply through a throwaway channel: the server works, and the reply's size."""
    async with secure_channel(pki, f"localhost:{port}") as channel:
        call = channel.unary_unary(GW_APPLY, request_serializer=_identity, response_deserializer=_identity)
        try:
            raw = await asyncio.wait_for(call(batch.payloads[0]), 15)
        except grpc.aio.AioRpcError as err:
            raise SystemExit(f"FAIL: first Apply: {err.code().name} {err.details()}") from None
    checker = Checker()
    checker.gateway(upb.UpdateResult.FromString(raw), batch.request_ids[0])
    checker.require_clean("first Apply")
    return len(raw)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _writer_figures(gw: GatewayProcess) -> str:
    """The gateway's own account of the run, from its /metrics (never from its log)."""
    if gw.metrics_url is None:
        return "gateway printed no metrics address"
    samples = scrape(gw.metrics_url)
    batches = sample(samples, "cs_gateway_store_batch_size_count")
    jobs = sample(samples, "cs_gateway_store_batch_size_sum")
    seconds = sample(samples, "cs_gateway_store_batch_commit_seconds_sum")
    if not batches:
        return "gateway metrics: no batch committed"
    return (
        f"gateway metrics: {jobs:.0f} jobs in {batches:.0f} batches (mean {jobs / batches:.1f}), "
        f"mean batch commit {seconds / batches * 1000:.2f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Apply/ApplyStream throughput vs a bare mTLS echo server")
    parser.add_argument("--echo-server", type=Path, metavar="CONFIG", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=3, help="echo/gateway alternations (default 3)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unary warm-up seconds per measurement")
    parser.add_argument("--duration", type=float, default=5.0, help="unary measured seconds per measurement")
    parser.add_argument("--stream-updates", type=int, default=5000, help="updates per ApplyStream call")
    parser.add_argument("--pool-rate", type=float, default=6000.0, help="Apply requests built per second of load")
    parser.add_argument("--budget", type=float, default=80.0, help="no round 3+ would end after this many seconds")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (PKI, config, SQLite, log)")
    args = parser.parse_args(argv)
    if args.echo_server is not None:
        asyncio.run(_serve_echo(args.echo_server))
        return 0

    began = time.perf_counter()
    # The children (`python -m cs_gateway`, the echo server) import from this checkout too.
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    tmp = Path(tempfile.mkdtemp(prefix="cs-bench-"))
    log_path = tmp / "gateway.log"
    pki = init_dev_pki(tmp / "pki")
    config = write_dev_config(tmp / "gw.toml", pki_dir=pki.directory, store_path=tmp / "cs.sqlite3")
    servers: list[GatewayProcess] = []
    try:
        with open(log_path, "wb") as log:
            try:
                servers.append(start_echo_process(config))
                servers.append(start_gateway_process(config, stderr=log.fileno()))
                echo, gw = servers
                _say(
                    f"echo pid {echo.process.pid}, gateway pid {gw.process.pid}; {CONCURRENCY} unary in flight for "
                    f"{args.duration:g}s after {args.warmup:g}s warm-up; stream of {args.stream_updates}; "
                    f"{args.rounds} rounds; {os.cpu_count()} CPUs"
                )
                series = asyncio.run(run_bench(args, pki, echo, gw, began))
                writer = _writer_figures(gw)
            except BaseException:
                _say(f"gateway log ({log_path}):\n{_tail(log_path)}")
                raise
            finally:
                for server in reversed(servers):
                    server.stop()
    finally:
        if args.keep:
            _say(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    echo_unary, gw_unary, echo_stream, gw_stream = series
    _say(f"--- summary ({time.perf_counter() - began:.0f}s; best and median of {len(gw_unary.runs)} rounds)")
    for s in series:
        _say(s.summary())
    _say(writer)
    _say(
        f"median ratio apply_unary={gw_unary.median / echo_unary.median:.2f} "
        f"apply_stream={gw_stream.median / echo_stream.median:.2f}"
    )
    unary, stream = gw_unary.best / echo_unary.best, gw_stream.best / echo_stream.best
    _say(f"ratio apply_unary={unary:.2f} apply_stream={stream:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
