"""The 都道府県サーバー emulator: the other side of the change notices and of the consistency check.

Its own process, certificate (role prefecture), configuration and SQLite file holding its copy
of the 本人確認情報 (the notice items of each person's last notice, by 住民票コード).

- Accepts calls only from a CS certificate (role cs, SPIFFE ID in the configured trust domain;
  grpc has already verified the chain against the configured CA).
- DeliverNotices: verifies each notice's signature against the configured CS certificate
  (tls.cs_cert: a pinned key, not whatever the caller presents), its canonical encoding, and its
  order: 更新順番号 must be the next after the last applied; one already applied is answered
  DUPLICATE and has no second effect. Notices are applied in batches, one transaction each, and
  acknowledged only after the commit. A refused notice (BAD_SIGNATURE, MALFORMED, OUT_OF_ORDER)
  is answered REFUSED, applies nothing, and ends the stream.
- The inbox: with ``hold = true`` in [prefecture], notices verified in flight are kept in the
  inbox table (bytes + the CS's signature) and not yet applied, nor acknowledged (an ack means
  applied); ``prefecture-emulator apply`` applies them, and so does ``serve`` without hold at
  start (what a crash or a hold left there). Applying from the inbox verifies each notice's
  signature again over the stored bytes: one changed at rest is refused (INBOX_BAD_SIGNATURE,
  in the refused table and on the inbox row), not applied, and nothing after it is applied
  (order); the CS's redelivery of the genuine notice replaces it. ``verify`` checks the
  signature of every notice the emulator keeps (applied and in the inbox) and names any that
  fails (exit code 1).
- TreeNodes / Buckets / Records / FullFile: its copy for the consistency check.
- With ``[relay] target``: passes every applied notice on to the 全国サーバー (the 機構
  emulator), as signed by the CS, in order (clients/notice_relay.py).

    prefecture-emulator serve --config prefecture.toml
    prefecture-emulator dump --db prefecture.sqlite3 [--summary]
    prefecture-emulator apply --config prefecture.toml     # the inbox, signatures checked again
    prefecture-emulator verify --config prefecture.toml    # every kept notice's signature

The config:

    [prefecture]
    listen = "127.0.0.1:0"
    db = "prefecture.sqlite3"
    trust_domain = "hirosaki.jukinet.test"
    [tls]
    ca = "pki/dev/ca.crt"
    cert = "pki/dev/prefecture.crt"
    key = "pki/dev/prefecture.key"
    cs_cert = "pki/dev/cs.crt"
    [relay]                       # optional: the 全国サーバー
    target = "127.0.0.1:50071"
    server_name = "localhost"
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import signal
import sqlite3
import sys
import threading
import tomllib
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
from cryptography import x509

from clients.emulator_config import EmulatorConfig, load_emulator_config, open_emulator_db, write_emulator_config
from clients.emulator_copy import copy_bodies, copy_records, copy_tree, prepare_copy, put_record
from clients.notice_relay import relay_forever
from cs_gateway.domain.consistency_tree import HashTree
from cs_gateway.domain.masking import mask_identifier
from cs_gateway.domain.notice_encoding import EncodingError, decode_notice, encode_record
from cs_gateway.gen.jukinet.cs.v1 import prefecture_service_pb2 as pb
from cs_gateway.gen.jukinet.cs.v1 import prefecture_service_pb2_grpc as pb_grpc
from cs_gateway.peers.notice_signing import notice_signature_valid
from cs_gateway.process import GatewayProcess, start_listening_process
from cs_gateway.security.identity import AUTH_CONTEXT_CERT_KEY, IdentityError, identity_from_pem

APPLY_BATCH = 256
SCHEMA = """
CREATE TABLE IF NOT EXISTS applied (update_seq INTEGER PRIMARY KEY, juminhyo_code TEXT NOT NULL, body BLOB NOT NULL,
                                    signature BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS refused (id INTEGER PRIMARY KEY, update_seq INTEGER, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inbox (update_seq INTEGER PRIMARY KEY, body BLOB NOT NULL, signature BLOB NOT NULL,
                                  refused TEXT);
"""


def load_config(path: Path) -> EmulatorConfig:
    return load_emulator_config(path, "prefecture")


def open_db(path: Path) -> sqlite3.Connection:
    conn = open_emulator_db(path, SCHEMA)
    prepare_copy(conn)
    return conn


def held(path: Path) -> bool:
    """``[prefecture] hold``: keep received notices in the inbox instead of applying them."""
    return bool(tomllib.loads(Path(path).read_text(encoding="utf-8"))["prefecture"].get("hold", False))


class PrefectureCopy:
    """The emulator's SQLite copy and the rules by which notices change it."""

    def __init__(self, conn: sqlite3.Connection, cs_certificate: x509.Certificate, *, hold: bool = False) -> None:
        self._conn = conn
        self._cs = cs_certificate
        self._hold = hold
        self._tree: tuple[tuple[int, int], HashTree] | None = None
        self._applies = 0
        self._lock = threading.Lock()  # apply and the tree's digest fill share the connection

    def close(self) -> None:
        self._conn.close()

    def last_seq(self) -> int:
        (last,) = self._conn.execute("SELECT COALESCE(MAX(update_seq), 0) FROM applied").fetchone()
        return int(last)

    def apply(self, notices: list[pb.SignedNotice]) -> list[pb.NoticeAck]:
        """Apply in one transaction; the acks (the last one REFUSED if one was refused). Held:
        verified and kept in the inbox, not acknowledged."""
        if self._hold:
            return self._keep(notices)
        conn = self._conn
        acks: list[pb.NoticeAck] = []
        with self._lock:
            return self._apply(conn, notices, acks)

    def _apply(
        self, conn: sqlite3.Connection, notices: list[pb.SignedNotice], acks: list[pb.NoticeAck]
    ) -> list[pb.NoticeAck]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            last = self.last_seq()
            for notice in notices:
                reason, items = self._refusal(notice, last)
                if reason == "DUPLICATE":
                    acks.append(pb.NoticeAck(update_seq=notice.update_seq, status=pb.NoticeAck.DUPLICATE))
                    continue
                if reason:
                    conn.execute("INSERT INTO refused (update_seq, reason) VALUES (?, ?)", (notice.update_seq, reason))
                    acks.append(pb.NoticeAck(update_seq=notice.update_seq, status=pb.NoticeAck.REFUSED, reason=reason))
                    break
                self._apply_one(notice, items)
                last = notice.update_seq
                acks.append(pb.NoticeAck(update_seq=notice.update_seq, status=pb.NoticeAck.APPLIED))
            if any(ack.status == pb.NoticeAck.APPLIED for ack in acks):
                conn.execute("DELETE FROM inbox WHERE update_seq <= ?", (last,))  # a kept copy, now applied
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self._applies += 1
        return acks

    def _apply_one(self, notice: pb.SignedNotice, items: dict[str, object]) -> None:
        """``items``: the notice's, decoded once by _refusal (the canonical check included)."""
        conn = self._conn
        code = str(items["juminhyo_code"])
        previous = str(items["previous_juminhyo_code"])
        if previous and previous != code:  # 住民票コード変更: the old code is no longer a record
            conn.execute("DELETE FROM records WHERE juminhyo_code = ?", (previous,))
        put_record(conn, code, notice.update_seq, encode_record(items))
        conn.execute(
            "INSERT INTO applied (update_seq, juminhyo_code, body, signature) VALUES (?, ?, ?, ?)",
            (notice.update_seq, code, notice.body, notice.signature),
        )

    def _keep(self, notices: list[pb.SignedNotice]) -> list[pb.NoticeAck]:
        """Held: each notice verified in flight is kept in the inbox (replacing a copy kept before)."""
        acks: list[pb.NoticeAck] = []
        with _transaction(self._conn) as conn:
            last = self.last_seq()
            for notice in notices:
                reason, _items = self._refusal(notice, last)
                if reason == "DUPLICATE":
                    acks.append(pb.NoticeAck(update_seq=notice.update_seq, status=pb.NoticeAck.DUPLICATE))
                    continue
                if reason and reason != "OUT_OF_ORDER":  # the order is the apply's business
                    conn.execute("INSERT INTO refused (update_seq, reason) VALUES (?, ?)", (notice.update_seq, reason))
                    acks.append(pb.NoticeAck(update_seq=notice.update_seq, status=pb.NoticeAck.REFUSED, reason=reason))
                    break
                conn.execute(
                    "INSERT OR REPLACE INTO inbox (update_seq, body, signature, refused) VALUES (?, ?, ?, NULL)",
                    (notice.update_seq, notice.body, notice.signature),
                )
        return acks

    def apply_inbox(self) -> tuple[int, tuple[int, str] | None]:
        """Apply the kept notices in order, each verified again over its stored bytes: how many
        were applied, and the one refused (update_seq, reason) if one was (nothing after it)."""
        applied, refused = 0, None
        with _transaction(self._conn) as conn:
            last = self.last_seq()
            rows = conn.execute(
                "SELECT update_seq, body, signature FROM inbox WHERE refused IS NULL ORDER BY update_seq"
            ).fetchall()
            for seq, body, signature in rows:
                notice = pb.SignedNotice(update_seq=seq, body=bytes(body), signature=bytes(signature))
                reason, items = self._refusal(notice, last)
                if reason == "OUT_OF_ORDER":
                    break  # a gap: the CS sends the missing one again
                if reason and reason != "DUPLICATE":
                    refused = (seq, f"INBOX_{reason}")
                    conn.execute("UPDATE inbox SET refused = ? WHERE update_seq = ?", (refused[1], seq))
                    conn.execute("INSERT INTO refused (update_seq, reason) VALUES (?, ?)", refused)
                    break
                if not reason:
                    self._apply_one(notice, items)
                    last, applied = seq, applied + 1
                conn.execute("DELETE FROM inbox WHERE update_seq = ?", (seq,))
        self._applies += 1
        return applied, refused

    def verify(self) -> tuple[int, list[tuple[str, int]]]:
        """Every kept notice's signature checked again: (how many, the failing (table, update_seq))."""
        bad: list[tuple[str, int]] = []
        checked = 0
        for table in ("applied", "inbox"):
            for seq, body, signature in self._conn.execute(
                f"SELECT update_seq, body, signature FROM {table} ORDER BY update_seq"  # noqa: S608 - fixed names
            ):
                checked += 1
                if not notice_signature_valid(self._cs, bytes(body), bytes(signature)):
                    bad.append((table, int(seq)))
        return checked, bad

    def _refusal(self, notice: pb.SignedNotice, last: int) -> tuple[str, dict[str, object]]:
        """Why the notice is not applied ("" when it is), and its items (decoded once, here)."""
        if not notice_signature_valid(self._cs, notice.body, notice.signature):
            return "BAD_SIGNATURE", {}
        try:
            items = decode_notice(notice.body)
        except EncodingError:
            return "MALFORMED", {}
        if items["update_seq"] != notice.update_seq:
            return "MALFORMED", {}
        if notice.update_seq <= last:
            return "DUPLICATE", items
        if notice.update_seq != last + 1:
            return "OUT_OF_ORDER", items
        return "", items

    def records(self) -> list[tuple[str, bytes]]:
        with self._lock:
            return copy_records(self._conn)

    def tree(self, depth: int) -> HashTree:
        (version,) = self._conn.execute("PRAGMA data_version").fetchone()
        key = (self._applies, int(version))
        if self._tree is None or self._tree[0] != key or self._tree[1].depth != depth:
            with self._lock:
                self._tree = (key, copy_tree(self._conn, depth))
        return self._tree[1]

    def bodies(self, codes: Iterable[str]) -> list[tuple[str, bytes]]:
        with self._lock:
            return copy_bodies(self._conn, codes)


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


class PrefectureServicer(pb_grpc.PrefectureServiceServicer):
    """The notices and the copy as PrefectureService serves them. ``sender_role``: who may
    deliver notices (the CS here; the 都道府県サーバー at the 全国サーバー, which it relays
    to); the copy is read by the CS only."""

    def __init__(self, copy: PrefectureCopy, trust_domain: str, *, sender_role: str = "cs") -> None:
        self._copy = copy
        self._trust_domain = trust_domain
        self._sender_role = sender_role

    async def _caller_is(self, context: grpc.aio.ServicerContext, role: str) -> None:
        certs = context.auth_context().get(AUTH_CONTEXT_CERT_KEY) or [b""]
        try:
            identity = identity_from_pem(certs[0], self._trust_domain, frozenset({role}))
        except IdentityError as err:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, f"ACCESS_DENIED: {err.reason}")
        if identity.role != role:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "ACCESS_DENIED")

    async def _caller_is_cs(self, context: grpc.aio.ServicerContext) -> None:
        await self._caller_is(context, "cs")

    async def DeliverNotices(  # noqa: N802 - the RPC's name
        self, request_iterator: AsyncIterator[pb.SignedNotice], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.NoticeAck]:
        await self._caller_is(context, self._sender_role)
        queue: asyncio.Queue[pb.SignedNotice | None] = asyncio.Queue(maxsize=APPLY_BATCH * 4)

        async def receive() -> None:
            async for notice in request_iterator:
                await queue.put(notice)
            await queue.put(None)

        receiver = asyncio.create_task(receive())
        try:
            while True:
                first = await queue.get()
                if first is None:
                    return
                batch = [first]
                ended = False
                while len(batch) < APPLY_BATCH and not queue.empty():
                    item = queue.get_nowait()
                    if item is None:
                        ended = True
                        break
                    batch.append(item)
                acks = await asyncio.to_thread(self._copy.apply, batch)
                for ack in acks:
                    yield ack
                if acks and acks[-1].status == pb.NoticeAck.REFUSED:
                    return
                if ended:
                    return
        finally:
            receiver.cancel()

    async def TreeNodes(  # noqa: N802
        self, request: pb.TreeNodesRequest, context: grpc.aio.ServicerContext
    ) -> pb.TreeNodesReply:
        await self._caller_is_cs(context)
        tree = await asyncio.to_thread(self._copy.tree, _depth(context))
        nodes = []
        for prefix in request.prefixes:
            digest, count = tree.node(prefix)
            nodes.append(pb.TreeNode(prefix=prefix, hash=digest, count=count))
        return pb.TreeNodesReply(nodes=nodes)

    async def Buckets(self, request: pb.BucketRequest, context: grpc.aio.ServicerContext) -> pb.BucketReply:  # noqa: N802
        await self._caller_is_cs(context)
        tree = await asyncio.to_thread(self._copy.tree, _depth(context))
        entries = [
            pb.BucketEntry(juminhyo_code=code, record_hash=digest)
            for prefix in request.prefixes
            for code, digest in tree.bucket(prefix)
        ]
        return pb.BucketReply(entries=entries)

    async def Records(self, request: pb.RecordsRequest, context: grpc.aio.ServicerContext) -> pb.RecordsReply:  # noqa: N802
        await self._caller_is_cs(context)
        found = await asyncio.to_thread(self._copy.bodies, list(request.juminhyo_codes))
        return pb.RecordsReply(records=[pb.CanonicalRecord(juminhyo_code=c, body=b) for c, b in found])

    async def FullFile(  # noqa: N802
        self, request: pb.FullFileRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.CanonicalRecord]:
        await self._caller_is_cs(context)
        for code, body in await asyncio.to_thread(self._copy.records):
            yield pb.CanonicalRecord(juminhyo_code=code, body=body)


