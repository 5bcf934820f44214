"""The consistency check against the prefecture emulator (a real process, mTLS): the tree mode
finds exactly the records changed behind one side's back, the full mode finds the same, and
identical copies report nothing."""

from __future__ import annotations

import random

import pytest

from clients.emulator_copy import put_records
from clients.prefecture_emulator import open_db
from clients.synthetic import juminhyo_code_of
from cs_gateway.app.consistency import DIFFERS, MISSING_AT_PEER, MISSING_HERE, check_by_tree, check_full
from cs_gateway.config import load_config
from cs_gateway.domain.notice_encoding import encode_record
from cs_gateway.peers.prefecture_client import PrefectureCopyClient
from cs_gateway.server import certificate_gate
from pki.dev_pki import DevPki
from tests.e2e.peers_helpers import gateway_config, start_prefecture

N = 100_000
CHANGES = 100  # 34 changed, 33 deleted at the peer, 33 added at the peer


def _items(i: int, **changes: object) -> dict[str, object]:
    items: dict[str, object] = {
        "juminhyo_code": juminhyo_code_of(i),
        "name_kanji": f"弘前　太郎{i % 97}",
        "name_kana": "ヒロサキ　タロウ",
        "birth_date": "1980-04-01",
        "sex": 1 + i % 2,
        "address": f"青森県弘前市大字上白銀町{i % 50}番地",
        "individual_number": f"{i:012d}",
        "change_reason": 1,
        "change_date": "2025-04-01",
        "update_seq": i + 1,
        "previous_juminhyo_code": "",
        "record_status": 0,
    }
    items.update(changes)
    return items


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory, dev_pki: DevPki):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("consistency")
    local = {juminhyo_code_of(i): encode_record(_items(i)) for i in range(N)}
    rng = random.Random(13)
    picked = rng.sample(range(N), CHANGES)
    changed, deleted = picked[:34], picked[34:67]
    peer_file = dict(local)
    for i in changed:
        peer_file[juminhyo_code_of(i)] = encode_record(_items(i, address="青森県弘前市大字別町１番地"))
    for i in deleted:
        del peer_file[juminhyo_code_of(i)]
    added = list(range(N, N + 33))
    for i in added:
        peer_file[juminhyo_code_of(i)] = encode_record(_items(i))
    conn = open_db(root / "prefecture.sqlite3")
    put_records(conn, peer_file.items())
    conn.close()
    process = start_prefecture(root, dev_pki)
    config = load_config(gateway_config(root, dev_pki, process.port))
    client = PrefectureCopyClient(
        config, certificate_gate(config), target=f"127.0.0.1:{process.port}", server_name="localhost"
    )
    expected = (
        {(juminhyo_code_of(i), DIFFERS, ("address",)) for i in changed}
        | {(juminhyo_code_of(i), MISSING_AT_PEER, ()) for i in deleted}
        | {(juminhyo_code_of(i), MISSING_HERE, ()) for i in added}
    )
    yield client, local, peer_file, expected
    client.close()
    process.stop()


def test_tree_mode_finds_exactly_the_changed_deleted_and_added_records(peer) -> None:  # type: ignore[no-untyped-def]
    client, local, _, expected = peer
    before = client.bytes_received
    report = check_by_tree(local, client)
    assert {(d.juminhyo_code, d.kind, d.items) for d in report.differences} == expected
    assert len(report.differences) == CHANGES
    full_bytes = sum(len(b) for b in local.values())
    assert client.bytes_received - before < full_bytes * 0.05  # far less than the whole file


def test_full_mode_agrees_with_the_tree_mode(peer) -> None:  # type: ignore[no-untyped-def]
    client, local, _, expected = peer
    report = check_full(local, client)
    assert {(d.juminhyo_code, d.kind, d.items) for d in report.differences} == expected
    assert report.differences == check_by_tree(local, client).differences


def test_identical_copies_report_nothing_in_either_mode(peer) -> None:  # type: ignore[no-untyped-def]
    client, _, peer_file, _ = peer
    before = client.bytes_received
    tree = check_by_tree(peer_file, client)
    assert tree.agrees and tree.nodes_asked == 1
    assert client.bytes_received - before < 100  # one root hash
    assert check_full(peer_file, client).agrees
