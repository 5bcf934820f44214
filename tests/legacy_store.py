"""A store as the releases before schema migration 7 wrote it: the 個人番号 in clear in the
individual_numbers table, the history records and the outbox notices. Made from a current store
by opening every sealed number with its key and writing it back in clear (the JSON texts are the
same compact orjson texts the old writer stored), then removing the key file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson

from cs_gateway.store.at_rest import NumberCipher, default_key_path


def downgrade_to_v6(path: Path, key_path: Path | None = None) -> None:
    key_path = key_path or default_key_path(path)
    cipher = NumberCipher(key_path.read_bytes())
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DROP TRIGGER history_no_update")
        conn.execute("DROP TRIGGER outbox_no_update_of_key")
        clear: dict[int, str] = {}
        for table, column in (("history", "record"), ("outbox", "notice")):
            rows = conn.execute(f"SELECT update_seq, {column} FROM {table}").fetchall()
            for seq, text in rows:
                data = orjson.loads(text)
                data["individual_number"] = cipher.open(data["individual_number"])
                if table == "history":
                    clear[seq] = data["individual_number"]
                conn.execute(
                    f"UPDATE {table} SET {column} = ? WHERE update_seq = ?", (orjson.dumps(data).decode(), seq)
                )
        conn.execute("DROP TABLE individual_numbers")
        conn.execute("DROP TABLE store_keys")
        conn.execute(
            "CREATE TABLE individual_numbers (individual_number TEXT PRIMARY KEY, "
            "person_id INTEGER NOT NULL REFERENCES persons(person_id)) WITHOUT ROWID"
        )
        conn.execute(
            "INSERT OR IGNORE INTO individual_numbers (individual_number, person_id) "
            "SELECT json_extract(record, '$.individual_number'), person_id FROM history ORDER BY update_seq"
        )
        for table, event, name in (
            ("history", "UPDATE", "no_update"),
            ("outbox", "UPDATE OF update_seq, notice", "no_update_of_key"),
            ("individual_numbers", "UPDATE", "no_update"),
            ("individual_numbers", "DELETE", "no_delete"),
        ):
            conn.execute(
                f"CREATE TRIGGER {table}_{name} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
        conn.execute("DROP TABLE IF EXISTS sofusaki")  # migration 8 (送付先情報), after 7: not in a v6 store
        conn.execute("ALTER TABLE persons DROP COLUMN record_digest")  # migration 10 (consistency check)
        conn.execute("PRAGMA user_version = 6")
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    key_path.unlink()


def downgrade_to_v9(path: Path) -> None:
    """A store as before migration 10: no record digest beside the persons."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("ALTER TABLE persons DROP COLUMN record_digest")
        conn.execute("PRAGMA user_version = 9")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
