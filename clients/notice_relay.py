"""The 都道府県サーバー emulator passes the CS's notices on to the 全国サーバー (the 機構 emulator),
as the real chain does: every notice it applied, exactly as the CS signed it, in 更新順番号
order, over mTLS with its own prefecture certificate, to a server that must present role jlis
(checked in code, as the CS checks its peers). The 全国サーバー verifies the CS's signature and
the order itself and answers like the prefecture does; a notice counts as relayed once
acknowledged (APPLIED or DUPLICATE), recorded in the emulator's own file (relayed), so a
restart resends from the first unacknowledged one and a redelivery has no second effect.
Down or refusing: retried with backoff, never skipped."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import ssl
from collections.abc import Iterator

import grpc

from clients.emulator_config import EmulatorConfig
from cs_gateway.gen.jukinet.cs.v1 import prefecture_service_pb2 as pb
from cs_gateway.gen.jukinet.cs.v1 import prefecture_service_pb2_grpc as pb_grpc
from cs_gateway.peers.peer_check import fetch_server_certificate
from cs_gateway.security.identity import IdentityError, identity_from_pem

BATCH = 500
RELAY_SCHEMA = "CREATE TABLE IF NOT EXISTS relayed (id INTEGER PRIMARY KEY CHECK (id = 1), upto INTEGER NOT NULL);"


def relayed_upto(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT upto FROM relayed WHERE id = 1").fetchone()
    return int(row[0]) if row else 0


def _pending(conn: sqlite3.Connection, after: int) -> list[pb.SignedNotice]:
    rows = conn.execute(
        "SELECT update_seq, body, signature FROM applied WHERE update_seq > ? ORDER BY update_seq LIMIT ?",
        (after, BATCH),
    ).fetchall()
    return [pb.SignedNotice(update_seq=s, body=bytes(b), signature=bytes(g)) for s, b, g in rows]


def _check_server(config: EmulatorConfig) -> str:
    """ "" when the relay target presents role jlis in the trust domain, else why not."""
    try:
        pem = fetch_server_certificate(
            config.relay_target, server_name=config.relay_server_name, ca=config.ca, cert=config.cert, key=config.key
        )
        identity = identity_from_pem(pem, config.trust_domain, frozenset({"jlis"}))
    except (OSError, ssl.SSLError) as err:
        return f"unreachable: {err}"
    except IdentityError as err:
        return f"identity: {err.reason}"
    return "" if identity.role == "jlis" else f"role:{identity.role}-is-not-jlis"


async def relay_forever(config: EmulatorConfig, conn: sqlite3.Connection, stop: asyncio.Event) -> None:
    """Run until ``stop``: pass every applied notice on, in order."""
    conn.executescript(RELAY_SCHEMA)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=config.ca.read_bytes(),
        private_key=config.key.read_bytes(),
        certificate_chain=config.cert.read_bytes(),
    )
    delay = 0.1
    checked = False
    while not stop.is_set():
        notices = _pending(conn, relayed_upto(conn))
        if not notices:
            await _sleep(stop, 0.2)
            continue
        if not checked:
            why = await asyncio.to_thread(_check_server, config)
            if why:
                print(f"prefecture-emulator relay: nothing sent to {config.relay_target}: {why}", flush=True)
                await _sleep(stop, delay)
                delay = min(delay * 2, 5.0)
                continue
            checked = True
        try:
            await _send(config, credentials, conn, notices)
            delay = 0.1
        except grpc.aio.AioRpcError as err:
            print(f"prefecture-emulator relay: {err.code().name}; retrying", flush=True)
            checked = False  # a restarted peer is checked again
            await _sleep(stop, delay * (0.5 + random.random()))
            delay = min(delay * 2, 5.0)


async def _send(
    config: EmulatorConfig,
    credentials: grpc.ChannelCredentials,
    conn: sqlite3.Connection,
    notices: list[pb.SignedNotice],
) -> None:
    options = [("grpc.ssl_target_name_override", config.relay_server_name)]
    async with grpc.aio.secure_channel(config.relay_target, credentials, options=options) as channel:
        stub = pb_grpc.PrefectureServiceStub(channel)

        def requests() -> Iterator[pb.SignedNotice]:
            yield from notices

        async for ack in stub.DeliverNotices(requests(), timeout=60):
            if ack.status in (pb.NoticeAck.APPLIED, pb.NoticeAck.DUPLICATE):
                conn.execute(
                    "INSERT INTO relayed (id, upto) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET upto = excluded.upto",
                    (ack.update_seq,),
                )
            else:
                print(f"prefecture-emulator relay: notice refused by the 全国サーバー: {ack.reason}", flush=True)
                await asyncio.sleep(1.0)  # then resent from the refused one (never skipped)
                return


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
