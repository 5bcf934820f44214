"""Certificate and CA rotation without restart: real grpc servers on 127.0.0.1:0, real files.

The server's credentials follow cs.crt/cs.key/ca.crt on disk (cs_gateway.security.tls_reload).
A new connection sees the new material; a connection already open keeps its TLS session.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
import structlog
from cryptography import x509

from cs_gateway.security.tls_reload import (
    ReloadingChannel,
    ReloadingChannelCredentials,
    TlsMaterialError,
    load_tls_material,
    reloading_server_credentials,
)
from pki.crl import rotate
from pki.dev_pki import DevPki, init_dev_pki
from pki.testing import EchoHandler, channel_credentials, echo, echo_server, secure_channel, server_certificate


@pytest.fixture
def pki(tmp_path: Path) -> DevPki:
    return init_dev_pki(tmp_path / "dev")


@pytest.fixture
def server_port(pki: DevPki) -> Iterator[int]:
    credentials = reloading_server_credentials(pki.cert_path("cs"), pki.key_path("cs"), pki.ca_cert_path)
    with echo_server(credentials) as port:
        yield port


def _serial(path: Path) -> int:
    return x509.load_pem_x509_certificate(path.read_bytes()).serial_number


def _client(pki: DevPki, port: int, role: str = "kizon-juki", *, trust: bytes | None = None) -> grpc.Channel:
    credentials = channel_credentials(
        trust if trust is not None else pki.ca_cert_path.read_bytes(),
        pki.cert_path(role).read_bytes(),
        pki.key_path(role).read_bytes(),
    )
    return secure_channel(port, credentials)


def _served_serial(pki: DevPki, port: int, *, ca: Path | None = None) -> int:
    """The serial of the certificate the server presents on a NEW connection."""
    cert = server_certificate(
        port,
        ca_path=ca or pki.ca_cert_path,
        cert_path=pki.cert_path("kizon-juki"),
        key_path=pki.key_path("kizon-juki"),
    )
    return cert.serial_number


def _replace(path: Path, data: bytes) -> None:
    staged = path.with_name(f".{path.name}.new")
    staged.write_bytes(data)
    os.replace(staged, path)


def test_rotated_server_cert_is_served_on_new_connections_while_open_ones_keep_working(
    pki: DevPki, server_port: int
) -> None:
    old_serial = _serial(pki.cert_path("cs"))
    assert _served_serial(pki, server_port) == old_serial
    open_channel = _client(pki, server_port)
    assert echo(open_channel, b"before") == b"before"

    rotated = rotate(pki.directory, "cs")
    assert rotated.serial != old_serial

    assert _served_serial(pki, server_port) == rotated.serial
    assert echo(open_channel, b"after") == b"after"  # the open connection is untouched
    fresh = _client(pki, server_port)
    assert echo(fresh, b"fresh") == b"fresh"
    rotated_again = rotate(pki.directory, "cs")
    assert _served_serial(pki, server_port) == rotated_again.serial
    assert echo(open_channel, b"still") == b"still"
    open_channel.close()
    fresh.close()


def test_ca_bundle_rotated_to_a_new_root_accepts_its_clients_on_new_connections(
    pki: DevPki, server_port: int, tmp_path: Path
) -> None:
    new = init_dev_pki(tmp_path / "new-root")
    old_root = pki.ca_cert_path.read_bytes()
    new_root = new.ca_cert_path.read_bytes()
    # New clients still verify the server (whose cs.crt chains to the old root).
    new_client = _client(new, server_port, trust=old_root)
    with pytest.raises(grpc.RpcError) as caught:
        echo(new_client)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    new_client.close()
    old_open = _client(pki, server_port)
    assert echo(old_open) == b"ping"

    _replace(pki.ca_cert_path, old_root + new_root)  # transition: both roots trusted
    new_client = _client(new, server_port, trust=old_root)
    assert echo(new_client, b"new") == b"new"
    old_fresh = _client(pki, server_port)
    assert echo(old_fresh, b"old") == b"old"
    old_fresh.close()

    _replace(pki.ca_cert_path, new_root)  # end of transition: old-root clients refused on new connections
    old_fresh = _client(pki, server_port, trust=old_root)
    with pytest.raises(grpc.RpcError) as caught:
        echo(old_fresh)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    old_fresh.close()
    assert echo(_client(new, server_port, trust=old_root), b"new2") == b"new2"
    assert echo(old_open, b"open") == b"open"  # an established session is not re-verified
    assert echo(new_client, b"new-open") == b"new-open"
    old_open.close()
    new_client.close()


def test_key_not_matching_the_cert_keeps_the_old_configuration(pki: DevPki, server_port: int) -> None:
    old_serial = _serial(pki.cert_path("cs"))
    key_backup = pki.key_path("cs").read_bytes()
    with structlog.testing.capture_logs() as logs:
        _replace(pki.key_path("cs"), pki.key_path("terminal").read_bytes())  # a valid key, the wrong one
        assert _served_serial(pki, server_port) == old_serial
        assert echo(_client(pki, server_port), b"ok") == b"ok"
        pem_label = b"PRIVATE " + b"KEY"  # spelt apart: no key-looking text is committed
        _replace(pki.key_path("cs"), b"-----BEGIN " + pem_label + b"-----\ngarbage\n-----END " + pem_label + b"-----\n")
        assert _served_serial(pki, server_port) == old_serial
        pki.cert_path("cs").unlink()
        assert _served_serial(pki, server_port) == old_serial
    reasons = [entry["reason"] for entry in logs if entry["event"] == "tls_reload_rejected"]
    assert reasons == ["KEY_DOES_NOT_MATCH_CERT", "KEY_UNPARSABLE", "FILE_UNREADABLE"]
    logged = repr(logs)
    assert "PRIVATE KEY" not in logged and "garbage" not in logged
    assert key_backup.decode().splitlines()[1] not in logged

    restored = pki.load_ca().issue("cs", "cs-01", trust_domain=pki.trust_domain)
    _replace(pki.key_path("cs"), restored.key_pem)
    _replace(pki.cert_path("cs"), restored.cert_pem)
    assert _served_serial(pki, server_port) == restored.cert.serial_number


def test_expired_replacement_is_not_taken(pki: DevPki, server_port: int) -> None:
    old_serial = _serial(pki.cert_path("cs"))
    now = datetime.now(UTC)
    expired = pki.load_ca().issue(
        "cs",
        "cs-01",
        trust_domain=pki.trust_domain,
        not_before=now - timedelta(days=2),
        not_after=now - timedelta(days=1),
    )
    _replace(pki.key_path("cs"), expired.key_pem)
    _replace(pki.cert_path("cs"), expired.cert_pem)
    assert _served_serial(pki, server_port) == old_serial


def test_unusable_files_at_start_are_refused(pki: DevPki) -> None:
    with pytest.raises(TlsMaterialError) as caught:
        reloading_server_credentials(pki.cert_path("cs"), pki.key_path("terminal"), pki.ca_cert_path)
    assert caught.value.reason == "KEY_DOES_NOT_MATCH_CERT"
    material = load_tls_material(pki.cert_path("cs"), pki.key_path("cs"), pki.ca_cert_path)
    assert "PRIVATE" not in repr(material)


def test_rotation_works_with_a_grpc_aio_server(pki: DevPki) -> None:
    """The gateway runs grpc.aio: the fetcher must be called there too."""

    async def scenario() -> tuple[int, int, bytes]:
        server = grpc.aio.server()
        server.add_generic_rpc_handlers([EchoHandler()])
        credentials = reloading_server_credentials(pki.cert_path("cs"), pki.key_path("cs"), pki.ca_cert_path)
        port = server.add_secure_port("127.0.0.1:0", credentials)
        await server.start()
        try:

            def client_side() -> tuple[int, int, bytes]:
                before = _served_serial(pki, port)
                rotated = rotate(pki.directory, "cs")
                after = _served_serial(pki, port)
                assert after == rotated.serial
                return before, after, echo(_client(pki, port), b"aio")

            return await asyncio.to_thread(client_side)
        finally:
            await server.stop(0)

    before, after, reply = asyncio.run(scenario())
    assert before != after and reply == b"aio"


def test_outbound_channel_follows_a_rotated_client_certificate(pki: DevPki) -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def record(context: grpc.ServicerContext) -> None:
        pem = context.auth_context()["x509_pem_cert"][0]
        with lock:
            seen.append(x509.load_pem_x509_certificate(pem).serial_number)
        return None

    server_credentials = grpc.ssl_server_credentials(
        [(pki.key_path("cs").read_bytes(), pki.cert_path("cs").read_bytes())],
        root_certificates=pki.ca_cert_path.read_bytes(),
        require_client_auth=True,
    )
    with echo_server(server_credentials, check=record) as port:
        credentials = ReloadingChannelCredentials(
            pki.cert_path("prefecture"), pki.key_path("prefecture"), pki.ca_cert_path
        )
        channels = ReloadingChannel(f"localhost:{port}", credentials)
        first = channels.get()
        assert channels.get() is first  # nothing changed: same channel
        assert echo(first) == b"ping"
        rotated = rotate(pki.directory, "prefecture")
        second = channels.get()
        assert second is not first and credentials.serial == rotated.serial
        assert echo(second) == b"ping"
        assert echo(first) == b"ping"  # the retired channel still works until closed
        assert channels.retire() == [first]
        first.close()
        channels.close()
    assert seen[0] != rotated.serial and seen[-2] == rotated.serial
