"""The composition root: configuration -> store, policy, servicers, the mTLS port."""

from __future__ import annotations

import asyncio
import gc
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import grpc

from pki.profiles import ROLES

from .api.guard import Guard, GuardedServer
from .api.health import GatewayHealth
from .api.sofusaki_servicer import SofusakiServicer
from .api.terminal_codec import register_terminal_replies
from .api.terminal_servicer import TerminalServicer
from .api.update_codec import register_codecs
from .api.update_servicer import UpdateServicer
from .app.handlers import register_handlers
from .audit.event import Actor, AuditEvent
from .audit.keys import load_or_create_hmac_key
from .audit.signing import CheckpointSigner
from .audit.spec import AuditSpec
from .clock import Today, jst_today
from .config import GatewayConfig, config_warnings
from .domain.rules_config import DEFAULT_RULES, RulesConfig
from .logging_setup import get_logger
from .metrics import GatewayMetrics
from .metrics_collector import GatewayCollector
from .metrics_listener import MetricsListener, start_metrics_listener
from .peers.jlis_forwarder import JlisForwarder
from .peers.notifier import Notifier
from .security.card_check import CardTrust
from .security.certificate_gate import CertificateGate, IssuerFiles
from .security.crl_high_water import CrlHighWater
from .security.denial_bound import DenialBound
from .security.identity import PeerIdentity
from .security.neighbours import NeighbourTable
from .security.network import NetworkGate
from .security.rate_limit import RateLimit
from .security.revocation import RevocationChecker
from .security.sessions import SessionTable
from .security.tls_reload import reloading_server_credentials
from .store.commands import CommandRegistry
from .store.local import trail_is_empty
from .store.sqlite_store import SqliteStore

log = get_logger("cs_gateway.server")

# `serve` returns this when the store's writer process died: the gateway cannot write any more and
# exits so that its supervisor (systemd Restart=on-failure, the container runtime) starts it again.
EXIT_WRITER_DIED = 3
STOP_GRACE_S = 5.0
NOTIFIER_HEALTH = "jukinet.cs.v1.PrefectureNotifier"  # NOT_SERVING: the outbox's backlog is too old
FORWARDER_HEALTH = "jukinet.cs.v1.JlisForwarder"  # NOT_SERVING: the oldest unforwarded 送付先情報 is too old
WRITER_DIED_GRACE_S = 1.0  # the calls in flight have their answer (UNAVAILABLE) by then


# grpc itself cuts a request message this many times the configured limit, unread and unaudited
# (the application never sees it); between the limit and this cap the gateway refuses the request
# itself, audited, with RESOURCE_EXHAUSTED / MESSAGE_TOO_LARGE (ApplyStream: inline, and the stream
# goes on). The cap bounds memory: max_concurrent_streams x this x the limit.
TRANSPORT_CAP_FACTOR = 4


def server_options(config: GatewayConfig) -> list[tuple[str, int]]:
    """Hardening that grpcio exposes as channel arguments."""
    limits = config.limits
    return [
        ("grpc.so_reuseport", 0),  # nobody else may bind our port
        ("grpc.max_receive_message_length", limits.max_receive_message_bytes * TRANSPORT_CAP_FACTOR),
        ("grpc.max_send_message_length", limits.max_send_message_bytes),
        ("grpc.max_concurrent_streams", limits.max_concurrent_streams),
        ("grpc.max_metadata_size", limits.max_metadata_bytes),
        # grpc refuses metadata between the soft limit above and twice it at random; the hard
        # limit makes the cap exact (anything over it is refused, every time).
        ("grpc.absolute_max_metadata_size", limits.max_metadata_bytes),
        ("grpc.server_handshake_timeout_ms", limits.handshake_timeout_ms),
        ("grpc.keepalive_permit_without_calls", 0),
        ("grpc.http2.min_recv_ping_interval_without_data_ms", 30_000),
        ("grpc.http2.max_ping_strikes", 2),
        ("grpc.max_connection_idle_ms", 15 * 60_000),
        ("grpc.max_connection_age_ms", 4 * 3600_000),
        ("grpc.max_connection_age_grace_ms", 5 * 60_000),
    ]


