"""The 送付先情報 table (migration 8): append-only; body and digest never change; forwarded once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cs_gateway.store.at_rest import NumberCipher
from cs_gateway.store.schema import migrate


def _db(tmp_path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(tmp_path / "cs.sqlite3", isolation_level=None)
    migrate(conn, NumberCipher(b"n" * 32))
    conn.execute("INSERT INTO sofusaki (received_at, body, digest) VALUES ('t', x'0a01', x'00')")
    return conn


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM sofusaki",
        "UPDATE sofusaki SET body = x'0a02'",
        "UPDATE sofusaki SET digest = x'01'",
        "UPDATE sofusaki SET seq = 9",
    ],
)
def test_a_stored_sofusaki_is_never_edited_nor_deleted(tmp_path: Path, statement: str) -> None:
    conn = _db(tmp_path)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(statement)
    assert conn.execute("SELECT body FROM sofusaki").fetchall() == [(b"\x0a\x01",)]


def test_forwarded_is_set_once(tmp_path: Path) -> None:
    conn = _db(tmp_path)
    conn.execute("UPDATE sofusaki SET forwarded_at = 'a' WHERE seq = 1")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE sofusaki SET forwarded_at = 'b' WHERE seq = 1")
