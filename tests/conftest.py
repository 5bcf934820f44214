"""Shared fixtures: a dev PKI made at test time, and gateways on loopback port 0."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import grpc
import pytest

from cs_gateway.app.apply_update import UpdateOutcome, prepare_update
from cs_gateway.audit.event import Actor
from cs_gateway.audit.spec import AuditSpec
from cs_gateway.config import GatewayConfig, load_config
from cs_gateway.domain.record import UpdateCommand
from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2_grpc
from cs_gateway.process import write_dev_config
from cs_gateway.server import RunningGateway, command_registry, start_gateway
from cs_gateway.store.sqlite_store import SqliteStore
from pki.dev_pki import DevPki, init_dev_pki

TODAY = date(2026, 11, 29)
MUNICIPALITY = "022021"


@pytest.fixture(scope="session")
def dev_pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return init_dev_pki(tmp_path_factory.mktemp("pki") / "dev")


def channel_for(pki: DevPki, role: str, port: int) -> grpc.Channel:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=pki.ca_cert_path.read_bytes(),
        private_key=pki.key_path(role).read_bytes(),
        certificate_chain=pki.cert_path(role).read_bytes(),
    )
    return grpc.secure_channel(f"localhost:{port}", credentials)


@dataclass
class InProcessGateway:
    running: RunningGateway
    config: GatewayConfig
    pki: DevPki
    loop: asyncio.AbstractEventLoop

    @property
    def port(self) -> int:
        return self.running.port

    def channel(self, role: str = "kizon-juki") -> grpc.Channel:
        return channel_for(self.pki, role, self.port)

    def stub(self, role: str = "kizon-juki") -> update_service_pb2_grpc.UpdateServiceStub:
        return update_service_pb2_grpc.UpdateServiceStub(self.channel(role))


@pytest.fixture
def gateway(tmp_path: Path, dev_pki: DevPki) -> Iterator[InProcessGateway]:
    """The real gateway (mTLS, SQLite file) in this process, on its own event loop thread."""
    config_path = write_dev_config(tmp_path / "gw.toml", pki_dir=dev_pki.directory, store_path=tmp_path / "cs.sqlite3")
    with in_process_gateway(load_config(config_path), dev_pki) as running:
        yield running


@contextlib.contextmanager
def in_process_gateway(config: GatewayConfig, dev_pki: DevPki) -> Iterator[InProcessGateway]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    running = asyncio.run_coroutine_threadsafe(start_gateway(config, today=lambda: TODAY), loop).result(30)
    try:
        yield InProcessGateway(running=running, config=config, pki=dev_pki, loop=loop)
    finally:
        asyncio.run_coroutine_threadsafe(running.stop(0), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


TEST_HMAC_KEY = b"k" * 32
TEST_ACTOR = Actor(spiffe_id="spiffe://hirosaki.jukinet.test/kizon-juki/kizon-juki-01", peer="ipv4:127.0.0.1:1")
APPLY = "/jukinet.cs.v1.UpdateService/Apply"


def new_store(path: Path, pki: DevPki | None = None, *, checkpoint_every: int = 1000) -> SqliteStore:
    """A real store (its writer process, the production registry) with a real audit trail
    (checkpoints signed with the cs key when pki given)."""
    spec = AuditSpec(
        hmac_key=TEST_HMAC_KEY,
        signing_key=pki.key_path("cs") if pki else None,
        signing_cert=pki.cert_path("cs") if pki else None,
        checkpoint_every=checkpoint_every,
    )
    return SqliteStore(path, audit=spec, registry=command_registry(MUNICIPALITY))


class AuditedApply:
    """An update as the writer runs it: format-checked into a command (prepare_update, as the
    wire codec does), then run by the registered handler; called as the kizon-juki test actor."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    def submit(self, cmd: UpdateCommand) -> Future[UpdateOutcome]:
        prepared = prepare_update(cmd, actor=TEST_ACTOR, action=APPLY, today=TODAY, municipality_code=MUNICIPALITY)
        return self.store.submit(prepared)  # type: ignore[return-value]
