"""Denied calls are audited up to a bound per certificate and per peer address; beyond it the
caller is cut off, and the cut-off is audited once at its start and once with its count at its
end (issue 10 item 5). A real gateway process with a small bound and a 3 s window."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from cryptography.hazmat.primitives import hashes

from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2 as upb
from cs_gateway.process import GatewayProcess, start_gateway_process, write_dev_config
from pki.dev_pki import DevPki, IssuedCertificate, init_dev_pki

GET_RECORD = "/jukinet.cs.v1.UpdateService/GetRecord"
TERMINAL_LOOKUP = "/jukinet.cs.v1.TerminalService/LookupByJuminhyoCode"  # denied to everyone
MALFORMED_READ = upb.GetRecordRequest(juminhyo_code="probe").SerializeToString()  # served: INVALID_ARGUMENT
PER_IDENTITY, PER_ADDRESS, WINDOW_S = 5, 12, 3


@dataclass
class Bounded:
    process: GatewayProcess
    pki: DevPki
    store: Path

    def call(self, chain: bytes, key: bytes, method: str, channel: grpc.Channel | None = None) -> grpc.StatusCode:
        own = channel is None
        if channel is None:
            credentials = grpc.ssl_channel_credentials(self.pki.ca_cert_path.read_bytes(), key, chain)
            options = [("grpc.ssl_target_name_override", "localhost"), ("grpc.use_local_subchannel_pool", 1)]
            channel = grpc.secure_channel(self.process.target, credentials, options=options)
        try:
            channel.unary_unary(method)(MALFORMED_READ if method == GET_RECORD else b"", timeout=10)
            return grpc.StatusCode.OK
        except grpc.RpcError as err:
            return err.code()  # type: ignore[attr-defined, no-any-return]
        finally:
            if own:
                channel.close()

    def fresh(self, host: str = "kizon-juki-01") -> IssuedCertificate:
        return self.pki.load_ca().issue("kizon-juki", host, trust_domain=self.pki.trust_domain)

    def rows(self) -> list[sqlite3.Row]:
        conn = sqlite3.connect(f"file:{self.store}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        try:
            return conn.execute("SELECT * FROM audit_log WHERE outcome = 'denied' ORDER BY seq").fetchall()
        finally:
            conn.close()


def _start(tmp_path: Path, window_s: int) -> Bounded:
    pki = init_dev_pki(tmp_path / "pki")
    store = tmp_path / "cs.sqlite3"
    config = write_dev_config(tmp_path / "gw.toml", pki_dir=pki.directory, store_path=store)
    config.write_text(
        config.read_text(encoding="utf-8")
        + f"\n[limits]\ndenied_per_identity = {PER_IDENTITY}\ndenied_per_address = {PER_ADDRESS}\n"
        f"denied_window_s = {window_s}\n",
        encoding="utf-8",
    )
    with (tmp_path / "gateway.log").open("w", encoding="utf-8") as log:
        process = start_gateway_process(config, stderr=log.fileno())
    return Bounded(process, pki, store)


@pytest.fixture
def bounded(tmp_path: Path) -> Iterator[Bounded]:
    running = _start(tmp_path, WINDOW_S)
    try:
        yield running
    finally:
        running.process.stop()


def _wait_for(bounded: Bounded, rule: str) -> list[sqlite3.Row]:
    deadline = time.monotonic() + WINDOW_S + 5
    while not (found := [r for r in bounded.rows() if r["reason"] == rule]):
        assert time.monotonic() < deadline, f"no {rule} entry"
        time.sleep(0.2)
    return found


def test_a_certificate_flooding_denied_calls_is_cut_off_and_the_trail_stays_bounded(bounded: Bounded) -> None:
    flooder = bounded.fresh()
    writer = (bounded.pki.cert_path("kizon-juki").read_bytes(), bounded.pki.key_path("kizon-juki").read_bytes())
    fingerprint = flooder.cert.fingerprint(hashes.SHA256()).hex()
    answers = {bounded.call(flooder.cert_pem, flooder.key_pem, TERMINAL_LOOKUP) for _ in range(40)}
    assert answers == {grpc.StatusCode.PERMISSION_DENIED}
    # cut off: even what this certificate may do is refused now; another one from the same address is not
    assert bounded.call(flooder.cert_pem, flooder.key_pem, GET_RECORD) == grpc.StatusCode.PERMISSION_DENIED
    assert bounded.call(*writer, GET_RECORD) == grpc.StatusCode.INVALID_ARGUMENT

    mine = [r for r in bounded.rows() if r["cert_fingerprint"] == fingerprint]
    assert [r["reason"] for r in mine] == ["policy:role-not-allowed"] * PER_IDENTITY + ["rate:cut-off"]
    assert mine[-1]["detail"].startswith(f"identity over {PER_IDENTITY} denied calls in {WINDOW_S} s")

    (ended,) = _wait_for(bounded, "rate:cut-off-ended")  # once, with the count of what was refused unaudited
    assert ended["cert_fingerprint"] == fingerprint
    # suppressed: the flood after the cut-off, and the GetRecord
    assert ended["detail"].endswith(f"suppressed={40 - PER_IDENTITY - 1 + 1}")
    assert bounded.call(flooder.cert_pem, flooder.key_pem, GET_RECORD) == grpc.StatusCode.INVALID_ARGUMENT


def test_an_address_flooding_with_many_certificates_is_cut_off(bounded: Bounded) -> None:
    writer = (bounded.pki.cert_path("kizon-juki").read_bytes(), bounded.pki.key_path("kizon-juki").read_bytes())
    for _ in range(5):  # each certificate stays under its own bound; together they pass the address's
        flooder = bounded.fresh()
        for _ in range(PER_IDENTITY - 1):
            assert bounded.call(flooder.cert_pem, flooder.key_pem, TERMINAL_LOOKUP) == grpc.StatusCode.PERMISSION_DENIED
    assert bounded.call(*writer, GET_RECORD) == grpc.StatusCode.PERMISSION_DENIED  # the whole address is cut off
    rows = bounded.rows()
    assert [r["reason"] for r in rows] == ["policy:role-not-allowed"] * PER_ADDRESS + ["rate:cut-off"]
    assert rows[-1]["detail"].startswith(f"address over {PER_ADDRESS} denied calls")
    assert all(r["peer"].startswith("ipv4:127.0.0.1:") for r in rows)
    (ended,) = _wait_for(bounded, "rate:cut-off-ended")
    assert ended["detail"].endswith(f"suppressed={5 * (PER_IDENTITY - 1) - PER_ADDRESS - 1 + 1}")
    assert bounded.call(*writer, GET_RECORD) == grpc.StatusCode.INVALID_ARGUMENT


def test_a_cut_off_still_running_at_shutdown_has_its_count_audited(tmp_path: Path) -> None:
    running = _start(tmp_path, 600)  # the window would end long after the gateway
    try:
        flooder = running.fresh()
        for _ in range(PER_IDENTITY + 4):
            assert running.call(flooder.cert_pem, flooder.key_pem, TERMINAL_LOOKUP) == grpc.StatusCode.PERMISSION_DENIED
    finally:
        assert running.process.stop() == 0
    reasons = [(r["reason"], r["detail"]) for r in running.rows() if r["reason"].startswith("rate:")]
    assert [reason for reason, _ in reasons] == ["rate:cut-off", "rate:cut-off-ended"]
    assert reasons[-1][1] == "identity cut off until the gateway stopped: suppressed=3"
