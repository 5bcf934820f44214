"""SQLite schema of the store, applied as numbered migrations."""

from __future__ import annotations

import sqlite3

MIGRATIONS: tuple[str, ...] = (
    # 1: the file, its full history, idempotency keys and the outbox to the prefecture.
    """
    CREATE TABLE persons (
        person_id INTEGER PRIMARY KEY,
        juminhyo_code TEXT NOT NULL UNIQUE,
        update_seq INTEGER NOT NULL,
        record TEXT NOT NULL
    );
    CREATE TABLE codes (
        juminhyo_code TEXT PRIMARY KEY,
        person_id INTEGER NOT NULL REFERENCES persons(person_id),
        retired INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE TABLE individual_numbers (
        individual_number TEXT PRIMARY KEY,
        person_id INTEGER NOT NULL REFERENCES persons(person_id)
    ) WITHOUT ROWID;
    CREATE TABLE history (
        update_seq INTEGER PRIMARY KEY,
        person_id INTEGER NOT NULL REFERENCES persons(person_id),
        juminhyo_code TEXT NOT NULL,
        change_reason INTEGER NOT NULL,
        recorded_at TEXT NOT NULL,
        record TEXT NOT NULL
    );
    CREATE INDEX history_by_person ON history(person_id, update_seq);
    CREATE TABLE requests (
        request_id TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        update_seq INTEGER NOT NULL REFERENCES history(update_seq)
    ) WITHOUT ROWID;
    CREATE TABLE outbox (
        update_seq INTEGER PRIMARY KEY REFERENCES history(update_seq),
        notice TEXT NOT NULL,
        delivered_at TEXT
    );
    """,
)


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the database to the latest schema version, each step in its own transaction."""
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    for number, script in enumerate(MIGRATIONS, start=1):
        if number <= version:
            continue
        conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
