"""SQLite schema of the store, applied as numbered migrations."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

import orjson

from ..domain.change_notice import NOTICE_ITEMS
from .record_digests import stored_digest

if TYPE_CHECKING:
    from .at_rest import NumberCipher

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
_MIGRATION_6 = "CREATE INDEX outbox_undelivered ON outbox(update_seq) WHERE delivered_at IS NULL;\n" + _refusing(
    "outbox",
    "UPDATE OF delivered_at",
    "a delivered notice stays delivered",
    when="OLD.delivered_at IS NOT NULL",
    name="delivered_once",
)
# 8 (issue 13, 送付先情報): what 既存住基 submitted for the 機構, exactly as received (append-only:
# body and digest never change, nothing is deleted; forwarded_at is set once, when acknowledged).
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


def _migration_7(conn: sqlite3.Connection, cipher: NumberCipher) -> int:
    """7 (issue 12, item 6): 個人番号 at rest. The individual_numbers table keeps the blind index
    (HMAC-SHA256 under a key derived from the number key file) instead of the number; every
    history record and outbox notice has its 個人番号 sealed with AES-GCM (store/at_rest.py);
    store_keys keeps the key's check value. history and outbox are append-only by triggers
    (migration 4): this rewrite drops those triggers and re-creates them unchanged, all in the
    one transaction of the migration (migrate), so no other writer ever sees them absent; the
    caller runs with ``secure_delete`` on and then VACUUMs, so that no clear number stays in a
    freed page or in the WAL. Returns how many stored rows held a clear 個人番号."""
    conn.execute("DROP TRIGGER history_no_update")
    conn.execute("DROP TRIGGER outbox_no_update_of_key")
    conn.execute("CREATE TABLE store_keys (name TEXT PRIMARY KEY, check_value TEXT NOT NULL) WITHOUT ROWID")
    conn.execute("INSERT INTO store_keys (name, check_value) VALUES ('individual_number', ?)", (cipher.check,))
    conn.execute(
        "CREATE TABLE number_index (number_index TEXT PRIMARY KEY, "
        "person_id INTEGER NOT NULL REFERENCES persons(person_id)) WITHOUT ROWID"
    )
    rows = conn.execute("SELECT individual_number, person_id FROM individual_numbers").fetchall()
    conn.executemany(
        "INSERT INTO number_index (number_index, person_id) VALUES (?, ?)",
        [(cipher.blind(number), person_id) for number, person_id in rows],
    )
    conn.execute("DROP TABLE individual_numbers")  # its triggers go with it
    conn.execute("ALTER TABLE number_index RENAME TO individual_numbers")
    rewritten = len(rows)
    for table, column in (("history", "record"), ("outbox", "notice")):
        sealed = []
        for seq, text in conn.execute(f"SELECT update_seq, {column} FROM {table}").fetchall():
            data = orjson.loads(text)
            data["individual_number"] = cipher.seal(data["individual_number"])
            sealed.append((orjson.dumps(data).decode(), seq))
        conn.executemany(f"UPDATE {table} SET {column} = ? WHERE update_seq = ?", sealed)
        rewritten += len(sealed)
    for table, event, message in (
        ("history", "UPDATE", "history is append-only"),
        ("outbox", "UPDATE OF update_seq, notice", "outbox notices are append-only"),
        ("individual_numbers", "UPDATE", "individual_numbers is append-only"),
        ("individual_numbers", "DELETE", "individual_numbers is append-only"),
    ):
        conn.execute(_refusing(table, event, message))
    return rewritten


def _migration_9(conn: sqlite3.Connection, cipher: NumberCipher) -> int:
    """9 (issue 12): the operators' TOTP secrets at rest. Each is sealed with the store's cipher
    (AES-GCM under the number key file, bound to its operator id: store/at_rest.py), so that a
    copy of the file does not give the second factor away; like 7, the caller runs this with
    ``secure_delete`` on and VACUUMs after, so no clear secret stays in a freed page or the WAL.
    Returns how many secrets were sealed."""
    rows = conn.execute("SELECT operator_id, totp_secret FROM operators").fetchall()
    conn.executemany(
        "UPDATE operators SET totp_secret = ? WHERE operator_id = ?",
        [(cipher.seal_secret(secret, operator_id), operator_id) for operator_id, secret in rows],
    )
    return len(rows)


def _migration_10(conn: sqlite3.Connection, cipher: NumberCipher) -> int:
    """10 (issue 13, consistency check): each person's record digest beside the person
    (persons.record_digest, sealed: store/record_digests.py), written by the writer in the same
    statement as the person's current version; computed here for the persons already stored.
    Nothing clear is written (returns 0: no VACUUM needed)."""
    conn.execute("ALTER TABLE persons ADD COLUMN record_digest BLOB")
    rows = conn.execute(
        "SELECT p.person_id, h.record FROM persons p JOIN history h ON h.update_seq = p.update_seq"
    ).fetchall()
    conn.executemany(
        "UPDATE persons SET record_digest = ? WHERE person_id = ?",
        [(stored_digest(cipher, notice_items(cipher.open_dict(orjson.loads(text)))), pid) for pid, text in rows],
    )
    return 0


def notice_items(record: dict[str, object]) -> dict[str, object]:
    """The notice items of a stored version's JSON (opened): what the record digest covers."""
    return {name: record[name] for name in NOTICE_ITEMS}