def _depth(context: grpc.aio.ServicerContext) -> int:
    for key, value in context.invocation_metadata() or ():
        if key == "x-tree-depth" and str(value).isdigit() and 1 <= int(value) <= 10:
            return int(value)
    return 6


def _copy(config: EmulatorConfig, *, hold: bool = False) -> PrefectureCopy:
    cs_cert = x509.load_pem_x509_certificates(config.cs_cert.read_bytes())[0]
    return PrefectureCopy(open_db(config.db), cs_cert, hold=hold)


async def serve(config: EmulatorConfig, *, hold: bool = False) -> int:
    copy = _copy(config, hold=hold)
    if not hold:  # what a crash or a hold left in the inbox, verified again
        applied, refused = copy.apply_inbox()
        if applied or refused:
            print(json.dumps({"inbox_applied": applied, "inbox_refused": refused}), flush=True)
    server = grpc.aio.server()
    pb_grpc.add_PrefectureServiceServicer_to_server(PrefectureServicer(copy, config.trust_domain), server)
    credentials = grpc.ssl_server_credentials(
        [(config.key.read_bytes(), config.cert.read_bytes())],
        root_certificates=config.ca.read_bytes(),
        require_client_auth=True,
    )
    port = server.add_secure_port(config.listen, credentials)
    await server.start()
    host = config.listen.rpartition(":")[0]
    print(f"prefecture-emulator listening on {host}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    relay = None
    if config.relay_target:  # pass the notices on to the 全国サーバー (clients/notice_relay.py)
        relay = asyncio.create_task(relay_forever(config, open_emulator_db(config.db, SCHEMA), stop))
    await stop.wait()
    if relay is not None:
        relay.cancel()  # what was acknowledged is recorded; the rest is resent at the next start
        with contextlib.suppress(asyncio.CancelledError):
            await relay
    await server.stop(2)
    copy.close()
    return 0


def last_applied(db: Path) -> int:
    """The last 更新順番号 a copy applied (0 while it has none), read-only."""
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        (last,) = conn.execute("SELECT COALESCE(MAX(update_seq), 0) FROM applied").fetchone()
        return int(last)
    except sqlite3.OperationalError:  # the emulator has not made its tables yet
        return 0
    finally:
        conn.close()


def dump(db: Path, *, summary: bool) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    (count,) = conn.execute("SELECT COUNT(*) FROM records").fetchone()
    (applied, last) = conn.execute("SELECT COUNT(*), COALESCE(MAX(update_seq), 0) FROM applied").fetchone()
    (refused,) = conn.execute("SELECT COUNT(*) FROM refused").fetchone()
    try:
        (kept, kept_refused) = conn.execute("SELECT COUNT(*), COUNT(refused) FROM inbox").fetchone()
    except sqlite3.OperationalError:  # a file from before the inbox
        kept, kept_refused = 0, 0
    summary = {"records": count, "notices_applied": applied, "last_update_seq": last, "refused": refused}
    print(json.dumps({**summary, "inbox": kept, "inbox_refused": kept_refused}))
    if not summary:
        for code, seq, body in conn.execute(
            "SELECT juminhyo_code, update_seq, body FROM records ORDER BY juminhyo_code"
        ):
            items = json.loads(bytes(body).split(b"\n", 1)[1])
            items["juminhyo_code"] = mask_identifier(code)
            items["individual_number"] = mask_identifier(str(items["individual_number"]))
            if items.get("previous_juminhyo_code"):
                items["previous_juminhyo_code"] = mask_identifier(str(items["previous_juminhyo_code"]))
            print(json.dumps({"update_seq": seq, **items}, ensure_ascii=False))
    conn.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="prefecture-emulator", description="都道府県サーバー emulator")
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve")
    p_serve.add_argument("--config", type=Path, required=True)
    p_dump = sub.add_parser("dump", help="what the copy holds (identifiers masked)")
    p_dump.add_argument("--db", type=Path, required=True)
    p_dump.add_argument("--summary", action="store_true")
    for name, text in (("apply", "apply the inbox (signatures checked again)"), ("verify", "check every kept notice")):
        sub.add_parser(name, help=text).add_argument("--config", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "serve":
        return asyncio.run(serve(load_config(args.config), hold=held(args.config)))
    if args.command == "apply":
        applied, refused = _copy(load_config(args.config)).apply_inbox()
        print(json.dumps({"applied": applied, "refused": refused}))
        return 1 if refused else 0
    if args.command == "verify":
        checked, bad = _copy(load_config(args.config)).verify()
        print(json.dumps({"checked": checked, "bad_signature": [{"table": t, "update_seq": s} for t, s in bad]}))
        return 1 if bad else 0
    return dump(args.db, summary=args.summary)


if __name__ == "__main__":
    sys.exit(main())


_LISTENING = re.compile(r"prefecture-emulator listening on (\S+):(\d+)")


def write_config(
    path: Path,
    *,
    pki_dir: Path,
    db: Path,
    listen: str = "127.0.0.1:0",
    cert_role: str = "prefecture",
    trust_domain: str = "hirosaki.jukinet.test",
    hold: bool = False,
    relay_target: str = "",
) -> Path:
    """A configuration on the dev PKI (``cert_role``: which certificate it presents, for tests;
    ``hold``: keep received notices in the inbox; ``relay_target``: the 全国サーバー it passes the
    notices on to, none when "")."""
    write_emulator_config(
        path,
        "prefecture",
        pki_dir=pki_dir,
        db=db,
        listen=listen,
        cert_role=cert_role,
        trust_domain=trust_domain,
        relay_target=relay_target,
    )
    if hold:
        path.write_text(path.read_text(encoding="utf-8").replace("[prefecture]\n", "[prefecture]\nhold = true\n", 1))
    return path


def start_process(config: Path, *, timeout: float = 30.0) -> GatewayProcess:
    """``prefecture-emulator serve`` as a child process, once it listens."""
    command = [sys.executable, "-m", "clients.prefecture_emulator", "serve", "--config", str(config)]
    return start_listening_process(command, _LISTENING, what="the prefecture emulator", timeout=timeout)
