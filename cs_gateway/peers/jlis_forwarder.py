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
"""

from __future__ import annotations

import asyncio
import ssl
import time
from pathlib import Path

import grpc

from ..app.sofusaki import MarkSofusakiForwarded
from ..audit.event import DENIED, ERROR, Actor, AuditEvent
from ..config import GatewayConfig, JlisConfig
from ..gen.jukinet.cs.v1 import sofusaki_service_pb2 as pb
from ..gen.jukinet.cs.v1 import sofusaki_service_pb2_grpc as pb_grpc
from ..logging_setup import get_logger
from ..security.certificate_gate import CertificateGate
from ..store.interface import UpdateStore
from ..store.sqlite_tx import SqliteReader, open_reader
from .notice_signing import NoticeSigner
from .notifier import DENIAL_REPEAT_S, backoff_delay
from .peer_check import fetch_server_certificate, judge_peer

log = get_logger("cs_gateway.peers.jlis_forwarder")
CONNECT_ACTION = "peers.jlis.connect"
DELIVER_ACTION = "peers.jlis.deliver"
ROLE = "jlis"
IDLE_POLL_S = 0.2
CALL_TIMEOUT_S = 10.0


class ForwardRefusedError(Exception):
    """The 機構 refused a 送付先情報 (it stays unforwarded; resent at the next run)."""


class JlisForwarder:
    def __init__(self, config: GatewayConfig, jlis: JlisConfig, store: UpdateStore, gate: CertificateGate) -> None:
        self._config = config
        self._peer = jlis
        self._store = store
        self._gate = gate
        self._reader: SqliteReader | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_denial: tuple[str, float] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._reader is not None:
            self._reader.close()

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
        if self._reader is None:
            self._reader = await asyncio.to_thread(open_reader, self._config.store_path)
        return await asyncio.to_thread(self._reader.pending_sofusaki, 16)

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
                    if ack.sofusaki_seq != seq or ack.status not in (pb.ForwardAck.ACCEPTED, pb.ForwardAck.DUPLICATE):
                        await self._store.record_audit(
                            AuditEvent(
                                action=DELIVER_ACTION,
                                outcome=ERROR,
                                actor=actor,
                                reason=ack.reason or "REFUSED",
                                detail=f"the 機構 refused 送付先情報 {seq}; resent from the store",
                            ),
                            loop.create_future(),
                        )
                        raise ForwardRefusedError(f"送付先情報 {seq} refused: {ack.reason}")
                    await self._store.submit(MarkSofusakiForwarded((seq,), actor), loop.create_future())
                    forwarded += 1
                pending = await self._pending()
        return forwarded

    async def _deny(self, actor: Actor, rule: str) -> None:
        log.error("jlis_refused", rule=rule, target=self._peer.target)
        now = time.monotonic()
        last = self._last_denial
        if last is not None and last[0] == rule and now - last[1] < DENIAL_REPEAT_S:
            return
        self._last_denial = (rule, now)
        event = AuditEvent(action=CONNECT_ACTION, outcome=DENIED, actor=actor, reason=rule)
        await self._store.record_audit(event, asyncio.get_running_loop().create_future())