def server_credentials(config: GatewayConfig) -> grpc.ServerCredentials:
    """mTLS only (client certificates required); certificate, key and CA bundle are re-read when
    they change, before each new handshake: rotation without restart."""
    tls = config.tls
    return reloading_server_credentials(tls.cert, tls.key, tls.ca)


def revocation_checker(
    config: GatewayConfig, issuer: IssuerFiles | None = None, high_water: CrlHighWater | None = None
) -> RevocationChecker:
    """The CRL checker of one issuing CA (default: tls.crl signed by tls.crl_issuer)."""
    tls = config.tls
    crl, issuer_cert = (tls.crl, tls.crl_issuer) if issuer is None else (issuer.crl, issuer.cert)
    checker = RevocationChecker(crl, issuer_cert, stat_interval=1.0, high_water=high_water)
    status = checker.status()
    if status.error is not None:
        log.warning("crl_unusable", reason=status.error, crl=str(crl))  # every RPC will be refused
    else:
        log.info("crl_loaded", revoked=status.revoked_count, next_update=status.next_update.isoformat())
    return checker


def command_registry(municipality_code: str, rules: RulesConfig = DEFAULT_RULES) -> CommandRegistry:
    """What the store's writer runs: the app's handlers, and api's codecs for the RPCs whose
    requests the writer decodes (Apply, ApplyStream) and whose replies it encodes (Lookup, Search)."""
    registry = register_terminal_replies(register_handlers(CommandRegistry()))
    return register_codecs(registry, municipality_code=municipality_code, rules=rules)


def certificate_gate(config: GatewayConfig) -> CertificateGate:
    """Identity, profile, pinned issuer, validity and revocation of every caller's certificate."""
    tls = config.tls
    issuers = [IssuerFiles(tls.crl_issuer, tls.crl, default=True)]
    issuers += [IssuerFiles(cert, crl, default=False) for cert, crl in tls.more_issuers]
    high_water = CrlHighWater(tls.crl_state)
    return CertificateGate(
        issuers,
        tls.ca,
        config.policy.issuer_pins(),
        trust_domain=config.trust_domain,
        known_roles=frozenset(ROLES),
        revocation_for=lambda files: revocation_checker(config, files, high_water),
    )


def open_store(
    config: GatewayConfig,
    loop: asyncio.AbstractEventLoop | None = None,
    *,
    on_batch: Callable[[int, float], None] | None = None,
    on_writer_death: Callable[[], None] | None = None,
) -> SqliteStore:
    """The store with its audit trail (subject HMAC key, checkpoints signed with the CS key),
    written by a writer process of its own."""
    key = load_or_create_hmac_key(config.audit.hmac_key, may_create=trail_is_empty(config.store_path))
    CheckpointSigner.from_files(config.tls.key, config.tls.cert)  # fail here, not in the writer, on a bad key
    spec = AuditSpec(
        hmac_key=key,
        signing_key=config.tls.key,
        signing_cert=config.tls.cert,
        checkpoint_every=config.audit.checkpoint_every,
    )
    registry = command_registry(config.municipality_code, config.rules)
    return SqliteStore(
        config.store_path,
        audit=spec,
        loop=loop,
        registry=registry,
        on_batch=on_batch,
        on_writer_death=on_writer_death,
        number_key=config.number_key,
    )


def refusal_auditor(store: SqliteStore, metrics: GatewayMetrics | None = None) -> Callable[..., Awaitable[None]]:
    """The guard's refusals (denied callers; requests too large or unparsable), audited."""

    async def audit_refusal(
        method: str,
        peer: str,
        outcome: str,
        rule: str,
        identity: PeerIdentity | None,
        *,
        subject: tuple[str, str] = ("", ""),
        detail: str = "",
    ) -> None:
        if metrics is not None:
            metrics.refusal(rule)
        log.warning(
            "rpc_refused",
            method=method,
            peer=peer,
            outcome=outcome,
            rule=rule,
            spiffe_id=identity.spiffe_id if identity else None,
            fingerprint=identity.fingerprint_sha256 if identity else None,
        )
        actor = Actor(
            spiffe_id=identity.spiffe_id if identity else "",
            cert_fingerprint=identity.fingerprint_sha256 if identity else "",
            peer=peer,
        )
        event = AuditEvent(
            action=method,
            outcome=outcome,
            actor=actor,
            reason=rule,
            subject_juminhyo_code=subject[0],
            subject_individual_number=subject[1],
            detail=detail,
        )
        await store.record_audit(event, asyncio.get_running_loop().create_future())

    return audit_refusal