# 11 (write throughput): two of the search index's five secondary indexes go. Every index costs
# each update a b-tree insert and a page in its commit (bench/README.md); a search by 氏名 is an
# equality on the whole normalised name, so (name, 生年月日) serves 氏名 + 住所 by its prefix and
# the address is checked on those few rows: (name, address) indexes added nothing a search needs.
_MIGRATION_11 = """
DROP INDEX IF EXISTS search_by_kana_address;
DROP INDEX IF EXISTS search_by_kanji_address;
"""

# 12 (the seed's search combinations): every 4情報 search now names a 氏名 (氏名 + 住所 or 氏名 +
# 生年月日: domain/search_rule.py), which the (name, 生年月日) indexes serve; the (生年月日, 住所) index
# served only 住所 + 生年月日, a search the seed does not allow, and cost every update a b-tree insert.
_MIGRATION_12 = "DROP INDEX IF EXISTS search_by_birth_address;\n"

Migration = str | Callable[[sqlite3.Connection, "NumberCipher"], int]
MIGRATIONS: tuple[Migration, ...] = (
    *_MIGRATIONS_1_TO_3,
    _MIGRATION_4,
    _MIGRATION_5,
    _MIGRATION_6,
    _migration_7,
    _MIGRATION_8,
    _migration_9,
    _migration_10,
    _MIGRATION_11,
    _MIGRATION_12,
)


class MigrationError(Exception):
    pass


def migrate(conn: sqlite3.Connection, cipher: NumberCipher | None = None) -> None:
    """Bring the database to the latest schema version, each step in its own transaction (a
    Python step, such as 7, needs the 個人番号 cipher)."""
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    for number, step in enumerate(MIGRATIONS, start=1):
        if number <= version:
            continue
        if isinstance(step, str):
            conn.executescript(f"BEGIN IMMEDIATE;\n{step}\nPRAGMA user_version = {number};\nCOMMIT;")
            continue
        if cipher is None:
            raise MigrationError(f"schema migration {number} needs the store's 個人番号 key")
        conn.execute("PRAGMA secure_delete=ON")
        conn.execute("BEGIN IMMEDIATE")
        try:
            rewritten = step(conn, cipher)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if rewritten:
            conn.execute("VACUUM")  # no freed page keeps an old clear 個人番号
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # nor the WAL
        conn.execute("PRAGMA secure_delete=OFF")  # the write path's updates hold no 個人番号
