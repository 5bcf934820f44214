"""Revocation on a live mTLS server: every RPC checks the caller's certificate against the CRL,
so a revocation (or a CRL problem) takes effect on the next call, even on an open connection."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from cryptography import x509

from cs_gateway.security.revocation import RevocationChecker
from pki.crl import issue, revoke, write_crl
from pki.dev_pki import DevPki, init_dev_pki
from pki.testing import channel_credentials, echo, echo_server, secure_channel


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Live:
    pki: DevPki
    port: int
    clock: Clock
    refusals: list[str]

    def channel(self, cert: Path, key: Path) -> grpc.Channel:
        return secure_channel(
            self.port, channel_credentials(self.pki.ca_cert_path.read_bytes(), cert.read_bytes(), key.read_bytes())
        )

    def role_channel(self, role: str) -> grpc.Channel:
        return self.channel(self.pki.cert_path(role), self.pki.key_path(role))


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    pki = init_dev_pki(tmp_path / "dev")
    clock = Clock()
    checker = RevocationChecker(pki.crl_path, pki.intermediate_cert_path, clock=clock)
    refusals: list[str] = []

    def check(context: grpc.ServicerContext) -> tuple[grpc.StatusCode, str] | None:
        leaf = context.auth_context()["x509_pem_cert"][0]
        reason = checker.check(leaf)
        if reason is None:
            return None
        refusals.append(reason)
        return grpc.StatusCode.PERMISSION_DENIED, "access denied"  # the reason stays in the server's log

    credentials = grpc.ssl_server_credentials(
        [(pki.key_path("cs").read_bytes(), pki.cert_path("cs").read_bytes())],
        root_certificates=pki.ca_cert_path.read_bytes(),
        require_client_auth=True,
    )
    with echo_server(credentials, check=check) as port:
        yield Live(pki=pki, port=port, clock=clock, refusals=refusals)


def _refused(channel: grpc.Channel) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as caught:
        echo(channel)
    return caught.value.code()


def test_revocation_takes_effect_on_the_next_call_of_an_open_connection(live: Live) -> None:
    kizon = live.role_channel("kizon-juki")
    terminal = live.role_channel("terminal")
    assert echo(kizon) == b"ping" and echo(terminal) == b"ping"

    revoke(live.pki.directory, live.pki.cert_path("kizon-juki"), "key_compromise")  # re-signs crl.pem

    assert _refused(kizon) == grpc.StatusCode.PERMISSION_DENIED  # same TLS session, refused by the CRL
    assert _refused(live.role_channel("kizon-juki")) == grpc.StatusCode.PERMISSION_DENIED
    assert echo(terminal) == b"ping"
    assert live.refusals == ["REVOKED", "REVOKED"]


def test_a_newly_issued_certificate_for_the_same_host_is_accepted(live: Live) -> None:
    revoke(live.pki.directory, live.pki.cert_path("kizon-juki"), "superseded")
    files = issue(live.pki.directory, "kizon-juki", "kizon-juki-02")
    assert echo(live.channel(files.cert_path, files.key_path)) == b"ping"


def test_missing_or_stale_crl_refuses_everyone_until_a_fresh_one_is_published(live: Live) -> None:
    channel = live.role_channel("kizon-juki")
    assert echo(channel) == b"ping"
    saved = live.pki.crl_path.read_bytes()
    live.pki.crl_path.unlink()
    assert _refused(channel) == grpc.StatusCode.PERMISSION_DENIED
    live.pki.crl_path.write_bytes(saved)
    assert echo(channel) == b"ping"

    live.clock.now += timedelta(days=8)  # past next_update
    assert _refused(channel) == grpc.StatusCode.PERMISSION_DENIED
    write_crl(live.pki.directory, now=live.clock.now)
    assert echo(channel) == b"ping"
    assert live.refusals == ["CRL_UNAVAILABLE", "CRL_STALE"]


def test_revoked_serial_is_listed_in_the_published_crl(live: Live) -> None:
    record = revoke(live.pki.directory, live.pki.cert_path("terminal"), "cessation_of_operation")
    crl = x509.load_pem_x509_crl(live.pki.crl_path.read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(record.serial) is not None
    assert _refused(live.role_channel("terminal")) == grpc.StatusCode.PERMISSION_DENIED
