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

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gateway(root: Path, pki: DevPki, jlis_port: int) -> GatewayProcess:
    config = write_dev_config(root / "gateway.toml", pki_dir=pki.directory, store_path=root / "cs.sqlite3")
    with config.open("a", encoding="utf-8") as out:
        out.write(f'\n[jlis]\ntarget = "127.0.0.1:{jlis_port}"\nretry_initial_s = 0.1\nretry_max_s = 0.5\n')
    return start_gateway_process(config)


def _jlis(root: Path, pki: DevPki, *, port: int = 0, cert_role: str = "jlis") -> GatewayProcess:
    config = jlis_emulator.write_config(
        root / "jlis.toml",
        pki_dir=pki.directory,
        db=root / "jlis.sqlite3",
        listen=f"127.0.0.1:{port}",
        cert_role=cert_role,
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
