"""TLS settings of the running gateway (a real `cs-gateway serve` process): TLS 1.3 preferred,
TLS 1.2 only with ECDHE + AEAD suites, nothing older; idle handshakes are cut off."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator

import pytest

from cs_gateway.process import GatewayProcess, start_gateway_process, write_dev_config
from pki.dev_pki import DevPki


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, dev_pki: DevPki) -> Iterator[GatewayProcess]:
    tmp = tmp_path_factory.mktemp("tls")
    config = write_dev_config(tmp / "gw.toml", pki_dir=dev_pki.directory, store_path=tmp / "cs.sqlite3")
    config.write_text(config.read_text() + "\n[limits]\nhandshake_timeout_ms = 1500\n")
    gateway = start_gateway_process(config)
    yield gateway
    gateway.stop()


def _handshake(port: int, pki: DevPki, *, ciphers: str | None = None, tls12_only: bool = False, old: bool = False):  # noqa: ANN202
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(pki.ca_cert_path))
    context.load_cert_chain(str(pki.cert_path("kizon-juki")), str(pki.key_path("kizon-juki")))
    context.set_alpn_protocols(["h2"])
    if ciphers:
        context.set_ciphers(ciphers)
    if tls12_only:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
    if old:
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        return tls.version(), tls.cipher()[0]


def test_tls13_is_negotiated_by_default(served: GatewayProcess, dev_pki: DevPki) -> None:
    assert _handshake(served.port, dev_pki)[0] == "TLSv1.3"


@pytest.mark.parametrize(
    "suite", ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"]
)
def test_tls12_accepts_ecdhe_aead_suites(served: GatewayProcess, dev_pki: DevPki, suite: str) -> None:
    assert _handshake(served.port, dev_pki, ciphers=suite, tls12_only=True) == ("TLSv1.2", suite)


@pytest.mark.parametrize(
    "suite", ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "AES128-GCM-SHA256", "AES256-SHA"]
)
def test_tls12_refuses_cbc_and_static_key_exchange(served: GatewayProcess, dev_pki: DevPki, suite: str) -> None:
    with pytest.raises((ssl.SSLError, OSError)):
        _handshake(served.port, dev_pki, ciphers=suite, tls12_only=True)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tls11_and_older_refused(served: GatewayProcess, dev_pki: DevPki) -> None:
    with pytest.raises((ssl.SSLError, OSError)):
        _handshake(served.port, dev_pki, old=True)


def test_idle_connection_without_handshake_is_closed(served: GatewayProcess) -> None:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as raw:
        try:
            data = raw.recv(1)  # we never send a ClientHello
        except ConnectionResetError:
            data = b""
    assert data == b""
    assert time.monotonic() - started < 8, "the handshake timeout did not close the connection"
