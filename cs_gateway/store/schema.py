"""SQLite schema of the store, applied as numbered migrations."""

from __future__ import annotations

import sqlite3

_NO_PRUNE = "NOT EXISTS (SELECT 1 FROM audit_prune_token)"  # the prune's token is absent


def _refusing(table: str, event: str, message: str, *, when: str = "", name: str = "") -> str:
    """A trigger that refuses ``event`` on ``table`` (named <table>_no_<event> unless given)."""
    name = name or ("no_" + event.split()[0].lower() + ("_of_key" if " OF " in event else ""))
    condition = f" WHEN {when}" if when else ""
    return (
        f"CREATE TRIGGER {table}_{name} BEFORE {event} ON {table}{condition}\n"
        f"    BEGIN SELECT RAISE(ABORT, '{message}'); END;\n"
    )


_MIGRATIONS_1_TO_3: tuple[str, ...] = (
    # 1: the file, its full history, idempotency keys and the outbox to the prefecture.
    """
    -- The current version of each person is the history row at persons.update_seq.
    CREATE TABLE persons (
        person_id INTEGER PRIMARY KEY,
        juminhyo_code TEXT NOT NULL UNIQUE,
        update_seq INTEGER NOT NULL
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
    # 2: the audit trail (append-only, hash-chained) and its signed checkpoints.
    """
    CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        action TEXT NOT NULL,
        outcome TEXT NOT NULL,
        reason TEXT NOT NULL,
        spiffe_id TEXT NOT NULL,
        cert_fingerprint TEXT NOT NULL,
        peer TEXT NOT NULL,
        operator_id TEXT NOT NULL,
        terminal_id TEXT NOT NULL,
        subject_code_hmac TEXT NOT NULL,
        subject_number_hmac TEXT NOT NULL,
        request_id TEXT NOT NULL,
        update_seq INTEGER,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        entry_hash TEXT NOT NULL
    );
    CREATE INDEX audit_by_time ON audit_log(at);
    CREATE INDEX audit_by_subject ON audit_log(subject_code_hmac) WHERE subject_code_hmac != '';
    CREATE TABLE audit_checkpoints (
        seq INTEGER PRIMARY KEY,
        entry_hash TEXT NOT NULL,
        signed_at TEXT NOT NULL,
        key_fingerprint TEXT NOT NULL,
        signature BLOB NOT NULL
    );
    -- After a retention prune: the last pruned entry, so the chain stays verifiable.
    CREATE TABLE audit_anchor (
        last_seq INTEGER PRIMARY KEY,
        last_hash TEXT NOT NULL,
        archive TEXT NOT NULL,
        pruned_at TEXT NOT NULL
    );
    -- Present only while a retention prune runs (in the prune's own transaction).
    CREATE TABLE audit_prune_token (token INTEGER);
    """
    + _refusing("audit_log", "UPDATE", "audit_log is append-only")
    + _refusing("audit_log", "DELETE", "audit_log is append-only", when=_NO_PRUNE)
    + _refusing("audit_checkpoints", "UPDATE", "audit_checkpoints is append-only"),
    # 3: signed checkpoints cannot be deleted (nothing ever removes one, the prune neither), and
    # a prune anchor is written only by the prune (with its token) and never changed.
    _refusing("audit_checkpoints", "DELETE", "audit_checkpoints is append-only")
    + _refusing(
        "audit_anchor", "INSERT", "audit_anchor is written by the prune only", when=_NO_PRUNE, name="only_by_prune"
    )
    + _refusing("audit_anchor", "UPDATE", "audit_anchor is append-only")
    + _refusing("audit_anchor", "DELETE", "audit_anchor is append-only"),
)


# 4: what the store's port only ever adds is append-only in the file too: a version of the
# history, an idempotency key, a change notice (only its delivery is marked later), a code or
# 個人番号 once assigned to a person. (persons.update_seq moves: it points at the current
# version; codes.retired is set by a 住民票コード変更.) BEFORE UPDATE / DELETE triggers cost
# nothing on the INSERTs of the write path.
_MIGRATION_4 = "".join(
    _refusing(table, event, message)
    for table, event, message in (
        ("history", "UPDATE", "history is append-only"),
        ("history", "DELETE", "history is append-only"),
        ("requests", "UPDATE", "requests is append-only"),
        ("requests", "DELETE", "requests is append-only"),
        ("outbox", "UPDATE OF update_seq, notice", "outbox notices are append-only"),
        ("outbox", "DELETE", "outbox notices are append-only"),
        ("codes", "UPDATE OF juminhyo_code, person_id", "a code stays with its person"),
        ("codes", "DELETE", "codes are never removed"),
        ("individual_numbers", "UPDATE", "individual_numbers is append-only"),
        ("individual_numbers", "DELETE", "individual_numbers is append-only"),
    )
)

# 5: counter-terminal operators (store/operators_sqlite.py) and the search index. Mutable state of an account (its
# failures, lock, the last TOTP step used); every change of it is audited in the same transaction.
_MIGRATION_5 = """
CREATE TABLE operators (
    operator_id TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    totp_secret TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked INTEGER NOT NULL DEFAULT 0,
    last_totp_step INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    changed_at TEXT NOT NULL
) WITHOUT ROWID;
-- The counter searches' keys of each person's current version (store/search_sqlite.py; filled for
-- the persons of an existing store when the writer opens it): no search scans the records.
CREATE TABLE search_index (
    person_id INTEGER PRIMARY KEY REFERENCES persons(person_id),
    name_kana TEXT NOT NULL,
    name_kanji TEXT NOT NULL,
    address TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    sex INTEGER NOT NULL
);
CREATE INDEX search_by_kana_birth ON search_index(name_kana, birth_date);
CREATE INDEX search_by_kanji_birth ON search_index(name_kanji, birth_date);
CREATE INDEX search_by_kana_address ON search_index(name_kana, address);
CREATE INDEX search_by_kanji_address ON search_index(name_kanji, address);
CREATE INDEX search_by_birth_address ON search_index(birth_date, address);
"""
# 6 (issue 13, peers): a notice's delivery is marked once and never unmarked; the notifier finds
# the undelivered ones by a partial index instead of scanning every notice ever sent.
_MIGRATION_6 = (
    "CREATE INDEX outbox_undelivered ON outbox(update_seq) WHERE delivered_at IS NULL;\n"
    + _refusing(
        "outbox",
        "UPDATE OF delivered_at",
        "a delivered notice stays delivered",
        when="OLD.delivered_at IS NOT NULL",
        name="delivered_once",
    )
)
# 8 (issue 13, 送付先情報): what 既存住基 submitted for the 機構, exactly as received (append-only:
# body and digest never change, nothing is deleted; forwarded_at is set once, when acknowledged).
# Numbered 8: migration 7 is the 個人番号 encryption at rest (a parallel branch); at merge this one
# goes after it.
_MIGRATION_8 = (
    """
CREATE TABLE sofusaki (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL,
    body BLOB NOT NULL,
    digest BLOB NOT NULL,
    forwarded_at TEXT
);
CREATE INDEX sofusaki_unforwarded ON sofusaki(seq) WHERE forwarded_at IS NULL;
"""
    + _refusing("sofusaki", "DELETE", "a 送付先情報 is never deleted")
    + _refusing("sofusaki", "UPDATE OF seq, received_at, body, digest", "a 送付先情報 is never edited", name="no_edit")
    + _refusing(
        "sofusaki",
        "UPDATE OF forwarded_at",
        "a forwarded 送付先情報 stays forwarded",
        when="OLD.forwarded_at IS NOT NULL",
        name="forwarded_once",
    )
)
MIGRATIONS: tuple[str, ...] = (*_MIGRATIONS_1_TO_3, _MIGRATION_4, _MIGRATION_5, _MIGRATION_6, _MIGRATION_8)


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the database to the latest schema version, each step in its own transaction."""
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    for number, script in enumerate(MIGRATIONS, start=1):
        if number <= version:
            continue
        conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