def _listen(server: grpc.aio.Server, address: str, credentials: grpc.ServerCredentials) -> int:
    """Bind ``address``; OSError naming it if it cannot be (taken, not local, ...)."""
    try:
        port = server.add_secure_port(address, credentials)
    except RuntimeError:  # grpcio raises on a failed bind ("Failed to bind to address ...")
        port = 0
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    return port


@dataclass
class RunningGateway:
    server: grpc.aio.Server
    port: int
    store: SqliteStore
    health: GatewayHealth
    metrics: GatewayMetrics
    metrics_listener: MetricsListener | None
    writer_died: asyncio.Event  # set once the store's writer process is gone (health: NOT_SERVING)
    guard: Guard | None = None
    notifier: Notifier | None = None  # [prefecture] configured: drains the outbox
    forwarder: JlisForwarder | None = None  # [jlis] configured: 送付先情報 to the 機構

    async def stop(self, grace: float | None = STOP_GRACE_S) -> None:
        await self.health.not_serving()
        if self.notifier is not None:
            await self.notifier.stop()
        if self.forwarder is not None:
            await self.forwarder.stop()
        listener = self.metrics_listener
        # The listener's thread notices a shutdown within its poll (0.1 s): meanwhile the rest stops.
        closing = asyncio.create_task(asyncio.to_thread(listener.close)) if listener is not None else None
        await self.server.stop(grace)
        if self.guard is not None:
            await self.guard.close()  # the counts of cut-offs still running, into the trail
        await asyncio.to_thread(self.store.close)
        if closing is not None:
            await closing


def _certificate_files(config: GatewayConfig) -> dict[str, Path]:
    return {"tls.cert": config.tls.cert, "tls.ca": config.tls.ca, "tls.crl_issuer": config.tls.crl_issuer}


async def start_gateway(config: GatewayConfig, *, today: Today = jst_today) -> RunningGateway:
    loop = asyncio.get_running_loop()
    metrics = GatewayMetrics()
    health = GatewayHealth()
    writer_died = asyncio.Event()

    def on_writer_death() -> None:
        # Fail closed and say so: writes are refused (UNAVAILABLE) from now on; health first, then
        # serve() exits non-zero for the supervisor to restart the gateway.
        log.error("store_writer_died", action="health NOT_SERVING; exiting for the supervisor to restart")
        loop.create_task(health.not_serving()).add_done_callback(lambda _task: writer_died.set())

    notifier: Notifier | None = None
    forwarder: JlisForwarder | None = None

    def on_batch(size: int, seconds: float) -> None:
        metrics.batch_committed(size, seconds)
        if notifier is not None:
            notifier.wake()

    # writes run on this loop: no GIL contention
    store = open_store(config, loop, on_batch=on_batch, on_writer_death=on_writer_death)
    listener: MetricsListener | None = None
    try:
        limits = config.limits
        limit = limits.max_receive_message_bytes
        certificates = certificate_gate(config)
        guard = Guard(
            config.policy,
            network=NetworkGate(config.policy, NeighbourTable()),
            certificates=certificates,
            on_refusal=refusal_auditor(store, metrics),
            denials=DenialBound(limits.denied_per_identity, limits.denied_per_address, limits.denied_window_s),
            max_request_bytes=limit,
            sessions=SessionTable(
                idle_timeout_s=config.terminal.idle_timeout_s, lifetime_s=config.terminal.session_lifetime_s
            ),
        )
        server = grpc.aio.server(options=server_options(config))
        # every servicer registers through it
        guarded = GuardedServer(server, guard, max_request_bytes=limit, metrics=metrics)
        UpdateServicer(
            store, reads=store.reads, today=today, max_request_bytes=limit, on_refusal=metrics.refusal
        ).register(guarded)
        TerminalServicer(
            store,
            guard.sessions,
            max_results=config.terminal.search_max_results,
            municipality_name=config.municipality_name,
            rate_limit=RateLimit(config.terminal.lookups_per_minute),
            card_trust=CardTrust(config.card.ca, config.card.crl) if config.card is not None else None,
            today=today,
        ).register(guarded)
        SofusakiServicer(
            store,
            municipality_code=config.municipality_code,
            today=today,
            on_stored=lambda: forwarder.wake() if forwarder is not None else None,
        ).register(guarded)
        health.register(guarded)
        guarded.seal()
        port = _listen(server, config.listen, server_credentials(config))
        for address in config.also_listen:
            host, _, wanted = address.rpartition(":")
            # grpc hands a dynamic credentials object's initial configuration to its first port only
            _listen(server, f"{host}:{wanted if wanted != '0' else port}", server_credentials(config))
        metrics.registry.register(
            GatewayCollector(
                store_path=config.store_path,
                revocation=certificates.checkers,
                certificates=_certificate_files(config),
            )
        )
        if config.metrics.listen:
            listener = start_metrics_listener(config.metrics.listen, metrics.registry)
        await server.start()
        await health.serving()
        if config.prefecture is not None:
            notifier = Notifier(
                config,
                config.prefecture,
                store,
                certificates,
                registry=metrics.registry,
                on_stale=lambda stale: health.set_service(NOTIFIER_HEALTH, not stale),
            )
            await health.set_service(NOTIFIER_HEALTH, True)
            notifier.start()
        if config.jlis is not None:
            forwarder = JlisForwarder(
                config,
                config.jlis,
                store,
                certificates,
                registry=metrics.registry,
                on_stale=lambda stale: health.set_service(FORWARDER_HEALTH, not stale),
            )
            await health.set_service(FORWARDER_HEALTH, True)
            forwarder.start()
    except BaseException:
        # Off the loop thread (close() waits for the loop): the writer process signs the chain
        # head and exits. Left running, it would keep this process from ever exiting.
        await asyncio.to_thread(store.close)
        if listener is not None:
            listener.close()
        raise
    return RunningGateway(
        server=server,
        port=port,
        store=store,
        health=health,
        metrics=metrics,
        metrics_listener=listener,
        writer_died=writer_died,
        guard=guard,
        notifier=notifier,
        forwarder=forwarder,
    )


