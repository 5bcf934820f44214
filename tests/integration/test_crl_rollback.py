"""A CRL put back from before a revocation is refused, also after a restart (issue 10 item 3).

A real gateway process: a fresh certificate is revoked (CRL number 2), then the CRL file from
before (number 1) is put back. The gateway refuses every call (fail closed) with
revocation:CRL_ROLLED_BACK in the audit trail and a log line that says why, while running and
again after a restart (the highest CRL number seen is kept next to the store), until a CRL at
least as new is back in place.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2 as upb
from cs_gateway.process import GatewayProcess, start_gateway_process, write_dev_config
from pki.crl import revoke
from pki.dev_pki import DevPki, init_dev_pki, write_file

GET_RECORD = "/jukinet.cs.v1.UpdateService/GetRecord"
MALFORMED_READ = upb.GetRecordRequest(juminhyo_code="probe").SerializeToString()  # served: INVALID_ARGUMENT


def _start(config: Path, log: Path) -> GatewayProcess:
    with log.open("w", encoding="utf-8") as sink:
        return start_gateway_process(config, stderr=sink.fileno())


def _call(target: str, pki: DevPki, chain: bytes, key: bytes) -> grpc.StatusCode:
    credentials = grpc.ssl_channel_credentials(pki.ca_cert_path.read_bytes(), key, chain)
    options = [("grpc.ssl_target_name_override", "localhost"), ("grpc.use_local_subchannel_pool", 1)]
    with grpc.secure_channel(target, credentials, options=options) as channel:
        try:
            channel.unary_unary(GET_RECORD)(MALFORMED_READ, timeout=10)
            return grpc.StatusCode.OK
        except grpc.RpcError as err:
            return err.code()  # type: ignore[attr-defined, no-any-return]


def _until(target: str, pki: DevPki, chain: bytes, key: bytes, wanted: grpc.StatusCode) -> None:
    deadline = time.monotonic() + 6
    while (got := _call(target, pki, chain, key)) != wanted:
        assert time.monotonic() < deadline, f"still {got}, not {wanted}"
        time.sleep(0.2)


def _reasons(store: Path, fingerprint: str) -> list[str]:
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT reason FROM audit_log WHERE outcome = 'denied' AND cert_fingerprint = ? ORDER BY seq",
            (fingerprint,),
        ).fetchall()
    finally:
        conn.close()
    return [r for (r,) in rows]


def _fingerprint(chain: bytes) -> str:
    return x509.load_pem_x509_certificates(chain)[0].fingerprint(hashes.SHA256()).hex()


def test_a_crl_put_back_after_a_revocation_is_refused_while_running_and_after_a_restart(tmp_path: Path) -> None:
    pki = init_dev_pki(tmp_path / "pki")
    store = tmp_path / "cs.sqlite3"
    config = write_dev_config(tmp_path / "gw.toml", pki_dir=pki.directory, store_path=store)
    writer = (pki.cert_path("kizon-juki").read_bytes(), pki.key_path("kizon-juki").read_bytes())
    issued = pki.load_ca().issue("kizon-juki", "kizon-juki-01", trust_domain=pki.trust_domain)
    fresh = (issued.cert_pem, issued.key_pem)
    before_revocation = pki.crl_path.read_bytes()

    gateway = _start(config, tmp_path / "gateway-1.log")
    try:
        assert _call(gateway.target, pki, *fresh) == grpc.StatusCode.INVALID_ARGUMENT
        revoke(pki.directory, issued.cert.serial_number, "key_compromise")  # CRL number 2
        _until(gateway.target, pki, *fresh, grpc.StatusCode.PERMISSION_DENIED)
        after_revocation = pki.crl_path.read_bytes()

        write_file(pki.crl_path, before_revocation, 0o644, overwrite=True)  # the rollback (CRL number 1)
        _until(gateway.target, pki, *writer, grpc.StatusCode.PERMISSION_DENIED)  # fail closed: everyone
        assert _call(gateway.target, pki, *fresh) == grpc.StatusCode.PERMISSION_DENIED
    finally:
        assert gateway.stop() == 0
    state = json.loads(store.with_suffix(".crl-state.json").read_text(encoding="utf-8"))
    assert [mark["crl_number"] for mark in state.values()] == [2]
    log = (tmp_path / "gateway-1.log").read_text(encoding="utf-8")
    assert "crl_rolled_back" in log and "CRL number 1 is lower than 2" in log

    gateway = _start(config, tmp_path / "gateway-2.log")  # a restart with the old CRL still there
    try:
        assert _call(gateway.target, pki, *fresh) == grpc.StatusCode.PERMISSION_DENIED
        assert _call(gateway.target, pki, *writer) == grpc.StatusCode.PERMISSION_DENIED
        assert "CRL number 1 is lower than 2" in (tmp_path / "gateway-2.log").read_text(encoding="utf-8")

        write_file(
            pki.crl_path, after_revocation, 0o644, overwrite=True
        )  # the newest CRL back: served again, revoked stays out
        _until(gateway.target, pki, *writer, grpc.StatusCode.INVALID_ARGUMENT)
        assert _call(gateway.target, pki, *fresh) == grpc.StatusCode.PERMISSION_DENIED
    finally:
        assert gateway.stop() == 0

    fresh_reasons = _reasons(store, _fingerprint(fresh[0]))
    assert fresh_reasons[0] == "revocation:REVOKED"
    assert fresh_reasons[-1] == "revocation:REVOKED"
    assert fresh_reasons.count("revocation:CRL_ROLLED_BACK") == 2  # once while running, once after the restart
    writer_reasons = _reasons(store, _fingerprint(writer[0]))
    assert set(writer_reasons) == {"revocation:CRL_ROLLED_BACK"} and len(writer_reasons) >= 2
