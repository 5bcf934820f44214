"""A store made before the counter terminal (schema version 4: no operators, no search index)
is migrated when the writer opens it: the index is filled from every person's current version,
and searches find the residents stored before the migration."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

from clients.synthetic import synthetic_entry, tennyu_request
from cs_gateway.api.convert import update_from_proto
from cs_gateway.audit.chain import SubjectHasher
from cs_gateway.audit.trail import AuditTrail
from cs_gateway.domain.record import UpdateCommand
from cs_gateway.domain.search_keys import name_key
from cs_gateway.store.sqlite_tx import SqliteTransaction
from tests.conftest import TEST_HMAC_KEY, AuditedApply, new_store
from tests.legacy_store import downgrade_to_v6


def test_a_version_4_store_gets_its_search_index_when_the_writer_opens_it(tmp_path: Path) -> None:
    path = tmp_path / "cs.sqlite3"
    store = new_store(path)
    apply = AuditedApply(store)
    for i in range(12):
        cmd = update_from_proto(tennyu_request(i))
        assert isinstance(cmd, UpdateCommand)
        apply.submit(cmd).result(30)
    store.close()
    downgrade_to_v6(path)  # and the 個人番号 in clear, as before migration 7
    conn = sqlite3.connect(path)
    conn.executescript(  # back to a version 4 store: without migrations 5 (terminal), 6 (delivery)
        "DROP TABLE search_index; DROP TABLE operators; DROP INDEX outbox_undelivered; "
        "DROP TRIGGER outbox_delivered_once; PRAGMA user_version = 4;"
    )
    conn.close()

    tx = SqliteTransaction(path, AuditTrail(SubjectHasher(TEST_HMAC_KEY), None))
    try:
        (indexed,) = tx._conn.execute("SELECT COUNT(*) FROM search_index").fetchone()  # noqa: SLF001
        assert indexed == 12
        person = synthetic_entry(4)
        birth = date(person.birth_date.year, person.birth_date.month, person.birth_date.day)
        found = tx.search(name=name_key(person.name_kanji), address_prefix="", birth_date=birth, sex=None, limit=5)
        assert [p.juminhyo_code for p in found] == [person.juminhyo_code]
    finally:
        tx.close()


def _search_indexes(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'search_index'")
    return {name for (name,) in rows if not name.startswith("sqlite_autoindex")}


def test_the_search_index_keeps_only_the_indexes_of_the_searches_the_seed_allows(tmp_path: Path) -> None:
    """Every 4情報 search names a 氏名 (domain/search_rule.py): (name, 生年月日) serves 氏名 + 生年月日
    and, by its prefix, 氏名 + 住所. A store at version 11 loses its (生年月日, 住所) index."""
    path = tmp_path / "cs.sqlite3"
    new_store(path).close()
    conn = sqlite3.connect(path)
    try:
        assert _search_indexes(conn) == {"search_by_kana_birth", "search_by_kanji_birth"}
        conn.executescript(
            "CREATE INDEX search_by_birth_address ON search_index(birth_date, address); PRAGMA user_version = 11;"
        )
    finally:
        conn.close()
    tx = SqliteTransaction(path, AuditTrail(SubjectHasher(TEST_HMAC_KEY), None))
    try:
        assert _search_indexes(tx._conn) == {"search_by_kana_birth", "search_by_kanji_birth"}  # noqa: SLF001
    finally:
        tx.close()
