"""The 機構 emulator: the 個人番号カード管理システム, which receives 送付先情報 from the CS, and
the 全国サーバー, which keeps a copy of the municipality's 本人確認情報 for the consistency
check (住基法14条).

Its own process, certificate (role jlis), configuration and SQLite files (the copy in
``<db>-copy.sqlite3``).

- 全国サーバー: the same PrefectureService as the 都道府県サーバー (clients/prefecture_emulator.py,
  whose copy rules it reuses): DeliverNotices from the 都道府県サーバー only (role prefecture:
  it relays the CS's notices, clients/notice_relay.py), each verified against the pinned CS
  certificate and applied in 更新順番号 order; TreeNodes / Buckets / Records / FullFile for the
  CS's ``consistency check --peer jlis``.

- Accepts calls only from a CS certificate (role cs, SPIFFE ID in the configured trust domain;
  grpc has already verified the chain against the configured CA).
- Deliver: recomputes the SHA-256 digest of the body exactly as it arrived and requires it to
  equal the digest sent (DIGEST_MISMATCH), and the signature over that digest to verify against
  the configured CS certificate (tls.cs_cert, pinned: BAD_SIGNATURE); the body must parse as a
  SofusakiInfo (MALFORMED). 送付先情報 is accepted in the CS's order (OUT_OF_ORDER: not after
  the last stored; a gap is accepted, the CS parks one the 機構 keeps refusing and goes on); one
  already stored is answered DUPLICATE and stored once. A refusal stores nothing but the
  refusal itself.
- The 機構's own judgement, which the CS cannot make: a 個人番号 its card management system does
  not know is refused (UNKNOWN_INDIVIDUAL_NUMBER), every time. Emulated by the list
  ``[jlis] unknown_individual_numbers`` (default empty).

    jlis-emulator serve --config jlis.toml
    jlis-emulator dump --db jlis.sqlite3 [--summary] [--copy]   (--copy: the 全国サーバー's copy)

The config:

    [jlis]
    listen = "127.0.0.1:0"
    db = "jlis.sqlite3"
    trust_domain = "hirosaki.jukinet.test"
    [tls]
    ca = "pki/dev/ca.crt"
    cert = "pki/dev/jlis.crt"
    key = "pki/dev/jlis.key"
    cs_cert = "pki/dev/cs.crt"
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import re
import signal
import sqlite3
import sys
import tomllib
from pathlib import Path

import grpc
from cryptography import x509
from google.protobuf.message import DecodeError

from clients import prefecture_emulator
from clients.emulator_config import EmulatorConfig, load_emulator_config, open_emulator_db, write_emulator_config
from cs_gateway.domain.masking import mask_identifier
from cs_gateway.gen.jukinet.cs.v1 import prefecture_service_pb2_grpc as prefecture_pb_grpc
from cs_gateway.gen.jukinet.cs.v1 import sofusaki_service_pb2 as pb
from cs_gateway.gen.jukinet.cs.v1 import sofusaki_service_pb2_grpc as pb_grpc
from cs_gateway.peers.notice_signing import notice_signature_valid
from cs_gateway.process import GatewayProcess, start_listening_process
from cs_gateway.security.identity import AUTH_CONTEXT_CERT_KEY, IdentityError, identity_from_pem

SCHEMA = """
CREATE TABLE IF NOT EXISTS received (sofusaki_seq INTEGER PRIMARY KEY, body BLOB NOT NULL, digest BLOB NOT NULL,
                                     signature BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS refused (id INTEGER PRIMARY KEY, sofusaki_seq INTEGER, reason TEXT NOT NULL);
"""


def load_config(path: Path) -> EmulatorConfig:
    return load_emulator_config(path, "jlis")


def open_db(path: Path) -> sqlite3.Connection:
    return open_emulator_db(path, SCHEMA)


def unknown_numbers(path: Path) -> frozenset[str]:
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))["jlis"]
    return frozenset(str(n) for n in data.get("unknown_individual_numbers", ()))


def refusal(
    sent: pb.ForwardedSofusaki, cs_certificate: x509.Certificate, last: int, unknown: frozenset[str] = frozenset()
) -> str:
    """Why this 送付先情報 is not accepted ("" when it is): the proof of "unedited" first."""
    if not hmac.compare_digest(hashlib.sha256(sent.body).digest(), sent.digest):
        return "DIGEST_MISMATCH"
    if not notice_signature_valid(cs_certificate, sent.digest, sent.signature):
        return "BAD_SIGNATURE"
    try:
        info = pb.SofusakiInfo.FromString(sent.body)
    except DecodeError:
        return "MALFORMED"
    if sent.sofusaki_seq <= last:
        return "OUT_OF_ORDER"
    if info.individual_number in unknown:
        return "UNKNOWN_INDIVIDUAL_NUMBER"
    return ""


class CardManagementServicer(pb_grpc.CardManagementServiceServicer):
    def __init__(
        self,
        conn: sqlite3.Connection,
        cs_certificate: x509.Certificate,
        trust_domain: str,
        unknown: frozenset[str] = frozenset(),
    ) -> None:
        self._conn = conn
        self._unknown = unknown
        self._cs = cs_certificate
        self._trust_domain = trust_domain
        self._lock = asyncio.Lock()

    async def _caller_is_cs(self, context: grpc.aio.ServicerContext) -> None:
        certs = context.auth_context().get(AUTH_CONTEXT_CERT_KEY) or [b""]
        try:
            identity = identity_from_pem(certs[0], self._trust_domain, frozenset({"cs"}))
        except IdentityError as err:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, f"ACCESS_DENIED: {err.reason}")
        if identity.role != "cs":
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "ACCESS_DENIED")

    async def Deliver(self, request: pb.ForwardedSofusaki, context: grpc.aio.ServicerContext) -> pb.ForwardAck:  # noqa: N802
        await self._caller_is_cs(context)
        seq = request.sofusaki_seq
        async with self._lock:
            row = self._conn.execute("SELECT body FROM received WHERE sofusaki_seq = ?", (seq,)).fetchone()
            if row is not None and bytes(row[0]) == request.body:
                return pb.ForwardAck(sofusaki_seq=seq, status=pb.ForwardAck.DUPLICATE)
            (last,) = self._conn.execute("SELECT COALESCE(MAX(sofusaki_seq), 0) FROM received").fetchone()
            reason = refusal(request, self._cs, last, self._unknown)
            if reason:
                self._conn.execute("INSERT INTO refused (sofusaki_seq, reason) VALUES (?, ?)", (seq, reason))
                return pb.ForwardAck(sofusaki_seq=seq, status=pb.ForwardAck.REFUSED, reason=reason)
            self._conn.execute(
                "INSERT INTO received (sofusaki_seq, body, digest, signature) VALUES (?, ?, ?, ?)",
                (seq, request.body, request.digest, request.signature),
            )
        return pb.ForwardAck(sofusaki_seq=seq, status=pb.ForwardAck.ACCEPTED)


async def serve(config: EmulatorConfig, unknown: frozenset[str] = frozenset()) -> int:
    conn = open_db(config.db)
    cs_cert = x509.load_pem_x509_certificates(config.cs_cert.read_bytes())[0]
    server = grpc.aio.server()
    pb_grpc.add_CardManagementServiceServicer_to_server(
        CardManagementServicer(conn, cs_cert, config.trust_domain, unknown), server
    )
    copy_conn = prefecture_emulator.open_db(copy_db(config.db))
    prefecture_pb_grpc.add_PrefectureServiceServicer_to_server(
        prefecture_emulator.PrefectureServicer(
            prefecture_emulator.PrefectureCopy(copy_conn, cs_cert), config.trust_domain, sender_role="prefecture"
        ),
        server,
    )
    credentials = grpc.ssl_server_credentials(
        [(config.key.read_bytes(), config.cert.read_bytes())],
        root_certificates=config.ca.read_bytes(),
        require_client_auth=True,
    )
    port = server.add_secure_port(config.listen, credentials)
    await server.start()
    host = config.listen.rpartition(":")[0]
    print(f"jlis-emulator listening on {host}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(2)
    conn.close()
    copy_conn.close()
    return 0


def copy_db(db: Path) -> Path:
    """The 全国サーバー's copy of the 本人確認情報: a file of its own beside the 送付先情報's."""
    return db.with_name(db.stem + "-copy" + db.suffix)


def received(db: Path) -> list[tuple[int, bytes, bytes, bytes]]:
    """(number, body, digest, signature) of every accepted 送付先情報, in order (for tests)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT sofusaki_seq, body, digest, signature FROM received ORDER BY sofusaki_seq")
        return [(seq, bytes(b), bytes(d), bytes(s)) for seq, b, d, s in rows]
    finally:
        conn.close()


def refusals(db: Path) -> list[tuple[int, str]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return list(conn.execute("SELECT sofusaki_seq, reason FROM refused ORDER BY id"))
    finally:
        conn.close()


def dump(db: Path, *, summary: bool) -> int:
    rows = received(db)
    print(
        json.dumps(
            {"received": len(rows), "last_sofusaki_seq": rows[-1][0] if rows else 0, "refused": len(refusals(db))}
        )
    )
    if not summary:
        for seq, body, digest, _signature in rows:
            info = pb.SofusakiInfo.FromString(body)
            print(
                json.dumps(
                    {
                        "sofusaki_seq": seq,
                        "sha256": digest.hex(),
                        "sofusaki_number": info.sofusaki_number,
                        "juminhyo_code": mask_identifier(info.juminhyo_code),
                        "individual_number": mask_identifier(info.individual_number),
                        "person_count": info.person_count,
                    },
                    ensure_ascii=False,
                )
            )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jlis-emulator", description="機構 (個人番号カード管理システム) emulator")
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve")
    p_serve.add_argument("--config", type=Path, required=True)
    p_dump = sub.add_parser("dump", help="the 送付先情報 received (identifiers masked)")
    p_dump.add_argument("--db", type=Path, required=True)
    p_dump.add_argument("--summary", action="store_true")
    p_dump.add_argument("--copy", action="store_true", help="the 全国サーバー's copy of the 本人確認情報 instead")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return asyncio.run(serve(load_config(args.config), unknown_numbers(args.config)))
    if args.copy:
        return prefecture_emulator.dump(copy_db(args.db), summary=args.summary)
    return dump(args.db, summary=args.summary)


_LISTENING = re.compile(r"jlis-emulator listening on (\S+):(\d+)")


def write_config(
    path: Path,
    *,
    pki_dir: Path,
    db: Path,
    listen: str = "127.0.0.1:0",
    cert_role: str = "jlis",
    trust_domain: str = "hirosaki.jukinet.test",
    unknown_individual_numbers: tuple[str, ...] = (),
) -> Path:
    """A configuration on the dev PKI (``cert_role``: which certificate it presents, for tests;
    ``unknown_individual_numbers``: 個人番号 the 機構 refuses)."""
    write_emulator_config(
        path, "jlis", pki_dir=pki_dir, db=db, listen=listen, cert_role=cert_role, trust_domain=trust_domain
    )
    if unknown_individual_numbers:
        listed = ", ".join(f'"{n}"' for n in unknown_individual_numbers)
        line = f"unknown_individual_numbers = [{listed}]\n"
        path.write_text(path.read_text(encoding="utf-8").replace("[jlis]\n", "[jlis]\n" + line, 1), encoding="utf-8")
    return path


def start_process(config: Path, *, timeout: float = 30.0) -> GatewayProcess:
    """``jlis-emulator serve`` as a child process, once it listens."""
    command = [sys.executable, "-m", "clients.jlis_emulator", "serve", "--config", str(config)]
    return start_listening_process(command, _LISTENING, what="the 機構 emulator", timeout=timeout)


if __name__ == "__main__":
    sys.exit(main())
