"""Shared fixtures: a dev PKI made at test time, and gateways on loopback port 0."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import grpc
import pytest

from cs_gateway.config import GatewayConfig, load_config
from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2_grpc
from cs_gateway.process import write_dev_config
from cs_gateway.server import RunningGateway, start_gateway
from pki.dev_pki import DevPki, init_dev_pki

TODAY = date(2026, 11, 29)


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
    config = load_config(
        write_dev_config(tmp_path / "gw.toml", pki_dir=dev_pki.directory, store_path=tmp_path / "cs.sqlite3")
    )
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
