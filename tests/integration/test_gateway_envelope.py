"""The security envelope on the real gateway: revocation while connected and certificate
rotation, both without a restart (each test has its own PKI: it revokes and rotates)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from cryptography import x509

from clients.synthetic import synthetic_entry, tennyu_request
from cs_gateway.config import load_config
from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2 as upb
from cs_gateway.process import write_dev_config
from pki.crl import revoke, rotate
from pki.dev_pki import DevPki, init_dev_pki
from pki.testing import server_certificate
from tests.conftest import InProcessGateway, in_process_gateway
from tests.grpc_helpers import error_info


@pytest.fixture
def private_gateway(tmp_path: Path) -> Iterator[InProcessGateway]:
    pki = init_dev_pki(tmp_path / "pki")
    config = write_dev_config(tmp_path / "gw.toml", pki_dir=pki.directory, store_path=tmp_path / "cs.sqlite3")
    with in_process_gateway(load_config(config), pki) as gateway:
        yield gateway


def _denials(gateway: InProcessGateway) -> list[tuple[str, str]]:
    conn = sqlite3.connect(f"file:{gateway.config.store_path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT outcome, reason FROM audit_log WHERE outcome = 'denied'").fetchall()
    finally:
        conn.close()


def test_certificate_revoked_while_connected_is_refused_at_its_next_rpc(private_gateway: InProcessGateway) -> None:
    stub = private_gateway.stub()
    stub.Apply(tennyu_request(1), timeout=10)  # the connection is open and working
    revoke(private_gateway.pki.directory, private_gateway.pki.cert_path("kizon-juki"), "key_compromise")
    deadline = time.monotonic() + 10
    while True:  # the CRL file is re-examined at most once a second
        try:
            stub.GetRecord(upb.GetRecordRequest(juminhyo_code=synthetic_entry(1).juminhyo_code), timeout=10)
        except grpc.RpcError as err:
            assert err.code() == grpc.StatusCode.PERMISSION_DENIED
            assert error_info(err).reason == "ACCESS_DENIED"
            break
        assert time.monotonic() < deadline, "the revocation was not honoured"
        time.sleep(0.2)
    assert ("denied", "revocation:REVOKED") in _denials(private_gateway)


def test_server_certificate_rotated_without_restart(private_gateway: InProcessGateway) -> None:
    pki: DevPki = private_gateway.pki
    stub = private_gateway.stub()  # opened before the rotation
    stub.Apply(tennyu_request(1), timeout=10)

    def presented() -> x509.Certificate:
        return server_certificate(
            private_gateway.port,
            ca_path=pki.ca_cert_path,
            cert_path=pki.cert_path("kizon-juki"),
            key_path=pki.key_path("kizon-juki"),
        )

    before = presented().serial_number
    rotated = rotate(pki.directory, "cs")
    assert rotated.serial != before
    assert presented().serial_number == rotated.serial  # a new connection gets the new certificate
    stub.Apply(tennyu_request(2), timeout=10)  # the open channel keeps working
    fresh = private_gateway.stub()
    assert fresh.Apply(tennyu_request(3), timeout=10).record.update_seq == 3
