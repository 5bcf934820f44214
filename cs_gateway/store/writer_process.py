"""The store's writer in a process of its own.

The gateway's event loop thread is one Python thread (one GIL) that also runs gRPC. Here a
child process owns the writing connection and runs each batch of commands (WriterCore: the
registered wire codecs decode the requests, the registered handlers run the commands in one
transaction with their audit entries, the codecs encode the replies), while the gateway only
sends batches and reads results through a pipe watched by its event loop. The child dies with
the gateway (PR_SET_PDEATHSIG), so a SIGKILLed gateway never leaves a writer holding the
database; an acknowledged update was committed by the child before the gateway saw its result.

One batch is in flight at a time: while the child applies and commits it, the next one gathers
on the gateway's side. At 32 audited lookups in flight that made batches of ~8 instead of ~2.5
(two in flight, the next decoded while the previous COMMIT waited for the disk), and each batch
costs both processes a round trip, a BEGIN and an fsync: ~30% more lookups/s; updates/s about
the same (compare_gateways.py against two in flight: Apply 1.05x, ApplyStream 0.95x, noisy).
"""

from __future__ import annotations

import asyncio
import collections
import ctypes
import gc
import multiprocessing
import pickle
import signal
import time
from collections.abc import Callable
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ..audit.spec import AuditSpec
from ..logging_setup import get_logger
from .commands import CommandRegistry
from .interface import StoreError
from .sqlite_tx import SqliteTransaction
from .writer_core import WriterCore

log = get_logger("cs_gateway.store")

# The outcomes of a batch (or its failure), and the seconds its COMMIT took (0.0 if it failed).
Done = Callable[[list[object] | BaseException, float], None]
_PR_SET_PDEATHSIG = 1


def send_message(conn: Connection, message: tuple[object, ...]) -> None:
    """Plain pickle over the pipe: ForkingPickler's extra reducers (sockets, file descriptors)
    are never needed for commands and outcomes, and building one costs every message."""
    conn.send_bytes(pickle.dumps(message, pickle.HIGHEST_PROTOCOL))


def receive_message(conn: Connection) -> tuple[Any, ...]:
    return pickle.loads(conn.recv_bytes())  # noqa: S301 - our own parent (or child) at the other end


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:  # not Linux: the pipe's EOF still ends the loop below
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the gateway decides when to stop (a "close")
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def writer_main(
    conn: Connection,
    path: str,
    spec: AuditSpec,
    registry: CommandRegistry,
    now: Callable[[], datetime] | None = None,
    number_key: str | None = None,
) -> None:
    """The child: apply each batch it receives, commit, answer; until "close" or the pipe ends."""
    _die_with_parent()
    try:
        key = Path(number_key) if number_key else None
        tx = (
            SqliteTransaction(Path(path), spec.build(), number_key=key)
            if now is None
            else SqliteTransaction(Path(path), spec.build(), now=now, number_key=key)
        )
        core = WriterCore(tx, registry=registry)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which refuses to start
        send_message(conn, ("failed", f"{type(exc).__name__}: {exc}"))
        return
    gc.collect()
    gc.freeze()  # the codecs, the registry, the trail's keys: never garbage (see server.serve)
    send_message(conn, ("ready",))
    while True:
        try:
            message = receive_message(conn)
        except EOFError:
            return  # the gateway is gone
        if message[0] == "close":
            core.close()
            send_message(conn, ("closed",))
            return
        try:
            outcomes = core.apply(message[1])  # the replies are encoded, not yet sent
        except BaseException as exc:  # noqa: BLE001 - the batch failed (rolled back): acknowledge nothing
            send_message(conn, ("results", StoreError(f"commit failed: {type(exc).__name__}"), 0.0))
            continue
        started = time.perf_counter()
        try:
            core.commit()  # waits for fsync
        except BaseException as exc:  # noqa: BLE001 - not durable: acknowledge nothing
            core.abandon()
            send_message(conn, ("results", StoreError(f"commit failed: {type(exc).__name__}"), 0.0))
            continue
        send_message(conn, ("results", outcomes, time.perf_counter() - started))


class ProcessWriter:
    """The gateway's side: one batch in flight (see the module's note); its results come back on
    the event loop."""

    def __init__(
        self,
        path: Path,
        spec: AuditSpec,
        loop: asyncio.AbstractEventLoop,
        *,
        registry: CommandRegistry,
        on_death: Callable[[], None] | None = None,
        now: Callable[[], datetime] | None = None,
        number_key: Path | None = None,
    ) -> None:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self._process = context.Process(
            target=writer_main,
            args=(child, str(path), spec, registry, now, str(number_key) if number_key else None),
            name="cs-store-writer",
            daemon=True,
        )
        self._process.start()
        child.close()
        self._conn = parent
        if not parent.poll(60):
            self._process.kill()
            raise StoreError("the store's writer process did not start")
        first = receive_message(parent)
        if first[0] != "ready":
            self._process.join(5)
            raise StoreError(f"the store's writer process failed to start: {first[1]}")
        self._loop = loop
        self._waiting: collections.deque[Done] = collections.deque()
        self._dead = False
        self._on_death = on_death  # called once, on the loop, when the child dies unasked
        self.commits = 0
        self.max_in_flight = 1  # SqliteStore sends the next batch once this one is answered
        loop.add_reader(parent.fileno(), self._on_readable)

    def run(self, works: list[object], done: Done) -> None:
        if self._dead:
            self._loop.call_soon(done, StoreError("the store's writer process is gone"), 0.0)
            return
        self._waiting.append(done)
        try:
            send_message(self._conn, ("batch", works))
        except (OSError, ValueError) as exc:
            self._fail_all(StoreError(f"the store's writer process is gone: {type(exc).__name__}"))

    def _on_readable(self) -> None:
        try:
            message = receive_message(self._conn)
        except (EOFError, OSError):
            self._fail_all(StoreError("the store's writer process is gone"))
            return
        if message[0] == "results" and self._waiting:
            _, outcomes, commit_seconds = message
            if not isinstance(outcomes, BaseException):
                self.commits += 1
            self._waiting.popleft()(outcomes, commit_seconds)

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def _fail_all(self, error: StoreError) -> None:
        if not self._dead:
            self._dead = True
            self._loop.remove_reader(self._conn.fileno())
            # Fail closed: from now on every write and every audited read is refused (UNAVAILABLE).
            log.error("store_writer_gone", pid=self._process.pid, exitcode=self._process.exitcode)
            if self._on_death is not None:
                self._loop.call_soon(self._on_death)
        while self._waiting:
            self._waiting.popleft()(error, 0.0)

    def close(self) -> None:
        """Ask the child to sign the chain head and close; wait for it (called once, drained)."""
        if not self._dead:
            self._loop.remove_reader(self._conn.fileno())
            self._dead = True
            try:
                send_message(self._conn, ("close",))
                if self._conn.poll(30):
                    receive_message(self._conn)  # ("closed",): the chain head is signed
            except (EOFError, OSError):
                pass
        self._conn.close()
        self._process.join(30)
        if self._process.is_alive():
            self._process.kill()
