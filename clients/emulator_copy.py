"""The copy of the 本人確認情報 a peer emulator keeps (都道府県サーバー, 全国サーバー): one row per
住民票コード with the record's canonical encoding and its digest (domain/consistency_tree.py
record_hash), written together; the consistency check's tree is built from the stored digests
in code order, one indexed scan, no record re-encoded.

A row changed without its digest (an UPDATE of body alone, as a test changing the copy behind
the CS's back does, or an INSERT without one) has its digest cleared by a trigger and computed
again before the next tree is built: the stored digests never vouch for a body they were not
computed from.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from cs_gateway.domain.consistency_tree import HashTree, record_hash

RECORDS_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (juminhyo_code TEXT PRIMARY KEY, update_seq INTEGER NOT NULL, body BLOB NOT NULL,
                                    digest BLOB);
"""
_DIGEST_INDEXES = """
CREATE INDEX IF NOT EXISTS records_digests ON records(juminhyo_code, digest);
CREATE INDEX IF NOT EXISTS records_without_digest ON records(juminhyo_code) WHERE digest IS NULL;
"""
_DIGEST_GUARD = """
CREATE TRIGGER IF NOT EXISTS records_body_without_digest AFTER UPDATE OF body ON records
    WHEN NEW.digest IS OLD.digest
    BEGIN UPDATE records SET digest = NULL WHERE juminhyo_code = NEW.juminhyo_code; END;
"""


def prepare_copy(conn: sqlite3.Connection) -> None:
    """The records table with its digest column (added to a copy made before it), its guard,
    and the indexes the tree is read by: (code, digest) covers the tree's scan in code order,
    and the partial one finds the rows whose digest is missing without reading every body."""
    conn.executescript(RECORDS_SCHEMA)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(records)")}
    if "digest" not in columns:
        conn.execute("ALTER TABLE records ADD COLUMN digest BLOB")
    conn.executescript(_DIGEST_INDEXES + _DIGEST_GUARD)


def put_record(conn: sqlite3.Connection, code: str, update_seq: int, body: bytes) -> None:
    """Store a record and its digest (inside the caller's transaction)."""
    conn.execute(
        "INSERT INTO records (juminhyo_code, update_seq, body, digest) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(juminhyo_code) DO UPDATE SET update_seq = excluded.update_seq, body = excluded.body, "
        "digest = excluded.digest",
        (code, update_seq, body, record_hash(body)),
    )


def put_records(conn: sqlite3.Connection, records: Iterable[tuple[str, bytes]], update_seq: int = 0) -> None:
    """Many records in one transaction (a copy loaded for a test or the benchmark)."""
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO records (juminhyo_code, update_seq, body, digest) VALUES (?, ?, ?, ?)",
        ((code, update_seq, body, record_hash(body)) for code, body in records),
    )
    conn.execute("COMMIT")


def _fill_missing_digests(conn: sqlite3.Connection) -> None:
    missing = conn.execute(
        "SELECT juminhyo_code, body FROM records INDEXED BY records_without_digest WHERE digest IS NULL"
    ).fetchall()
    if missing:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "UPDATE records SET digest = ? WHERE juminhyo_code = ?",
            [(record_hash(bytes(body)), code) for code, body in missing],
        )
        conn.execute("COMMIT")


def copy_tree(conn: sqlite3.Connection, depth: int) -> HashTree:
    """The copy's hash tree, from its stored digests."""
    _fill_missing_digests(conn)
    cursor = conn.cursor()
    cursor.row_factory = None
    rows = cursor.execute("SELECT CAST(juminhyo_code AS BLOB), digest FROM records ORDER BY juminhyo_code").fetchall()
    return HashTree.from_rows(rows, depth)


def copy_records(conn: sqlite3.Connection) -> list[tuple[str, bytes]]:
    return [
        (code, bytes(body))
        for code, body in conn.execute("SELECT juminhyo_code, body FROM records ORDER BY juminhyo_code")
    ]


def copy_bodies(conn: sqlite3.Connection, codes: Iterable[str]) -> list[tuple[str, bytes]]:
    out = []
    for code in codes:
        row = conn.execute("SELECT body FROM records WHERE juminhyo_code = ?", (code,)).fetchone()
        if row is not None:
            out.append((code, bytes(row[0])))
    return out
