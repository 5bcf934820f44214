"""The writer's and the readers' connections read the file through SQLite's memory map (sqlite_tx
MMAP_BYTES); what the writer commits, a reader sees at once (the map and the WAL agree)."""

from __future__ import annotations

from pathlib import Path

from cs_gateway.audit.chain import SubjectHasher
from cs_gateway.audit.event import OK, Actor, AuditEvent
from cs_gateway.audit.trail import AuditTrail
from cs_gateway.store.sqlite_tx import MMAP_BYTES, SqliteTransaction, open_reader
from tests.conftest import TEST_HMAC_KEY


def test_writer_and_reader_map_the_file_and_agree(tmp_path: Path) -> None:
    path = tmp_path / "cs.sqlite3"
    tx = SqliteTransaction(path, AuditTrail(SubjectHasher(TEST_HMAC_KEY), None))
    reader = open_reader(path)
    try:
        for conn in (tx._conn, reader._conn):  # noqa: SLF001
            (size,) = conn.execute("PRAGMA mmap_size").fetchone()
            assert size == MMAP_BYTES
        for n in range(1, 301):  # the file grows past what was mapped when the reader opened it
            tx.begin()
            tx.append_audit(AuditEvent("test.mmap", OK, Actor(), detail="x" * 2000))
            tx.commit()
            if n % 100 == 0:
                (count,) = reader._conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()  # noqa: SLF001
                assert count == n
    finally:
        reader.close()
        tx.close()
