"""The demo's 送付先情報 step: 既存住基 submits one 送付先情報 (the 66 items of 別添1 (3)) to the CS
over mTLS; the CS stores it and forwards it unedited to the 機構 emulator (its own process),
which verifies the digest of the bytes that arrived and the CS's signature over it; the demo
then shows that what the 機構 holds is byte-identical to what 既存住基 sent. And the 全国サーバー
side: the notices the 都道府県サーバー relayed to it, and the consistency check against its copy."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from pki.dev_pki import DevPki

from .process import GatewayProcess

WAIT_S = 20.0


def start_jlis(root: Path, pki: DevPki) -> GatewayProcess:
    from clients import jlis_emulator

    config = jlis_emulator.write_config(root / "jlis.toml", pki_dir=pki.directory, db=root / "jlis.sqlite3")
    return jlis_emulator.start_process(config)


def with_jlis(config: Path, port: int) -> Path:
    """The gateway's configuration with the forwarder's peer (the 機構 emulator on ``port``)."""
    with config.open("a", encoding="utf-8") as out:
        out.write(f'\n[jlis]\ntarget = "127.0.0.1:{port}"\nretry_initial_s = 0.1\nretry_max_s = 1.0\n')
    return config


def show_sofusaki(root: Path, target: str, pki: DevPki) -> int:
    import grpc
    from cryptography import x509

    from clients import jlis_emulator
    from clients.sofusaki_sample import sample_sofusaki

    from .gen.jukinet.cs.v1 import sofusaki_service_pb2_grpc as pb_grpc
    from .peers.notice_signing import notice_signature_valid

    message = sample_sofusaki()
    sent = message.SerializeToString()
    credentials = grpc.ssl_channel_credentials(
        root_certificates=pki.ca_cert_path.read_bytes(),
        private_key=pki.key_path("kizon-juki").read_bytes(),
        certificate_chain=pki.cert_path("kizon-juki").read_bytes(),
    )
    with grpc.secure_channel(target, credentials) as channel:
        receipt = pb_grpc.SofusakiServiceStub(channel).Submit(message, timeout=10)
    print(f"   submitted: 送付先情報 {receipt.sofusaki_seq} ({len(sent)} bytes, sha256 {receipt.digest.hex()[:16]}…)")
    db = root / "jlis.sqlite3"
    deadline = time.monotonic() + WAIT_S
    while not (db.exists() and jlis_emulator.received(db)):
        if time.monotonic() > deadline:
            print("   UNEXPECTED: the 送付先情報 did not reach the 機構")
            return 1
        time.sleep(0.1)
    ((_seq, body, digest, signature),) = jlis_emulator.received(db)
    cs_cert = x509.load_pem_x509_certificates(pki.cert_path("cs").read_bytes())[0]
    verified = digest == hashlib.sha256(body).digest() and notice_signature_valid(cs_cert, digest, signature)
    identical = body == sent
    print(f"   at the 機構: byte-identical {identical}, digest and CS signature verified {verified}")
    print("   the 機構's copy (jlis-emulator dump --summary):")
    jlis_emulator.dump(db, summary=True)
    return 0 if identical and verified else 1


def show_jlis_copy(root: Path, config: Path) -> int:
    """Wait for the 都道府県サーバー to have relayed what it applied, show the 全国サーバー's copy,
    and run ``cs-gateway consistency check --peer jlis``."""
    from clients import jlis_emulator, prefecture_emulator

    from .config import load_config
    from .peers.consistency_run import run_check
    from .server import certificate_gate

    copy = jlis_emulator.copy_db(root / "jlis.sqlite3")
    expected = prefecture_emulator.last_applied(root / "prefecture.sqlite3")
    deadline = time.monotonic() + WAIT_S
    while prefecture_emulator.last_applied(copy) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    relayed = prefecture_emulator.last_applied(copy)
    print(f"   relayed: {relayed} of the {expected} notices the 都道府県サーバー applied")
    print("   the 全国サーバー's copy (jlis-emulator dump --copy --summary):")
    prefecture_emulator.dump(copy, summary=True)
    print("== consistency check (cs-gateway consistency check --peer jlis)")
    loaded = load_config(config)
    return run_check(
        loaded, certificate_gate(loaded), peer="jlis", echo=lambda line: print("   " + line.replace("\n", "\n   "))
    )
