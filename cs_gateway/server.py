"""The composition root: configuration -> store, policy, servicers, the mTLS port."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import grpc

from pki.profiles import ROLES

from .api.guard import Guard, GuardedServer
from .api.update_codec import UpdateCodec
from .api.update_servicer import UpdateServicer
from .audit.event import Actor, AuditEvent
from .audit.keys import load_or_create_hmac_key
from .audit.signing import CheckpointSigner
from .audit.spec import AuditSpec
from .clock import Today, jst_today
from .config import GatewayConfig
from .logging_setup import get_logger
from .security.identity import PeerIdentity
from .security.neighbours import NeighbourTable
from .security.network import NetworkGate
from .security.revocation import RevocationChecker
from .security.tls_reload import reloading_server_credentials
from .store.sqlite_store import SqliteStore

log = get_logger("cs_gateway.server")


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


def revocation_checker(config: GatewayConfig) -> RevocationChecker:
    tls = config.tls
    checker = RevocationChecker(tls.crl, tls.crl_issuer, stat_interval=1.0)
    status = checker.status()
    if status.error is not None:
        log.warning("crl_unusable", reason=status.error, crl=str(tls.crl))  # every RPC will be refused
    else:
        log.info("crl_loaded", revoked=status.revoked_count, next_update=status.next_update.isoformat())
    return checker


def _trail_is_empty(store_path: Path) -> bool:
    if not store_path.exists():
        return True
    conn = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT 1 FROM audit_log LIMIT 1").fetchone() is None
    except sqlite3.OperationalError:
        return True  # no audit table yet: the migration will create it
    finally:
        conn.close()


def open_store(config: GatewayConfig, loop: asyncio.AbstractEventLoop | None = None) -> SqliteStore:
    """The store with its audit trail (subject HMAC key, checkpoints signed with the CS key),
    written by a writer process of its own."""
    key = load_or_create_hmac_key(config.audit.hmac_key, may_create=_trail_is_empty(config.store_path))
    CheckpointSigner.from_files(config.tls.key, config.tls.cert)  # fail here, not in the writer, on a bad key
    spec = AuditSpec(
        hmac_key=key,
        signing_key=config.tls.key,
        signing_cert=config.tls.cert,
        checkpoint_every=config.audit.checkpoint_every,
    )
    # decodes Apply requests in the writer
    codec = UpdateCodec(municipality_code=config.municipality_code, rules=config.rules)
    return SqliteStore(config.store_path, audit=spec, loop=loop, writer="process", codec=codec)


def refusal_auditor(store: SqliteStore) -> Callable[[str, str, str, str, PeerIdentity | None], Awaitable[None]]:
    """The guard's refusals (denied callers; requests too large or unparsable), audited."""

    async def audit_refusal(method: str, peer: str, outcome: str, rule: str, identity: PeerIdentity | None) -> None:
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
        event = AuditEvent(action=method, outcome=outcome, actor=actor, reason=rule)
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

    async def stop(self, grace: float | None = 5.0) -> None:
        await self.server.stop(grace)
        await asyncio.to_thread(self.store.close)
        log.info(  # read by bench/bench_audit.py
            "store_stats",
            commits=self.store.commits,
            audit_entries_seconds=round(self.store.audit_seconds, 6),
            cpu_seconds=round(time.process_time(), 3),
        )


async def start_gateway(config: GatewayConfig, *, today: Today = jst_today) -> RunningGateway:
    store = open_store(config, asyncio.get_running_loop())  # writes run on this loop: no GIL contention
    try:
        guard = Guard(
            config.policy,
            network=NetworkGate(config.policy, NeighbourTable()),
            revocation=revocation_checker(config),
            trust_domain=config.trust_domain,
            known_roles=frozenset(ROLES),
            on_refusal=refusal_auditor(store),
        )
        server = grpc.aio.server(options=server_options(config))
        limit = config.limits.max_receive_message_bytes
        guarded = GuardedServer(server, guard, max_request_bytes=limit)  # every servicer registers through it
        UpdateServicer(store, today=today, max_request_bytes=limit).register(guarded)
        guarded.seal()
        port = _listen(server, config.listen, server_credentials(config))
        for address in config.also_listen:
            host, _, wanted = address.rpartition(":")
            # grpc hands a dynamic credentials object's initial configuration to its first port only
            _listen(server, f"{host}:{wanted if wanted != '0' else port}", server_credentials(config))
        await server.start()
    except BaseException:
        # Off the loop thread (close() waits for the loop): the writer process signs the chain
        # head and exits. Left running, it would keep this process from ever exiting.
        await asyncio.to_thread(store.close)
        raise
    return RunningGateway(server=server, port=port, store=store)


async def serve(config: GatewayConfig, *, on_ready: Callable[[int], None] | None = None) -> None:
    """Run until SIGTERM or SIGINT, then stop gracefully (in-flight updates finish)."""
    gateway = await start_gateway(config)
    for address in (config.listen, *config.also_listen):
        host, _, wanted = address.rpartition(":")
        port = gateway.port if address == config.listen or wanted == "0" else int(wanted)
        log.info("listening", address=f"{host}:{port}", store=str(config.store_path))
        print(f"cs-gateway listening on {host}:{port}", flush=True)
    if on_ready is not None:
        on_ready(gateway.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    print("cs-gateway stopping", file=sys.stderr, flush=True)
    await gateway.stop()