async def serve(config: GatewayConfig, *, on_ready: Callable[[int], None] | None = None) -> int:
    """Run until SIGTERM or SIGINT, then stop gracefully (in-flight updates finish): 0. If the
    store's writer process dies, stop at once and return EXIT_WRITER_DIED (see README, Supervision)."""
    stop = asyncio.Event()  # from the start: a SIGTERM during start-up or right after "listening" is graceful
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    gateway = await start_gateway(config)
    for warning in config_warnings(config):
        log.warning("config_warning", warning=warning)
    # What start-up made (protobuf descriptors, grpc, the policy, certificates, the store's
    # caches) lives as long as the process: out of the collector's view, a full collection no
    # longer walks it again and again between calls (a 38 ms pause was measured without).
    gc.collect()
    gc.freeze()
    if gateway.metrics_listener is not None:  # before "listening": who waits for that knows both
        listener = gateway.metrics_listener
        shown = f"[{listener.host}]" if ":" in listener.host else listener.host
        log.info("metrics_listening", address=f"{shown}:{listener.port}")
        print(f"cs-gateway metrics on http://{shown}:{listener.port}/metrics", flush=True)
    for address in (config.listen, *config.also_listen):
        host, _, wanted = address.rpartition(":")
        port = gateway.port if address == config.listen or wanted == "0" else int(wanted)
        log.info("listening", address=f"{host}:{port}", store=str(config.store_path))
        print(f"cs-gateway listening on {host}:{port}", flush=True)
    if on_ready is not None:
        on_ready(gateway.port)
    stopping = asyncio.create_task(stop.wait())
    died = asyncio.create_task(gateway.writer_died.wait())
    await asyncio.wait((stopping, died), return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    died.cancel()
    if gateway.writer_died.is_set():
        print(
            f"cs-gateway: the store's writer process died; exiting (code {EXIT_WRITER_DIED}) for the supervisor "
            "to restart the gateway",
            file=sys.stderr,
            flush=True,
        )
        await gateway.stop(WRITER_DIED_GRACE_S)
        return EXIT_WRITER_DIED
    print("cs-gateway stopping", file=sys.stderr, flush=True)
    await gateway.stop()
    return 0
