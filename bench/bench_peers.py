"""Benchmark: the consistency check and the notifier's drain, against baselines of the same run.

1. Consistency: a file of --records records (default 1,000,000) of which 100 differ at the peer
   (34 changed, 33 missing, 33 added); the prefecture emulator (a real process, mTLS) holds the
   peer's copy (records with their digests, as it keeps them); the CS's side is a persons table
   of sealed record digests read as the store reads it (BenchCopy). The tree mode's time (both
   trees built from the stored digests, at once; the descent; the records fetched) and the bytes
   it receives, over the bytes of the full file (every canonical record, as the full mode
   would receive them).
2. Drain: --notices change notices (default 100,000) stored while the prefecture is down; then
   the emulator starts and the gateway's notifier drains them (signatures, acknowledgements, the
   marks in the writer, the emulator's SQLite commits). Baseline: a bare bidirectional mTLS echo
   stream of as many messages of the same size, in this process against a child-free grpc server.

Last line: ``ratio consistency_bytes=X consistency_s=Y drain=Z`` (X: bytes received / full file
bytes; Y: seconds; Z: drain rate / echo stream rate).

Usage: python bench/bench_peers.py [--records N] [--notices N] [--skip-consistency | --skip-drain]
(--skip-consistency: the drain only; X and Y are printed as nan. --skip-drain: Z is "skipped")
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from concurrent import futures
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clients.emulator_copy import put_records  # noqa: E402
from clients.prefecture_emulator import open_db  # noqa: E402
from clients.synthetic import juminhyo_code_of, tennyu_request  # noqa: E402
from cs_gateway.app.consistency import check_by_tree  # noqa: E402
from cs_gateway.config import load_config  # noqa: E402
from cs_gateway.domain.consistency_tree import HashTree, record_hash  # noqa: E402
from cs_gateway.domain.notice_encoding import encode_record  # noqa: E402
from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2_grpc  # noqa: E402
from cs_gateway.peers.prefecture_client import PrefectureCopyClient  # noqa: E402
from cs_gateway.server import certificate_gate  # noqa: E402
from cs_gateway.store.at_rest import NumberCipher  # noqa: E402
from cs_gateway.store.record_digests import current_digest_rows  # noqa: E402
from pki.dev_pki import DevPki, init_dev_pki  # noqa: E402
from tests.e2e.peers_helpers import gateway_config, start_gateway, start_prefecture  # noqa: E402

ECHO = "/bench.Echo/Stream"


def _items(i: int, address: str = "") -> dict[str, object]:
    return {
        "juminhyo_code": juminhyo_code_of(i),
        "name_kanji": f"弘前　太郎{i % 97}",
        "name_kana": "ヒロサキ　タロウ",
        "birth_date": "1980-04-01",
        "sex": 1 + i % 2,
        "address": address or f"青森県弘前市大字上白銀町{i % 50}番地",
        "individual_number": f"{i:012d}",
        "change_reason": 1,
        "change_date": "2025-04-01",
        "update_seq": i + 1,
        "previous_juminhyo_code": "",
        "record_status": 0,
    }


class BenchCopy:
    """The CS's side as the store reads it (peers/consistency_run.StoreCopy): a persons table of
    (住民票コード, sealed record digest) in a real SQLite file, read by the store's own
    current_digest_rows (one scan by the code index, one call to open the digests); the bodies
    of the records that differ from memory (the store reads those few by code)."""

    def __init__(self, path: Path, bodies: dict[str, bytes]) -> None:
        self._cipher = NumberCipher(b"b" * 32)
        self._bodies = bodies
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute(
            "CREATE TABLE persons (person_id INTEGER PRIMARY KEY, juminhyo_code TEXT NOT NULL UNIQUE, "
            "update_seq INTEGER NOT NULL, record_digest BLOB)"
        )
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO persons (juminhyo_code, update_seq, record_digest) VALUES (?, 0, ?)",
            ((code, self._cipher.seal_digest(record_hash(body))) for code, body in bodies.items()),
        )
        conn.execute("COMMIT")
        self._conn = conn

    def count(self) -> int:
        (n,) = self._conn.execute("SELECT COUNT(*) FROM persons").fetchone()
        return int(n)

    def tree(self, depth: int) -> HashTree:
        return HashTree.from_rows(current_digest_rows(self._conn, self._cipher), depth)

    def records(self, codes: list[str]) -> dict[str, bytes]:
        return {code: self._bodies[code] for code in codes if code in self._bodies}

    def full_file(self):  # type: ignore[no-untyped-def]
        yield from sorted(self._bodies.items())


def consistency(root: Path, pki: DevPki, records: int) -> tuple[float, float]:
    local = {juminhyo_code_of(i): encode_record(_items(i)) for i in range(records)}
    picked = random.Random(13).sample(range(records), 100)
    peer = dict(local)
    for i in picked[:34]:
        peer[juminhyo_code_of(i)] = encode_record(_items(i, "青森県弘前市大字別町１番地"))
    for i in picked[34:67]:
        del peer[juminhyo_code_of(i)]
    for i in range(records, records + 33):
        peer[juminhyo_code_of(i)] = encode_record(_items(i))
    conn = open_db(root / "prefecture.sqlite3")
    put_records(conn, peer.items())
    conn.close()
    cs_copy = BenchCopy(root / "cs-persons.sqlite3", local)
    full_bytes = sum(len(code) + len(body) for code, body in peer.items())
    process = start_prefecture(root, pki)
    try:
        config = load_config(gateway_config(root, pki, process.port))
        client = PrefectureCopyClient(
            config, certificate_gate(config), target=f"127.0.0.1:{process.port}", server_name="localhost"
        )
        started = time.perf_counter()
        report = check_by_tree(cs_copy, client)
        seconds = time.perf_counter() - started
        client.close()
    finally:
        process.stop()
    assert len(report.differences) == 100, len(report.differences)
    print(
        f"consistency: {records} records, 100 differ: {seconds:.2f} s, {client.bytes_received} bytes received "
        f"of a {full_bytes}-byte file",
        flush=True,
    )
    return client.bytes_received / full_bytes, seconds


def echo_rate(pki: DevPki, count: int, size: int) -> float:
    def stream(requests, context):  # type: ignore[no-untyped-def]
        yield from requests

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    handler = grpc.method_handlers_generic_handler(
        "bench.Echo", {"Stream": grpc.stream_stream_rpc_method_handler(stream)}
    )
    server.add_generic_rpc_handlers([handler])
    creds = grpc.ssl_server_credentials(
        [(pki.key_path("prefecture").read_bytes(), pki.cert_path("prefecture").read_bytes())],
        root_certificates=pki.ca_cert_path.read_bytes(),
        require_client_auth=True,
    )
    port = server.add_secure_port("127.0.0.1:0", creds)
    server.start()
    try:
        channel = grpc.secure_channel(
            f"localhost:{port}",
            grpc.ssl_channel_credentials(
                pki.ca_cert_path.read_bytes(), pki.key_path("cs").read_bytes(), pki.cert_path("cs").read_bytes()
            ),
        )
        payload = b"x" * size
        started = time.perf_counter()
        received = sum(1 for _ in channel.stream_stream(ECHO)(payload for _ in range(count)))
        seconds = time.perf_counter() - started
        channel.close()
    finally:
        server.stop(0)
    assert received == count
    return count / seconds


def _applied(db: Path) -> int:
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT COALESCE(MAX(update_seq), 0) FROM applied").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def drain(root: Path, pki: DevPki, notices: int) -> float:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gateway = start_gateway(gateway_config(root, pki, port))
    try:
        stub = update_service_pb2_grpc.UpdateServiceStub(
            grpc.secure_channel(
                f"localhost:{gateway.port}",
                grpc.ssl_channel_credentials(
                    pki.ca_cert_path.read_bytes(),
                    pki.key_path("kizon-juki").read_bytes(),
                    pki.cert_path("kizon-juki").read_bytes(),
                ),
            )
        )
        for result in stub.ApplyStream((tennyu_request(i) for i in range(notices)), timeout=3600):
            assert result.WhichOneof("outcome") == "record"
        db = root / "prefecture.sqlite3"
        started = time.perf_counter()
        prefecture = start_prefecture(root, pki, port=port)
        try:
            while _applied(db) < notices:  # one indexed MAX per poll, not the whole list
                time.sleep(0.2)
            seconds = time.perf_counter() - started
        finally:
            prefecture.stop()
    finally:
        gateway.stop()
    rate = notices / seconds
    print(f"drain: {notices} notices in {seconds:.2f} s ({rate:.0f}/s)", flush=True)
    return rate


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--notices", type=int, default=100_000)
    parser.add_argument("--skip-consistency", action="store_true", help="the drain only")
    parser.add_argument("--skip-drain", action="store_true", help="the consistency part only (no drain ratio)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-peers-") as tmp:
        root = Path(tmp)
        pki = init_dev_pki(root / "pki")
        (root / "c").mkdir()
        (root / "d").mkdir()
        ratio_bytes, seconds = (float("nan"), float("nan"))
        if not args.skip_consistency:
            ratio_bytes, seconds = consistency(root / "c", pki, args.records)
        if args.skip_drain:
            print(f"ratio consistency_bytes={ratio_bytes:.6f} consistency_s={seconds:.2f} drain=skipped")
            return 0
        rate = drain(root / "d", pki, args.notices)
        conn = sqlite3.connect(root / "d" / "prefecture.sqlite3")
        (size,) = conn.execute("SELECT AVG(length(body) + length(signature) + 8) FROM applied").fetchone()
        conn.close()
        echo = echo_rate(pki, args.notices, int(size))
        print(f"echo stream: {args.notices} messages of {int(size)} bytes: {echo:.0f}/s", flush=True)
    print(f"ratio consistency_bytes={ratio_bytes:.6f} consistency_s={seconds:.2f} drain={rate / echo:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
