"""送付先情報 from 既存住基 through the CS to the 機構 emulator: real processes, real mTLS.

The proof of "unedited": what the emulator stored is byte-identical to what 既存住基 sent, and its
digest and the CS's signature verify; one byte changed in flight is refused by the emulator."""

from __future__ import annotations

import hashlib
import socket
import sqlite3
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from clients import jlis_emulator
from clients.sofusaki_sample import sample_sofusaki
from cs_gateway.gen.jukinet.cs.v1 import sofusaki_service_pb2 as pb
from cs_gateway.gen.jukinet.cs.v1 import sofusaki_service_pb2_grpc as pb_grpc
from cs_gateway.peers.notice_signing import notice_signature_valid
from cs_gateway.process import GatewayProcess, start_gateway_process, write_dev_config
from pki.dev_pki import DevPki
from tests.conftest import channel_for
from tests.e2e.peers_helpers import wait_until
from tests.metrics_helpers import metric

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gateway(root: Path, pki: DevPki, jlis_port: int, extra: str = "") -> GatewayProcess:
    config = write_dev_config(root / "gateway.toml", pki_dir=pki.directory, store_path=root / "cs.sqlite3")
    with config.open("a", encoding="utf-8") as out:
        out.write(f'\n[jlis]\ntarget = "127.0.0.1:{jlis_port}"\nretry_initial_s = 0.1\nretry_max_s = 0.5\n{extra}')
    return start_gateway_process(config)


def _jlis(
    root: Path, pki: DevPki, *, port: int = 0, cert_role: str = "jlis", unknown: tuple[str, ...] = ()
) -> GatewayProcess:
    config = jlis_emulator.write_config(
        root / "jlis.toml",
        pki_dir=pki.directory,
        db=root / "jlis.sqlite3",
        listen=f"127.0.0.1:{port}",
        cert_role=cert_role,
        unknown_individual_numbers=unknown,
    )
    return jlis_emulator.start_process(config)


def _submit(pki: DevPki, port: int, message: pb.SofusakiInfo, role: str = "kizon-juki") -> pb.SofusakiReceipt:
    return pb_grpc.SofusakiServiceStub(channel_for(pki, role, port)).Submit(message, timeout=10)


def _received(root: Path) -> list[tuple[int, bytes, bytes, bytes]]:
    db = root / "jlis.sqlite3"
    return jlis_emulator.received(db) if db.exists() else []


def _audit(root: Path, action: str) -> list[tuple[str, str]]:
    conn = sqlite3.connect(f"file:{root / 'cs.sqlite3'}?mode=ro", uri=True)
    try:
        return list(conn.execute("SELECT outcome, reason FROM audit_log WHERE action = ? ORDER BY seq", (action,)))
    finally:
        conn.close()


def _stored(root: Path) -> list[tuple[int, bytes, str | None]]:
    conn = sqlite3.connect(f"file:{root / 'cs.sqlite3'}?mode=ro", uri=True)
    try:
        return [
            (s, bytes(b), f) for s, b, f in conn.execute("SELECT seq, body, forwarded_at FROM sofusaki ORDER BY seq")
        ]
    finally:
        conn.close()


