"""The notifier: drains the outbox to the 都道府県サーバー (住基法30条の6), in the gateway process.

- Before each stream, the server's certificate is judged by the CS itself (peer_check.py): the
  prefecture role, from the issuer pinned for it, valid now, not revoked. Otherwise nothing is
  sent, and the attempt is audited (peers.prefecture.connect / denied / the rule).
- One bidirectional stream (PrefectureService.DeliverNotices) carries the notices in 更新順番号
  order, each signed by the CS key over its canonical encoding. At most ``window`` notices are
  unacknowledged at a time, and the outbox is read ``batch`` at a time only when the window has
  room: a slow prefecture slows the drain (and grpc's HTTP/2 flow control slows the writes),
  never the gateway's memory.
- The prefecture acknowledges each notice by its 更新順番号 once durably applied (or recognised
  as applied before). Acknowledged notices are marked delivered by a command of the store's
  writer (app/notices.py) with its audit entry; nothing else removes a notice from the outbox.
  A notice acknowledged and not yet marked when the CS dies is sent again: the prefecture applies
  it once (it is idempotent by 更新順番号) and answers DUPLICATE.
- Any failure (unreachable, refused peer, stream broken, a REFUSED ack) ends the stream; the next
  attempt starts from the oldest undelivered notice after a backoff (doubling from
  retry_initial_s to retry_max_s, full jitter in [50%, 100%]). grpc's retry service config does
  not fit here: what must be retried is a stream position, not one call.
- The certificate, key and CA are read from their files at each attempt: a rotation takes effect
  at the next stream.
- Every second: the age of the oldest undelivered notice against backlog_warn_age_s; over it, the
  health service reports NOT_SERVING for PrefectureService (the gateway itself still serves),
  the gauge cs_gateway_outbox_stale is 1 and the log says notice_backlog_stale.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import grpc
from prometheus_client import CollectorRegistry, Counter, Gauge

from ..app.notices import MarkDelivered
from ..audit.event import DENIED, ERROR, Actor, AuditEvent
from ..config import GatewayConfig, PrefectureConfig
from ..domain.notice_encoding import encode_notice
from ..gen.jukinet.cs.v1 import prefecture_service_pb2 as pb
from ..gen.jukinet.cs.v1 import prefecture_service_pb2_grpc as pb_grpc
from ..logging_setup import get_logger
from ..security.certificate_gate import CertificateGate
from ..store.interface import UpdateStore
from ..store.sqlite_tx import SqliteReader, open_reader
from ..store.stats import read_stats
from .backlog_watch import StaleFlag
from .notice_signing import NoticeSigner
from .peer_check import fetch_server_certificate, judge_peer

log = get_logger("cs_gateway.peers.notifier")
CONNECT_ACTION = "peers.prefecture.connect"
STREAM_ACTION = "peers.prefecture.stream"
ROLE = "prefecture"
IDLE_POLL_S = 0.05
DENIAL_REPEAT_S = 60.0


class PeerRefusedError(Exception):
    """The peer answered something that ends the stream (a REFUSED ack, an ack out of order)."""


def backoff_delay(attempt: int, initial: float, cap: float, rand: Callable[[], float] = random.random) -> float:
    """The wait before attempt ``attempt`` (1, 2, ...): min(cap, initial * 2^(attempt-1)), jittered."""
    base = min(cap, initial * (2 ** max(0, attempt - 1)))
    return base * (0.5 + 0.5 * rand())


class NotifierMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.sent = Counter("cs_gateway_notices_sent", "Change notices sent to the prefecture", registry=registry)
        self.acked = Counter(
            "cs_gateway_notices_acknowledged", "Change notices acknowledged by the prefecture", registry=registry
        )
        self.peer_refused = Counter(
            "cs_gateway_prefecture_refused",
            "Attempts to reach the prefecture refused by the CS (peer certificate) or failed",
            ["reason"],
            registry=registry,
        )
        self.stale = Gauge(
            "cs_gateway_outbox_stale",
            "1 while the oldest undelivered change notice is older than prefecture.backlog_warn_age_s",
            registry=registry,
        )


class Notifier:
    def __init__(
        self,
        config: GatewayConfig,
        prefecture: PrefectureConfig,
        store: UpdateStore,
        gate: CertificateGate,
        *,
        registry: CollectorRegistry,
        on_stale: Callable[[bool], object] | None = None,
    ) -> None:
        self._config = config
        self._peer = prefecture
        self._store = store
        self._gate = gate
        self._metrics = NotifierMetrics(registry)
        self._stale = StaleFlag(self._metrics.stale, "notice_backlog", on_stale, log)
        self._reader: SqliteReader | None = None
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._last_denial: tuple[str, float] | None = None

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run()), asyncio.create_task(self._watch_backlog())]

    def wake(self) -> None:
        """New notices were committed (called on the loop after each batch)."""
        self._wake.set()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._reader is not None:
            self._reader.close()

    # -- the drain ---------------------------------------------------------------------------------

    async def _run(self) -> None:
        attempt = 0
        while True:
            try:
                delivered = await self._attempt()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - every failure is one more attempt, logged
                log.warning("prefecture_stream_failed", error=f"{type(err).__name__}: {err}"[:300])
                delivered = 0
            attempt = 0 if delivered else attempt + 1
            await asyncio.sleep(backoff_delay(max(attempt, 1), self._peer.retry_initial_s, self._peer.retry_max_s))

    async def _attempt(self) -> int:
        """One stream: check the peer, then send until something fails; the notices acknowledged."""
        tls = self._config.tls
        target = self._peer.target
        try:
            leaf = await asyncio.to_thread(
                fetch_server_certificate,
                target,
                server_name=self._peer.server_name,
                ca=tls.ca,
                cert=tls.cert,
                key=tls.key,
            )
        except ssl.SSLCertVerificationError as err:  # the TLS layer refused the server: audited
            rule = f"tls:{err.verify_message or 'verify-failed'}"
            self._metrics.peer_refused.labels(rule).inc()
            log.error("prefecture_refused", rule=rule, target=target)
            await self._audit_denial(
                AuditEvent(action=CONNECT_ACTION, outcome=DENIED, actor=Actor(peer=target), reason=rule)
            )
            return 0
        except OSError as err:  # unreachable, handshake failed: nothing was sent
            self._metrics.peer_refused.labels("unreachable").inc()
            raise ConnectionError(f"prefecture {target} unreachable: {err}") from err
        verdict = judge_peer(self._gate, leaf, ROLE)
        identity = verdict.identity
        actor = Actor(
            spiffe_id=identity.spiffe_id if identity else "",
            cert_fingerprint=identity.fingerprint_sha256 if identity else "",
            peer=target,
        )
        if not verdict.ok:
            assert verdict.rule is not None
            self._metrics.peer_refused.labels(verdict.rule).inc()
            log.error("prefecture_refused", rule=verdict.rule, target=target)
            await self._audit_denial(
                AuditEvent(action=CONNECT_ACTION, outcome=DENIED, actor=actor, reason=verdict.rule)
            )
            return 0
        self._last_denial = None
        return await self._stream(actor)

    async def _stream(self, actor: Actor) -> int:
        tls = self._config.tls
        signer = NoticeSigner(tls.key, tls.cert)
        credentials = grpc.ssl_channel_credentials(
            root_certificates=Path(tls.ca).read_bytes(),
            private_key=Path(tls.key).read_bytes(),
            certificate_chain=Path(tls.cert).read_bytes(),
        )
        options = [("grpc.ssl_target_name_override", self._peer.server_name)]
        if self._reader is None:
            self._reader = await asyncio.to_thread(open_reader, self._config.store_path, self._config.number_key)
        reader = self._reader
        window, batch = self._peer.window, self._peer.batch
        unacked: deque[int] = deque()
        room = asyncio.Event()
        acknowledged = 0
        async with grpc.aio.secure_channel(self._peer.target, credentials, options=options) as channel:
            call = pb_grpc.PrefectureServiceStub(channel).DeliverNotices()

            def read_and_sign(limit: int, after: int) -> list[pb.SignedNotice]:
                out = []
                for seq, notice in reader.pending_notices(limit, after):
                    body = encode_notice(notice)
                    out.append(pb.SignedNotice(update_seq=seq, body=body, signature=signer.sign(body)))
                return out

            async def send() -> None:
                after = 0
                while True:
                    while len(unacked) >= window:
                        room.clear()
                        await room.wait()
                    notices = await asyncio.to_thread(read_and_sign, min(batch, window - len(unacked)), after)
                    if not notices:
                        self._wake.clear()
                        try:
                            await asyncio.wait_for(self._wake.wait(), IDLE_POLL_S)
                        except TimeoutError:
                            pass
                        continue
                    for notice in notices:
                        unacked.append(notice.update_seq)
                        await call.write(notice)
                        self._metrics.sent.inc()
                    after = notices[-1].update_seq

            marks: list[int] = []
            marking: asyncio.Task[None] | None = None

            async def flush_marks() -> None:
                while marks:
                    seqs = tuple(marks)
                    marks.clear()
                    loop = asyncio.get_running_loop()
                    await self._store.submit(MarkDelivered(seqs, actor), loop.create_future())

            sender = asyncio.create_task(send())

            def writes_failed(task: asyncio.Task[None]) -> None:
                if not task.cancelled() and task.exception() is not None:
                    call.cancel()  # wakes the read below, which then raises what broke the writes

            sender.add_done_callback(writes_failed)
            try:
                while True:
                    # one await per ack (no task or wait set per ack: this loop runs per notice)
                    try:
                        ack = await call.read()
                    except asyncio.CancelledError:
                        if sender.done() and not sender.cancelled() and sender.exception() is not None:
                            sender.result()  # raises what broke the writes
                        this = asyncio.current_task()
                        if this is not None and this.cancelling():
                            raise  # the notifier is stopping
                        raise ConnectionError("the stream was cancelled") from None
                    if ack is grpc.aio.EOF:
                        raise ConnectionError("the prefecture ended the stream")
                    if not unacked or ack.update_seq != unacked[0]:
                        raise PeerRefusedError(f"acknowledgement {ack.update_seq} out of order")
                    if ack.status not in (pb.NoticeAck.APPLIED, pb.NoticeAck.DUPLICATE):
                        await self._audit(
                            AuditEvent(
                                action=STREAM_ACTION,
                                outcome=ERROR,
                                actor=actor,
                                reason=ack.reason or "REFUSED",
                                update_seq=ack.update_seq,
                                detail="the prefecture refused the notice; resent from the outbox",
                            )
                        )
                        raise PeerRefusedError(f"notice {ack.update_seq} refused: {ack.reason}")
                    unacked.popleft()
                    room.set()
                    acknowledged += 1
                    self._metrics.acked.inc()
                    marks.append(ack.update_seq)
                    if marking is None or marking.done():
                        if marking is not None:
                            marking.result()
                        marking = asyncio.create_task(flush_marks())
            finally:
                sender.cancel()
                call.cancel()
                if marking is not None:
                    await asyncio.gather(marking, return_exceptions=True)
                if marks:  # acknowledged after the last flush: marked now (or resent later)
                    try:
                        await flush_marks()
                    except Exception as err:  # noqa: BLE001 - they will be resent: idempotent
                        log.warning("notice_marks_lost", error=str(err), count=len(marks))
        return acknowledged

    async def _audit_denial(self, event: AuditEvent) -> None:
        """A refused peer: audited when the rule changes, and at least every DENIAL_REPEAT_S while
        it lasts (the retries would otherwise add one entry per backoff step)."""
        now = time.monotonic()
        last = self._last_denial
        if last is not None and last[0] == event.reason and now - last[1] < DENIAL_REPEAT_S:
            return
        self._last_denial = (event.reason, now)
        await self._audit(event)

    async def _audit(self, event: AuditEvent) -> None:
        await self._store.record_audit(event, asyncio.get_running_loop().create_future())

    # -- the backlog's age --------------------------------------------------------------------------

    async def _watch_backlog(self) -> None:
        while True:
            stats = await asyncio.to_thread(read_stats, self._config.store_path)
            age = 0.0
            if stats is not None and stats.oldest_notice_at is not None:
                age = (datetime.now(UTC) - stats.oldest_notice_at).total_seconds()
            await self._stale.update(age, self._peer.backlog_warn_age_s, stats.outbox_backlog if stats else None)
            await asyncio.sleep(1.0)
