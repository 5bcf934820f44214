"""The emulators' copy keeps each record's digest with it; a body changed without its digest
(behind the CS's back, by plain SQL) is hashed again before the next tree, so the tree never
vouches for a body its digest was not computed from."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from clients.emulator_copy import copy_tree, prepare_copy, put_record, put_records
from cs_gateway.domain.consistency_tree import HashTree
from cs_gateway.domain.notice_encoding import encode_record
from tests.unit.test_notice_encoding import ITEMS


def _record(code: str, address: str = "青森県弘前市大字上白銀町1番地") -> tuple[str, bytes]:
    return code, encode_record({**ITEMS, "juminhyo_code": code, "address": address})


def _conn(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    prepare_copy(conn)
    return conn


def test_the_tree_of_the_copy_follows_every_change_of_its_bodies(tmp_path: Path) -> None:
    conn = _conn(tmp_path / "copy.sqlite3")
    records = dict(_record(f"1234567890{i}") for i in range(5))
    put_records(conn, records.items())
    assert copy_tree(conn, 2).root == HashTree.build(records.items(), 2).root
    changed = _record("12345678902", "青森県青森市長島1丁目")
    conn.execute("UPDATE records SET body = ? WHERE juminhyo_code = ?", (changed[1], changed[0]))  # digest untouched
    conn.execute("INSERT INTO records (juminhyo_code, update_seq, body) VALUES (?, 0, ?)", _record("99999999990"))
    records.update([changed, _record("99999999990")])
    assert copy_tree(conn, 2).root == HashTree.build(records.items(), 2).root
    code, body = _record("12345678902")
    put_record(conn, code, 2, body)
    records.update([_record("12345678902")])
    assert copy_tree(conn, 3).root == HashTree.build(records.items(), 3).root


def test_a_copy_made_before_the_digest_column_gets_it(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path, isolation_level=None)
    old.execute(
        "CREATE TABLE records (juminhyo_code TEXT PRIMARY KEY, update_seq INTEGER NOT NULL, body BLOB NOT NULL)"
    )
    old.execute("INSERT INTO records VALUES (?, 1, ?)", _record("12345678901"))
    old.close()
    conn = _conn(path)
    assert copy_tree(conn, 2).root == HashTree.build([_record("12345678901")], 2).root
