"""Profile the store's writer process under load: where its CPU time per update goes.

Starts the real writer process (store/writer_process.writer_main, the production command
registry, a real SQLite file, an audit trail with signed checkpoints every 1000 entries) under
cProfile, and feeds it what the gateway would: batches of valid 転入 updates as wire bytes
(EncodedWrite), two batches in flight, like ProcessWriter. No gRPC: this is the writer's share
only. Prints the functions with the most own time, and the cost per update of the writer's
main stages (cumulative time of the functions that make them).

Usage: PYTHONPATH=. python bench/profile_writer.py [--updates N] [--batch B] [--top K]
"""

from __future__ import annotations

import argparse
import cProfile
import multiprocessing
import pstats
import sys
import tempfile
import time
from datetime import date
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from clients.synthetic import tennyu_request  # noqa: E402
from cs_gateway.audit.event import Actor  # noqa: E402
from cs_gateway.audit.spec import AuditSpec  # noqa: E402
from cs_gateway.server import command_registry  # noqa: E402
from cs_gateway.store.commands import CommandRegistry  # noqa: E402
from cs_gateway.store.interface import EncodedWrite  # noqa: E402
from cs_gateway.store.writer_process import receive_message, send_message, writer_main  # noqa: E402
from pki.dev_pki import init_dev_pki  # noqa: E402

ACTOR = Actor(spiffe_id="spiffe://hirosaki.jukinet.test/kizon-juki/kizon-juki-01", peer="ipv4:127.0.0.1:50000")
APPLY = "/jukinet.cs.v1.UpdateService/Apply"
# The writer's stages: (label, the (file, function) pairs whose cumulative time makes it).
STAGES = (
    ("decode: parse the request, convert, format checks, fingerprint", (("update_codec.py", "decode"),)),
    ("logic checks (domain.logic_checks.decide, its reads included)", (("logic_checks.py", "decide"),)),
    ("the version's rows (put_version: SQL + JSON)", (("sqlite_tx.py", "put_version"),)),
    ("outbox + idempotency key", (("sqlite_tx.py", "enqueue_notice"), ("sqlite_tx.py", "remember_request"))),
    ("audit entry (HMACs, hash chain, insert, checkpoints)", (("sqlite_tx.py", "append_audit"),)),
    ("encode the reply (record -> proto -> bytes)", (("update_codec.py", "encode"),)),
    ("the pipe: receive batches, send results (pickling)", (("connection.py", "recv"), ("connection.py", "send"))),
)


def profiled_writer(conn: Connection, path: str, spec: AuditSpec, registry: CommandRegistry, out: str) -> None:
    profile = cProfile.Profile()
    profile.enable()
    try:
        writer_main(conn, path, spec, registry)
    finally:
        profile.disable()
        profile.dump_stats(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=64, help="updates per batch (the gateway's batches vary)")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cs-profile-") as tmp:
        folder = Path(tmp)
        pki = init_dev_pki(folder / "pki")
        spec = AuditSpec(hmac_key=b"k" * 32, signing_key=pki.key_path("cs"), signing_cert=pki.cert_path("cs"))
        today = date.today()
        jobs = [
            EncodedWrite(tennyu_request(i, request_prefix="prof").SerializeToString(), ACTOR, APPLY, today, False)
            for i in range(args.updates)
        ]
        batches = [jobs[k : k + args.batch] for k in range(0, len(jobs), args.batch)]
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        stats_file = str(folder / "writer.prof")
        registry = command_registry("022021")
        process = context.Process(
            target=profiled_writer, args=(child, str(folder / "cs.sqlite3"), spec, registry, stats_file)
        )
        process.start()
        child.close()
        if receive_message(parent) != ("ready",):
            raise SystemExit("FAIL: the writer did not start")
        started = time.perf_counter()
        sent = answered = 0
        while answered < len(batches):
            while sent < len(batches) and sent - answered < 1:  # one in flight, like ProcessWriter
                send_message(parent, ("batch", batches[sent]))
                sent += 1
            kind, outcomes, _ = receive_message(parent)
            if kind != "results" or isinstance(outcomes, BaseException):
                raise SystemExit(f"FAIL: {outcomes}")
            if any(isinstance(o, BaseException) or o.violation is not None for o in outcomes):
                raise SystemExit("FAIL: an update was not stored")
            answered += 1
        elapsed = time.perf_counter() - started
        send_message(parent, ("close",))
        receive_message(parent)
        process.join(60)
        stats = pstats.Stats(stats_file)
    n = args.updates
    print(f"{n} updates in {elapsed:.1f}s ({n / elapsed:.0f}/s) through the profiled writer process")
    total = sum(entry[2] for entry in stats.stats.values())  # type: ignore[attr-defined]
    print(f"profiled own time: {total / n * 1e6:.0f} us per update (cProfile inflates small calls)")
    print("\nstages (cumulative time per update):")
    for label, names in STAGES:
        cumulative = sum(
            entry[3]
            for (filename, _, name), entry in stats.stats.items()  # type: ignore[attr-defined]
            if any(filename.endswith("/" + file) and name == wanted for file, wanted in names)
        )
        print(f"  {cumulative / n * 1e6:7.1f} us  {label}")
    print(f"\nthe {args.top} functions with the most own time:")
    stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
