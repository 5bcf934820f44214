"""Faults with real processes: the prefecture killed mid-batch, the CS killed during a stream,
a tampered notice, a peer that is not the prefecture."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest

from cs_gateway.domain.notice_encoding import encode_notice
from cs_gateway.gen.jukinet.cs.v1 import prefecture_service_pb2 as pb
from cs_gateway.gen.jukinet.cs.v1 import prefecture_service_pb2_grpc as pb_grpc
from cs_gateway.peers.notice_signing import NoticeSigner
from pki.dev_pki import DevPki
from tests.conftest import channel_for
from tests.e2e.peers_helpers import applied_seqs, gateway_config, start_gateway, start_prefecture, wait_until
from tests.e2e.test_prefecture_notices import _consistency, _free_port, _push
from tests.unit.test_notice_encoding import ITEMS

pytestmark = pytest.mark.slow


def _last_seq(store: Path) -> int:
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT COALESCE(MAX(update_seq), 0) FROM history").fetchone()[0]
    finally:
        conn.close()


def test_prefecture_killed_mid_batch_loses_nothing_and_applies_nothing_twice(tmp_path: Path, dev_pki: DevPki) -> None:
    port = _free_port()
    db = tmp_path / "prefecture.sqlite3"
    prefecture = start_prefecture(tmp_path, dev_pki, port=port)
    gateway = start_gateway(gateway_config(tmp_path, dev_pki, port))
    try:
        pusher = threading.Thread(target=_push, args=(dev_pki, gateway.port, 0, 3000))
        pusher.start()
        wait_until(lambda: len(applied_seqs(db)) > 300, 60, "notices flowing")
        prefecture.kill()  # SIGKILL while batches are being applied
        killed_at = len(applied_seqs(db))
        pusher.join(60)
        prefecture = start_prefecture(tmp_path, dev_pki, port=port)
        wait_until(lambda: len(applied_seqs(db)) == 3000, 90, "all 3000 notices")
        assert applied_seqs(db) == list(range(1, 3001))  # in order, each once (its primary key)
        assert killed_at < 3000
        conn = sqlite3.connect(db)
        assert conn.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 3000
        conn.close()
    finally:
        gateway.stop()
        prefecture.stop()


KILLS = 10  # the issue's figure
ROUND = 300  # updates streamed per round; the CS is killed after KILL_AFTER of them are acknowledged
KILL_AFTER = 40


def test_cs_killed_10_times_during_a_stream_then_the_copies_agree(tmp_path: Path, dev_pki: DevPki) -> None:
    """Acceptance (b). Each round restarts the CS, streams updates to it while its notifier drains
    to the prefecture, and SIGKILLs it as soon as a few updates are acknowledged (the kill lands
    mid-stream and mid-drain; each round costs little more than a start). Afterwards nothing
    acknowledged is lost, the prefecture holds every notice once and in order, and the
    consistency check AGREES."""
    prefecture = start_prefecture(tmp_path, dev_pki)
    config = gateway_config(tmp_path, dev_pki, prefecture.port)
    store = tmp_path / "cs.sqlite3"
    acked: dict[str, int] = {}
    try:
        for round_ in range(KILLS):
            gateway = start_gateway(config)
            progress = threading.Event()
            # distinct persons each round: tennyu_request(i) of this round's range
            worker = threading.Thread(
                target=_stream_range,
                args=(dev_pki, gateway.port, round_ * ROUND, ROUND, acked, progress),
                daemon=True,
            )
            before = len(acked)
            worker.start()
            assert progress.wait(60), f"round {round_}: no update acknowledged"
            gateway.kill()
            worker.join(30)
            assert len(acked) - before >= KILL_AFTER
        assert len(set(acked.values())) == len(acked)  # no 更新順番号 given twice
        gateway = start_gateway(config)
        try:
            last = _last_seq(store)
            assert max(acked.values()) <= last  # every acknowledged update survived the kills
            wait_until(lambda: len(applied_seqs(tmp_path / "prefecture.sqlite3")) == last, 90, "the copy caught up")
            assert applied_seqs(tmp_path / "prefecture.sqlite3") == list(range(1, last + 1))
            report = _consistency(tmp_path)
            assert report.returncode == 0 and "AGREES" in report.stdout, report.stdout + report.stderr
        finally:
            gateway.stop()
    finally:
        prefecture.stop()


def _stream_range(
    pki: DevPki, port: int, base: int, count: int, acked: dict[str, int], progress: threading.Event
) -> None:
    from clients.synthetic import tennyu_request
    from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2_grpc

    stub = update_service_pb2_grpc.UpdateServiceStub(channel_for(pki, "kizon-juki", port))
    seen = 0
    try:
        for result in stub.ApplyStream((tennyu_request(i) for i in range(base, base + count)), timeout=120):
            acked[result.request_id] = result.record.update_seq
            seen += 1
            if seen >= KILL_AFTER:
                progress.set()
    except grpc.RpcError:
        pass
    finally:
        progress.set()


def _notice(seq: int, signer: NoticeSigner, *, flip: int | None = None) -> pb.SignedNotice:
    body = encode_notice({**ITEMS, "update_seq": seq})
    signature = signer.sign(body)
    if flip is not None:
        body = body[:flip] + bytes([body[flip] ^ 0x01]) + body[flip + 1 :]
    return pb.SignedNotice(update_seq=seq, body=body, signature=signature)


def test_a_tampered_notice_is_refused_by_the_prefecture(tmp_path: Path, dev_pki: DevPki) -> None:
    prefecture = start_prefecture(tmp_path, dev_pki)
    try:
        signer = NoticeSigner(dev_pki.key_path("cs"), dev_pki.cert_path("cs"))
        stub = pb_grpc.PrefectureServiceStub(channel_for(dev_pki, "cs", prefecture.port))
        acks = list(stub.DeliverNotices(iter([_notice(1, signer, flip=60)]), timeout=10))
        assert [(a.status, a.reason) for a in acks] == [(pb.NoticeAck.REFUSED, "BAD_SIGNATURE")]
        assert applied_seqs(tmp_path / "prefecture.sqlite3") == []
        acks = list(stub.DeliverNotices(iter([_notice(1, signer), _notice(1, signer)]), timeout=10))
        assert [a.status for a in acks] == [pb.NoticeAck.APPLIED, pb.NoticeAck.DUPLICATE]
        acks = list(stub.DeliverNotices(iter([_notice(3, signer)]), timeout=10))
        assert [(a.status, a.reason) for a in acks] == [(pb.NoticeAck.REFUSED, "OUT_OF_ORDER")]
        other = pb_grpc.PrefectureServiceStub(channel_for(dev_pki, "kizon-juki", prefecture.port))
        with pytest.raises(grpc.RpcError) as refused:
            list(other.DeliverNotices(iter([_notice(2, signer)]), timeout=10))
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED  # only the CS may deliver
        assert applied_seqs(tmp_path / "prefecture.sqlite3") == [1]
    finally:
        prefecture.stop()


def _emulator(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "clients.prefecture_emulator", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)


def _flip_stored(db: Path, table: str, seq: int) -> None:
    conn = sqlite3.connect(db)
    (body,) = conn.execute(f"SELECT body FROM {table} WHERE update_seq = ?", (seq,)).fetchone()  # noqa: S608
    body = bytearray(body)
    body[len(body) // 2] ^= 0x01  # one byte changed at rest, the CS's signature kept
    conn.execute(f"UPDATE {table} SET body = ? WHERE update_seq = ?", (bytes(body), seq))  # noqa: S608
    conn.commit()
    conn.close()


def test_a_notice_tampered_in_the_prefectures_inbox_is_refused_and_reported(tmp_path: Path, dev_pki: DevPki) -> None:
    from clients import prefecture_emulator

    db = tmp_path / "prefecture.sqlite3"
    signer = NoticeSigner(dev_pki.key_path("cs"), dev_pki.cert_path("cs"))
    config = prefecture_emulator.write_config(tmp_path / "held.toml", pki_dir=dev_pki.directory, db=db, hold=True)
    prefecture = prefecture_emulator.start_process(config)
    try:  # held: verified in flight, kept in the inbox, neither applied nor acknowledged
        stub = pb_grpc.PrefectureServiceStub(channel_for(dev_pki, "cs", prefecture.port))
        assert list(stub.DeliverNotices(iter([_notice(s, signer) for s in (1, 2, 3)]), timeout=10)) == []
    finally:
        prefecture.stop()
    assert applied_seqs(db) == []
    assert _emulator("verify", "--config", str(config)).returncode == 0
    _flip_stored(db, "inbox", 2)  # behind the emulator's back, in its SQLite file
    verify = _emulator("verify", "--config", str(config))
    assert verify.returncode == 1 and '"bad_signature": [{"table": "inbox", "update_seq": 2}]' in verify.stdout
    applied = _emulator("apply", "--config", str(config))
    assert applied.returncode == 1, applied.stdout + applied.stderr
    assert '"applied": 1' in applied.stdout and '"refused": [2, "INBOX_BAD_SIGNATURE"]' in applied.stdout
    assert applied_seqs(db) == [1]  # the tampered one is not applied, nor anything after it (order)
    summary = _emulator("dump", "--db", str(db), "--summary").stdout
    assert '"inbox": 2' in summary and '"inbox_refused": 1' in summary and '"refused": 1' in summary

    # the CS's redelivery of the genuine notice replaces the tampered copy; 3 follows
    plain = prefecture_emulator.write_config(tmp_path / "prefecture.toml", pki_dir=dev_pki.directory, db=db)
    prefecture = prefecture_emulator.start_process(plain)
    try:
        stub = pb_grpc.PrefectureServiceStub(channel_for(dev_pki, "cs", prefecture.port))
        acks = list(stub.DeliverNotices(iter([_notice(2, signer), _notice(3, signer)]), timeout=10))
        assert [a.status for a in acks] == [pb.NoticeAck.APPLIED, pb.NoticeAck.APPLIED]
    finally:
        prefecture.stop()
    assert applied_seqs(db) == [1, 2, 3]
    assert _emulator("verify", "--config", str(plain)).returncode == 0  # the inbox holds nothing now
    _flip_stored(db, "applied", 1)  # an applied notice changed at rest: named by verify
    verify = _emulator("verify", "--config", str(plain))
    assert verify.returncode == 1 and '[{"table": "applied", "update_seq": 1}]' in verify.stdout


def test_a_server_with_another_role_is_sent_nothing_and_the_attempt_is_audited(tmp_path: Path, dev_pki: DevPki) -> None:
    impostor = start_prefecture(tmp_path, dev_pki, cert_role="jlis")  # valid certificate, wrong role
    gateway = start_gateway(gateway_config(tmp_path, dev_pki, impostor.port))
    try:
        _push(dev_pki, gateway.port, 0, 20)
        store = tmp_path / "cs.sqlite3"

        def denied() -> int:
            conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
            try:
                return conn.execute(
                    "SELECT COUNT(*) FROM audit_log WHERE action = 'peers.prefecture.connect' AND outcome = 'denied' "
                    "AND reason = 'role:jlis-is-not-prefecture'"
                ).fetchone()[0]
            finally:
                conn.close()

        wait_until(lambda: denied() >= 1, 30, "the refusal audited")
        time.sleep(1.0)  # several retries meanwhile: one entry while the rule stays the same
        assert denied() == 1
        assert applied_seqs(tmp_path / "prefecture.sqlite3") == []  # nothing was sent
        check = _consistency(tmp_path)
        assert check.returncode == 3 and "role:jlis-is-not-prefecture" in check.stdout
    finally:
        gateway.stop()
        impostor.stop()


def test_dump_shows_the_copy_masked(tmp_path: Path, dev_pki: DevPki) -> None:
    prefecture = start_prefecture(tmp_path, dev_pki)
    try:
        signer = NoticeSigner(dev_pki.key_path("cs"), dev_pki.cert_path("cs"))
        stub = pb_grpc.PrefectureServiceStub(channel_for(dev_pki, "cs", prefecture.port))
        list(stub.DeliverNotices(iter([_notice(1, signer)]), timeout=10))
    finally:
        prefecture.stop()
    out = subprocess.run(
        [sys.executable, "-m", "clients.prefecture_emulator", "dump", "--db", str(tmp_path / "prefecture.sqlite3")],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    assert '"records": 1' in out and '"last_update_seq": 1' in out
    assert ITEMS["juminhyo_code"] not in out and ITEMS["individual_number"] not in out


def _denials(store: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return [
            r[0]
            for r in conn.execute(
                "SELECT reason FROM audit_log WHERE action = 'peers.prefecture.connect' AND outcome = 'denied'"
            )
        ]
    finally:
        conn.close()


@pytest.mark.parametrize("fault", ["expired", "revoked", "unknown-issuer"])
def test_a_prefecture_with_an_expired_or_revoked_certificate_is_sent_nothing(
    tmp_path: Path, dev_pki: DevPki, fault: str
) -> None:
    import shutil
    from datetime import UTC, datetime, timedelta

    from pki.crl import revoke
    from pki.lifecycle import issue

    pki = DevPki.open(Path(shutil.copytree(dev_pki.directory, tmp_path / "pki")))
    now = datetime.now(UTC)
    if fault == "expired":
        issue(
            pki.directory,
            "prefecture",
            "pref-bad",
            not_before=now - timedelta(days=10),
            not_after=now - timedelta(days=1),
        )
    elif fault == "revoked":
        issued = issue(pki.directory, "prefecture", "pref-bad", days=30)
        revoke(pki.directory, issued.cert_path, "keyCompromise")
    else:  # a sibling intermediate under the same root: TLS accepts it, the CS's pin does not
        sibling = pki.load_root().issue_intermediate("another prefecture's issuing CA")
        leaf = sibling.issue("prefecture", "pref-bad", trust_domain=pki.trust_domain)
        (pki.directory / "pref-bad.crt").write_bytes(leaf.cert_pem)
        (pki.directory / "pref-bad.key").write_bytes(leaf.key_pem)
    prefecture = start_prefecture(tmp_path, pki, cert_role="pref-bad")
    gateway = start_gateway(gateway_config(tmp_path, pki, prefecture.port))
    try:
        _push(pki, gateway.port, 0, 10)
        wait_until(lambda: len(_denials(tmp_path / "cs.sqlite3")) >= 1, 30, "the refusal audited")
        reason = _denials(tmp_path / "cs.sqlite3")[0]
        expected = {"expired": "tls:", "revoked": "revocation:", "unknown-issuer": "issuer:unknown-ca"}[fault]
        assert reason.startswith(expected), reason
        assert applied_seqs(tmp_path / "prefecture.sqlite3") == []
    finally:
        gateway.stop()
        prefecture.stop()
