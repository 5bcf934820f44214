"""The counter-terminal side of the integration tests: operators enrolled by the admin command,
the in-process gateway over real mTLS, a terminal stub with the operator's session."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import grpc

from cs_gateway import operator_commands
from cs_gateway.config import GatewayConfig, load_config
from cs_gateway.gen.jukinet.cs.v1 import terminal_service_pb2 as tpb
from cs_gateway.gen.jukinet.cs.v1 import terminal_service_pb2_grpc as tgrpc
from cs_gateway.process import write_dev_config
from cs_gateway.security.operator_auth import totp_code
from cs_gateway.security.sessions import METADATA_KEY
from pki.dev_pki import DevPki, IssuedCertificate
from tests.conftest import InProcessGateway, in_process_gateway

PASSWORD = "correct horse battery"


def session(token: str) -> tuple[tuple[str, str]]:
    return ((METADATA_KEY, token),)


@dataclass
class Counter:
    gw: InProcessGateway
    secrets: dict[str, str]

    def stub(self, cert: IssuedCertificate | None = None) -> tgrpc.TerminalServiceStub:
        if cert is None:
            return tgrpc.TerminalServiceStub(self.gw.channel("terminal"))
        credentials = grpc.ssl_channel_credentials(
            root_certificates=self.gw.pki.ca_cert_path.read_bytes(),
            private_key=cert.key_pem,
            certificate_chain=cert.cert_pem,
        )
        return tgrpc.TerminalServiceStub(grpc.secure_channel(f"localhost:{self.gw.port}", credentials))

    def login(self, operator_id: str, stub: tgrpc.TerminalServiceStub | None = None, **how: str) -> tpb.LoginResponse:
        request = tpb.LoginRequest(
            operator_id=operator_id,
            password=how.get("password", PASSWORD),
            totp_code=how.get("code", totp_code(self.secrets.get(operator_id, "A" * 32), time.time())),
        )
        return (stub or self.stub()).Login(request, timeout=30)

    def audit(self, sql: str) -> list[tuple]:
        conn = sqlite3.connect(f"file:{self.gw.config.store_path}?mode=ro", uri=True)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()


@contextmanager
def counter_gateway(
    tmp_path: Path,
    dev_pki: DevPki,
    operators: dict[str, str],
    terminal_config: str = "",
    extra_config: str = "",
    before_start: Callable[[GatewayConfig], object] | None = None,
) -> Iterator[Counter]:
    """Operators (id -> role) enrolled with PASSWORD, then ``before_start`` (e.g. an 初期移行),
    then the gateway started on their store."""
    config_path = write_dev_config(tmp_path / "gw.toml", pki_dir=dev_pki.directory, store_path=tmp_path / "cs.sqlite3")
    if terminal_config:
        config_path.write_text(config_path.read_text() + "\n[terminal]\n" + terminal_config)
    if extra_config:  # further sections, e.g. [card]
        config_path.write_text(config_path.read_text() + "\n" + extra_config)
    config = load_config(config_path)
    secrets = {}
    for operator_id, role in operators.items():
        _, uri = operator_commands.add(config, operator_id, role, PASSWORD)
        secrets[operator_id] = parse_qs(urlparse(uri).query)["secret"][0]
    if before_start is not None:
        before_start(config)
    with in_process_gateway(config, dev_pki) as gw:
        yield Counter(gw, secrets)
