"""The forwarder: 送付先情報 from the store to the 個人番号カード管理システム (機構), unedited.

- Before each run the 機構's server certificate is judged by the CS itself (peer_check.py): the
  jlis role, from the issuer pinned for it, valid now, not revoked. Otherwise nothing is sent and
  the attempt is audited (peers.jlis.connect / denied / the rule; repeated at most every 60 s).
- Each stored 送付先情報 is sent in the order received (CardManagementService.Deliver): its bytes
  exactly as 既存住基 sent them, their SHA-256 digest, and the CS key's signature over the digest.
  The 機構 recomputes the digest over what arrived and checks the signature: the proof that the
  CS edited nothing. Only an ACCEPTED or DUPLICATE acknowledgement marks it forwarded (a writer
  command, app/sofusaki.py); nothing later is sent before it.
- Any failure ends the run; the next starts from the oldest unforwarded one after the notifier's
  backoff (peers/notifier.py backoff_delay). Certificates are read from their files at each run.
- A failure of the transport (unreachable, a call that fails or times out) is transient: retried,
  in order, for as long as it lasts. A REFUSED acknowledgement is the 機構's definitive answer on
  that 送付先情報: after jlis.park_after_refusals of them in a row it is parked as "refused by
  the 機構" (the audit entry peers.jlis.sofusaki_parked / refused / the 機構's reason, request_id
  sofusaki-<number>: the durable record of the decision, read back at start), the log says
  sofusaki_parked, the gauge cs_gateway_sofusaki_parked counts it, and the ones behind it move on.
  It stays in the store, unforwarded, for the operator (it is never silently dropped).
- Metrics (every second): cs_gateway_sofusaki_backlog and cs_gateway_sofusaki_oldest_age_seconds
  (unforwarded, parked ones left out); over jlis.backlog_warn_age_s the health service reports
  NOT_SERVING for jukinet.cs.v1.JlisForwarder, cs_gateway_sofusaki_stale is 1 and the log says
  sofusaki_backlog_stale.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import grpc
from prometheus_client import CollectorRegistry, Counter, Gauge

from ..app.sofusaki import MarkSofusakiForwarded
from ..audit.event import DENIED, ERROR, REFUSED, Actor, AuditEvent
from ..config import GatewayConfig, JlisConfig
from ..gen.jukinet.cs.v1 import sofusaki_service_pb2 as pb
from ..gen.jukinet.cs.v1 import sofusaki_service_pb2_grpc as pb_grpc
from ..logging_setup import get_logger
from ..security.certificate_gate import CertificateGate
from ..store.interface import UpdateStore
from ..store.sqlite_tx import SqliteReader, open_reader
from .backlog_watch import StaleFlag
from .notice_signing import NoticeSigner
from .notifier import DENIAL_REPEAT_S, backoff_delay
from .peer_check import fetch_server_certificate, judge_peer

log = get_logger("cs_gateway.peers.jlis_forwarder")
CONNECT_ACTION = "peers.jlis.connect"
DELIVER_ACTION = "peers.jlis.deliver"
PARKED_ACTION = "peers.jlis.sofusaki_parked"
PARKED_PREFIX = "sofusaki-"  # request_id of a park's audit entry: sofusaki-<number>
ROLE = "jlis"
IDLE_POLL_S = 0.2
CALL_TIMEOUT_S = 10.0


class ForwardRefusedError(Exception):
    """The 機構 refused a 送付先情報 (it stays unforwarded; resent at the next run)."""


class ForwarderMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.backlog = Gauge(
            "cs_gateway_sofusaki_backlog",
            "送付先情報 not yet forwarded to the 機構 (parked left out)",
            registry=registry,
        )
        self.oldest_age = Gauge(
            "cs_gateway_sofusaki_oldest_age_seconds",
            "Age of the oldest 送付先情報 not yet forwarded (0: none; parked left out)",
            registry=registry,
        )
        self.stale = Gauge(
            "cs_gateway_sofusaki_stale",
            "1 while the oldest unforwarded 送付先情報 is older than jlis.backlog_warn_age_s",
            registry=registry,
        )
        self.parked = Gauge(
            "cs_gateway_sofusaki_parked",
            "送付先情報 parked as refused by the 機構 (for the operator)",
            registry=registry,
        )
        self.forwarded = Counter(
            "cs_gateway_sofusaki_forwarded", "送付先情報 acknowledged by the 機構", registry=registry
        )
        self.refused = Counter(
            "cs_gateway_sofusaki_refused", "REFUSED answers of the 機構, by its reason", ["reason"], registry=registry
        )


class JlisForwarder:
    def __init__(
        self,
        config: GatewayConfig,
        jlis: JlisConfig,
        store: UpdateStore,
        gate: CertificateGate,
        *,
        registry: CollectorRegistry | None = None,
        on_stale: Callable[[bool], object] | None = None,
    ) -> None:
        self._config = config
        self._peer = jlis
        self._store = store
        self._gate = gate
        self._metrics = ForwarderMetrics(registry if registry is not None else CollectorRegistry())
        self._stale = StaleFlag(self._metrics.stale, "sofusaki_backlog", on_stale, log)
        self._reader: SqliteReader | None = None
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._last_denial: tuple[str, float] | None = None
        self._parked: dict[int, str] = {}  # number -> the 機構's reason
        self._refusals: tuple[int, int] = (0, 0)  # (number, REFUSED answers in a row for it)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run()), asyncio.create_task(self._watch_backlog())]

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._reader is not None:
            self._reader.close()

    async def _open(self) -> SqliteReader:
        if self._reader is None:
            self._reader = await asyncio.to_thread(open_reader, self._config.store_path)
            parked = await asyncio.to_thread(self._reader.audited_subjects, PARKED_ACTION)
            for request_id, reason in parked:
                if request_id.startswith(PARKED_PREFIX) and request_id[len(PARKED_PREFIX) :].isdigit():
                    self._parked[int(request_id[len(PARKED_PREFIX) :])] = reason
            self._metrics.parked.set(len(self._parked))
        return self._reader

    async def _run(self) -> None:
        attempt = 0
        while True:
            try:
                forwarded = await self._attempt()
                attempt = 0 if forwarded is not None else attempt + 1
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - every failure is one more attempt, logged
                log.warning("jlis_forward_failed", error=f"{type(err).__name__}: {err}"[:300])
                attempt += 1
            if attempt:
                await asyncio.sleep(backoff_delay(attempt, self._peer.retry_initial_s, self._peer.retry_max_s))
            else:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), IDLE_POLL_S)
                except TimeoutError:
                    pass

    async def _pending(self) -> list[tuple[int, bytes, bytes]]:
        reader = await self._open()
        return await asyncio.to_thread(reader.pending_sofusaki, 16, 0, tuple(self._parked))

    async def _attempt(self) -> int | None:
        """One run: the forwarded count, or None when the peer was refused (nothing sent)."""
        pending = await self._pending()
        if not pending:
            return 0
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
        except ssl.SSLCertVerificationError as err:
            await self._deny(Actor(peer=target), f"tls:{err.verify_message or 'verify-failed'}")
            return None
        except OSError as err:
            raise ConnectionError(f"機構 {target} unreachable: {err}") from err
        verdict = judge_peer(self._gate, leaf, ROLE)
        identity = verdict.identity
        actor = Actor(
            spiffe_id=identity.spiffe_id if identity else "",
            cert_fingerprint=identity.fingerprint_sha256 if identity else "",
            peer=target,
        )
        if not verdict.ok:
            assert verdict.rule is not None
            await self._deny(actor, verdict.rule)
            return None
        self._last_denial = None
        signer = NoticeSigner(tls.key, tls.cert)
        credentials = grpc.ssl_channel_credentials(
            root_certificates=Path(tls.ca).read_bytes(),
            private_key=Path(tls.key).read_bytes(),
            certificate_chain=Path(tls.cert).read_bytes(),
        )
        options = [("grpc.ssl_target_name_override", self._peer.server_name)]
        forwarded = 0
        loop = asyncio.get_running_loop()
        async with grpc.aio.secure_channel(target, credentials, options=options) as channel:
            stub = pb_grpc.CardManagementServiceStub(channel)
            while pending:
                for seq, body, digest in pending:
                    sent = pb.ForwardedSofusaki(
                        sofusaki_seq=seq, body=body, digest=digest, signature=signer.sign(digest)
                    )
                    ack = await stub.Deliver(sent, timeout=CALL_TIMEOUT_S)
                    if ack.sofusaki_seq != seq:  # not an answer about this one: transient, retried
                        raise ForwardRefusedError(f"the 機構 answered {ack.sofusaki_seq} for {seq}")
                    if ack.status not in (pb.ForwardAck.ACCEPTED, pb.ForwardAck.DUPLICATE):
                        if await self._refused(actor, seq, ack.reason or "REFUSED"):
                            continue  # parked: the ones behind it move on
                        raise ForwardRefusedError(f"送付先情報 {seq} refused: {ack.reason}")
                    self._refusals = (0, 0)
                    await self._store.submit(MarkSofusakiForwarded((seq,), actor), loop.create_future())
                    self._metrics.forwarded.inc()
                    forwarded += 1
                pending = await self._pending()
        return forwarded

    async def _refused(self, actor: Actor, seq: int, reason: str) -> bool:
        """A REFUSED answer: audited; True once it is parked (the park_after_refusals-th in a row)."""
        loop = asyncio.get_running_loop()
        self._metrics.refused.labels(reason).inc()
        count = self._refusals[1] + 1 if self._refusals[0] == seq else 1
        self._refusals = (seq, count)
        await self._store.record_audit(
            AuditEvent(
                action=DELIVER_ACTION,
                outcome=ERROR,
                actor=actor,
                reason=reason,
                detail=f"the 機構 refused 送付先情報 {seq} ({count} of {self._peer.park_after_refusals}); "
                "resent from the store",
            ),
            loop.create_future(),
        )
        if count < self._peer.park_after_refusals:
            return False
        park = AuditEvent(
            action=PARKED_ACTION,
            outcome=REFUSED,
            actor=actor,
            reason=reason,
            request_id=f"{PARKED_PREFIX}{seq}",
            detail=f"送付先情報 {seq} refused by the 機構 {count} times; parked (kept in the store, not forwarded)",
        )
        await self._store.record_audit(park, loop.create_future())  # durable before the queue moves on
        self._parked[seq] = reason
        self._refusals = (0, 0)
        self._metrics.parked.set(len(self._parked))
        log.error("sofusaki_parked", sofusaki_seq=seq, reason=reason, refusals=count)
        return True

    async def _watch_backlog(self) -> None:
        while True:
            try:
                reader = await self._open()
                count, oldest = await asyncio.to_thread(reader.sofusaki_backlog, tuple(self._parked))
            except Exception as err:  # noqa: BLE001 - the figures wait for the next second
                log.warning("sofusaki_backlog_unreadable", error=str(err)[:200])
                await asyncio.sleep(1.0)
                continue
            age = (datetime.now(UTC) - datetime.fromisoformat(oldest)).total_seconds() if oldest else 0.0
            self._metrics.backlog.set(count)
            self._metrics.oldest_age.set(max(0.0, age))
            await self._stale.update(age, self._peer.backlog_warn_age_s, count)
            await asyncio.sleep(1.0)

    async def _deny(self, actor: Actor, rule: str) -> None:
        log.error("jlis_refused", rule=rule, target=self._peer.target)
        now = time.monotonic()
        last = self._last_denial
        if last is not None and last[0] == rule and now - last[1] < DENIAL_REPEAT_S:
            return
        self._last_denial = (rule, now)
        event = AuditEvent(action=CONNECT_ACTION, outcome=DENIED, actor=actor, reason=rule)
        await self._store.record_audit(event, asyncio.get_running_loop().create_future())
