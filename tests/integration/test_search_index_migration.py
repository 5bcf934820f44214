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