def test_a_valid_sofusaki_arrives_byte_identical_and_verified_and_a_tampered_one_is_refused(
    tmp_path: Path, dev_pki: DevPki
) -> None:
    jlis = _jlis(tmp_path, dev_pki)
    gateway = _gateway(tmp_path, dev_pki, jlis.port)
    try:
        sent = sample_sofusaki(1).SerializeToString()
        receipt = _submit(dev_pki, gateway.port, sample_sofusaki(1))
        assert receipt.sofusaki_seq == 1 and receipt.digest == hashlib.sha256(sent).digest()
        wait_until(lambda: len(_received(tmp_path)) == 1, 30, "the 送付先情報 at the 機構")
        ((seq, body, digest, signature),) = _received(tmp_path)
        assert seq == 1 and body == sent  # byte-identical: unedited
        cs_cert = x509.load_pem_x509_certificates(dev_pki.cert_path("cs").read_bytes())[0]
        assert digest == hashlib.sha256(body).digest() and notice_signature_valid(cs_cert, digest, signature)
        wait_until(lambda: _stored(tmp_path)[0][2] is not None, 10, "marked forwarded")
        stored_body = _stored(tmp_path)[0][1]  # sealed at rest: the 個人番号 is not in the file
        number = sample_sofusaki(1).individual_number.encode()
        assert number and number not in stored_body and sent not in stored_body
        assert _audit(tmp_path, "peers.jlis.sofusaki_forwarded")[-1][0] == "ok"

        # one byte changed in flight (the CS's signature kept): refused, nothing stored
        stub = pb_grpc.CardManagementServiceStub(channel_for(dev_pki, "cs", jlis.port))
        tampered = bytearray(sent)
        tampered[len(tampered) // 2] ^= 0x01
        ack = stub.Deliver(
            pb.ForwardedSofusaki(sofusaki_seq=2, body=bytes(tampered), digest=digest, signature=signature), timeout=10
        )
        assert (ack.status, ack.reason) == (pb.ForwardAck.REFUSED, "DIGEST_MISMATCH")
        forged = hashlib.sha256(bytes(tampered)).digest()  # the digest recomputed, the signature cannot be
        ack = stub.Deliver(
            pb.ForwardedSofusaki(sofusaki_seq=2, body=bytes(tampered), digest=forged, signature=signature), timeout=10
        )
        assert (ack.status, ack.reason) == (pb.ForwardAck.REFUSED, "BAD_SIGNATURE")
        assert len(_received(tmp_path)) == 1
        # only the CS may deliver
        with pytest.raises(grpc.RpcError) as denied:
            pb_grpc.CardManagementServiceStub(channel_for(dev_pki, "kizon-juki", jlis.port)).Deliver(
                pb.ForwardedSofusaki(sofusaki_seq=2, body=sent), timeout=10
            )
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        gateway.stop()
        jlis.stop()


BAD = [
    ("sofusaki_address_length", 1, "ITEM_LENGTH_MISMATCH"),
    ("name_kanji_gaiji_count", 2, "GAIJI_COUNT_MISMATCH"),
    ("postal_code", "12345", "INVALID_POSTAL_CODE"),
    ("kubun_30_45", 42, "INVALID_KUBUN"),
]


def test_bad_formats_are_refused_with_their_reason_audited_and_nothing_stored(tmp_path: Path, dev_pki: DevPki) -> None:
    gateway = _gateway(tmp_path, dev_pki, _free_port())  # no 機構 listening: nothing is forwarded anyway
    try:
        for field, value, code in BAD:
            message = sample_sofusaki()
            setattr(message, field, value)
            with pytest.raises(grpc.RpcError) as refused:
                _submit(dev_pki, gateway.port, message)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            status = rpc_status.from_call(refused.value)
            info = error_details_pb2.ErrorInfo()
            status.details[0].Unpack(info)
            assert (info.reason, info.metadata["field"]) == (code, field)
        with pytest.raises(grpc.RpcError) as denied:  # another role: the guard's deny-by-default
            _submit(dev_pki, gateway.port, sample_sofusaki(), role="terminal")
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        gateway.stop()
    assert _stored(tmp_path) == []
    refusals = _audit(tmp_path, "/jukinet.cs.v1.SofusakiService/Submit")
    assert refusals == [("refused", code) for _f, _v, code in BAD] + [("denied", "policy:role-not-allowed")]


def test_the_jlis_down_then_up_gets_every_sofusaki_in_order(tmp_path: Path, dev_pki: DevPki) -> None:
    port = _free_port()
    gateway = _gateway(tmp_path, dev_pki, port)
    jlis = None
    try:
        bodies = []
        for i in range(5):  # the 機構 is down: each is stored and waits
            assert _submit(dev_pki, gateway.port, sample_sofusaki(i)).sofusaki_seq == i + 1
            bodies.append(sample_sofusaki(i).SerializeToString())
        assert [f for _s, _b, f in _stored(tmp_path)] == [None] * 5
        jlis = _jlis(tmp_path, dev_pki, port=port)
        wait_until(lambda: len(_received(tmp_path)) == 5, 30, "every 送付先情報 after the outage")
        assert [(s, b) for s, b, _d, _sig in _received(tmp_path)] == list(enumerate(bodies, start=1))
        jlis.kill()  # down again mid-way; then up: the later ones follow, in order, none twice
        for i in range(5, 8):
            _submit(dev_pki, gateway.port, sample_sofusaki(i))
            bodies.append(sample_sofusaki(i).SerializeToString())
        jlis = _jlis(tmp_path, dev_pki, port=port)
        wait_until(lambda: len(_received(tmp_path)) == 8, 30, "the later ones")
        assert [(s, b) for s, b, _d, _sig in _received(tmp_path)] == list(enumerate(bodies, start=1))
        wait_until(lambda: all(f is not None for _s, _b, f in _stored(tmp_path)), 10, "all marked forwarded")
    finally:
        gateway.stop()
        if jlis is not None:
            jlis.stop()


def test_a_peer_with_the_wrong_role_is_sent_nothing_and_it_is_audited(tmp_path: Path, dev_pki: DevPki) -> None:
    impostor = _jlis(tmp_path, dev_pki, cert_role="prefecture")  # a valid certificate, not the 機構's
    gateway = _gateway(tmp_path, dev_pki, impostor.port)
    try:
        _submit(dev_pki, gateway.port, sample_sofusaki())
        wait_until(lambda: _audit(tmp_path, "peers.jlis.connect") != [], 20, "the refusal audited")
        assert _audit(tmp_path, "peers.jlis.connect")[0] == ("denied", "role:prefecture-is-not-jlis")
        assert _received(tmp_path) == []
        assert _stored(tmp_path)[0][2] is None  # still waiting, for the real 機構
    finally:
        gateway.stop()
        impostor.stop()


@pytest.mark.parametrize("fault", ["expired", "revoked", "unknown-issuer"])
def test_a_jlis_with_an_expired_revoked_or_unpinned_certificate_is_sent_nothing(
    tmp_path: Path, dev_pki: DevPki, fault: str
) -> None:
    import shutil
    from datetime import UTC, datetime, timedelta

    from pki.crl import revoke
    from pki.lifecycle import issue

    pki = DevPki.open(Path(shutil.copytree(dev_pki.directory, tmp_path / "pki")))
    now = datetime.now(UTC)
    if fault == "expired":
        issue(pki.directory, "jlis", "jlis-bad", not_before=now - timedelta(days=10), not_after=now - timedelta(days=1))
    elif fault == "revoked":
        issued = issue(pki.directory, "jlis", "jlis-bad", days=30)
        revoke(pki.directory, issued.cert_path, "keyCompromise")
    else:  # a sibling intermediate under the same root: TLS accepts it, the CS's pin for jlis does not
        sibling = pki.load_root().issue_intermediate("another 機構 issuing CA")
        leaf = sibling.issue("jlis", "jlis-bad", trust_domain=pki.trust_domain)
        (pki.directory / "jlis-bad.crt").write_bytes(leaf.cert_pem)
        (pki.directory / "jlis-bad.key").write_bytes(leaf.key_pem)
    jlis = _jlis(tmp_path, pki, cert_role="jlis-bad")
    gateway = _gateway(tmp_path, pki, jlis.port)
    try:
        _submit(pki, gateway.port, sample_sofusaki())
        wait_until(lambda: _audit(tmp_path, "peers.jlis.connect") != [], 20, "the refusal audited")
        outcome, reason = _audit(tmp_path, "peers.jlis.connect")[0]
        expected = {"expired": "tls:", "revoked": "revocation:", "unknown-issuer": "issuer:unknown-ca"}[fault]
        assert outcome == "denied" and reason.startswith(expected), reason
        assert _received(tmp_path) == [] and jlis_emulator.refusals(tmp_path / "jlis.sqlite3") == []  # nothing sent
        assert _stored(tmp_path)[0][2] is None  # still waiting
    finally:
        gateway.stop()
        jlis.stop()


def test_one_the_jlis_keeps_refusing_is_parked_after_3_and_the_queue_moves_on_with_backlog_metrics(
    tmp_path: Path, dev_pki: DevPki
) -> None:
    """The 機構 down: the backlog and its age are metrics, and past jlis.backlog_warn_age_s a
    health warning. Then up, refusing the second 送付先情報 for good (a 個人番号 it does not
    know): refused 3 times (each audited), parked (audited, a gauge), and the third is
    forwarded; the warning clears (a parked one is not backlog). After a restart of the CS the
    parked one stays parked (read back from the audit trail) and new ones flow."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    port = _free_port()
    extra = "backlog_warn_age_s = 1\npark_after_refusals = 3\n"
    gateway = _gateway(tmp_path, dev_pki, port, extra)
    jlis = None
    try:
        url = gateway.metrics_url
        assert url is not None
        health = health_pb2_grpc.HealthStub(channel_for(dev_pki, "kizon-juki", gateway.port))

        def forwarder() -> int:
            request = health_pb2.HealthCheckRequest(service="jukinet.cs.v1.JlisForwarder")
            return health.Check(request, timeout=5).status

        assert forwarder() == health_pb2.HealthCheckResponse.SERVING
        for i in range(3):
            _submit(dev_pki, gateway.port, sample_sofusaki(i))
        wait_until(lambda: metric(url, "cs_gateway_sofusaki_stale") == 1, 20, "the warning")
        assert forwarder() == health_pb2.HealthCheckResponse.NOT_SERVING
        assert health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status == (
            health_pb2.HealthCheckResponse.SERVING
        )
        assert metric(url, "cs_gateway_sofusaki_backlog") == 3
        assert metric(url, "cs_gateway_sofusaki_oldest_age_seconds") > 1

        refused_number = sample_sofusaki(1).individual_number
        jlis = _jlis(tmp_path, dev_pki, port=port, unknown=(refused_number,))
        wait_until(lambda: [s for s, *_ in _received(tmp_path)] == [1, 3], 30, "the first and the third")
        assert jlis_emulator.refusals(tmp_path / "jlis.sqlite3") == [(2, "UNKNOWN_INDIVIDUAL_NUMBER")] * 3
        parked = _audit(tmp_path, "peers.jlis.sofusaki_parked")
        assert parked == [("refused", "UNKNOWN_INDIVIDUAL_NUMBER")]
        assert _audit(tmp_path, "peers.jlis.deliver") == [("error", "UNKNOWN_INDIVIDUAL_NUMBER")] * 3
        wait_until(lambda: metric(url, "cs_gateway_sofusaki_stale") == 0, 20, "the warning cleared")
        assert forwarder() == health_pb2.HealthCheckResponse.SERVING
        assert metric(url, "cs_gateway_sofusaki_parked") == 1
        assert metric(url, "cs_gateway_sofusaki_backlog") == 0
        assert metric(url, "cs_gateway_sofusaki_forwarded_total") == 2
        assert [f is None for _s, _b, f in _stored(tmp_path)] == [False, True, False]  # kept, not forwarded
    finally:
        gateway.stop()

    gateway = _gateway(tmp_path, dev_pki, port, extra)
    try:
        _submit(dev_pki, gateway.port, sample_sofusaki(3))
        wait_until(lambda: [s for s, *_ in _received(tmp_path)] == [1, 3, 4], 30, "a new one after the restart")
        assert gateway.metrics_url is not None
        assert metric(gateway.metrics_url, "cs_gateway_sofusaki_parked") == 1
        assert len(jlis_emulator.refusals(tmp_path / "jlis.sqlite3")) == 3  # the parked one is not sent again
    finally:
        gateway.stop()
        if jlis is not None:
            jlis.stop()
