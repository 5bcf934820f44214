"""SQLite adapter of the search port (search_port.py), mixed into SqliteTransaction: the index
rows are written with each version (put_version) and filled for existing stores on open."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import date
from functools import lru_cache
from typing import Any

from ..domain.enums import Sex
from ..domain.record import IdentityRecord
from ..domain.record_codec import StoredVersion, record_from_dict
from ..domain.search_keys import KANA, address_key, name_key

_TOP = "\U0010ffff"  # sorts after every character: prefix <= key < prefix + _TOP
# The index keys of a name or an address are pure functions of its text, and the same names and
# addresses come again and again in one municipality (a 大字 and its 番地, a family's kana): the
# writer keeps the last few thousand (a few hundred KB at most) instead of normalising each time.
_KEYS_CACHED = 4096
_name_key = lru_cache(maxsize=_KEYS_CACHED)(name_key)
_address_key = lru_cache(maxsize=_KEYS_CACHED)(address_key)


def index_row(person_key: int, record: IdentityRecord) -> tuple[object, ...]:
    return (
        person_key,
        _name_key(record.name_kana)[1] if record.name_kana else "",
        _name_key(record.name_kanji)[1],
        _address_key(record.address),
        record.birth_date.isoformat(),
        int(record.sex),
    )


_COLUMNS = ("name_kana", "name_kanji", "address", "birth_date", "sex")
# The 初期移行 (bulk_import.py) fills an empty table: a plain insert.
INSERT_INDEX = f"INSERT INTO search_index (person_id, {', '.join(_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)"
# A person's row is inserted with the first version; a later version rewrites it only when one of
# its keys changed (most changes, a 世帯主 or a status, change none): INSERT OR REPLACE would
# delete and re-insert the row in the table and in each of its five indexes every time.
WRITE_INDEX = (
    f"INSERT INTO search_index (person_id, {', '.join(_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?) "
    f"ON CONFLICT (person_id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in _COLUMNS)} "
    f"WHERE {' OR '.join(f'{c} IS NOT excluded.{c}' for c in _COLUMNS)}"
)


def write_index(conn: sqlite3.Connection, person_key: int, record: IdentityRecord) -> None:
    conn.execute(WRITE_INDEX, index_row(person_key, record))


def fill_index(conn: sqlite3.Connection, loads: object) -> int:
    """Index every person not yet in the index (a store made before migration 5); how many."""
    rows = conn.execute(
        "SELECT p.person_id, h.record FROM persons p JOIN history h ON h.update_seq = p.update_seq "
        "WHERE p.person_id NOT IN (SELECT person_id FROM search_index)"
    ).fetchall()
    if not rows:
        return 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        for person_id, text in rows:
            write_index(conn, person_id, record_from_dict(loads(text)))  # type: ignore[operator]
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(rows)


def search_sql(
    *, name: tuple[str, str] | None, address_prefix: str, birth_date: date | None, sex: Sex | None
) -> tuple[str, list[object]]:
    """The index query (its last parameter, the LIMIT, left to the caller) and its arguments."""
    where: list[str] = []
    args: list[object] = []
    if name is not None:
        where.append("name_kana = ?" if name[0] == KANA else "name_kanji = ?")
        args.append(name[1])
    if birth_date is not None:
        where.append("birth_date = ?")
        args.append(birth_date.isoformat())
    if address_prefix:
        where.append("address >= ? AND address < ?")
        args += [address_prefix, address_prefix + _TOP]
    if sex is not None:
        where.append("sex = ?")
        args.append(int(sex))
    if name is None or not name[1] or (birth_date is None and not address_prefix):
        # the domain's rule (search_rule.search_way) comes first: 氏名 + 住所 or 氏名 + 生年月日
        raise ValueError("a search by the index needs a name key and a 住所 or 生年月日")
    # no ORDER BY: the planner could then prefer walking the table in rowid order over the index
    sql = f"SELECT person_id FROM search_index WHERE {' AND '.join(where)} LIMIT ?"
    return sql, args


# The current version of each person the index query finds, in one statement (not one query per
# person found): the index query runs first (MATERIALIZED: its plan stays the index's), then the
# persons' rows by primary key.
_FOUND = (
    "WITH found(person_id) AS MATERIALIZED ({index}) "
    "SELECT p.person_id, h.record FROM found f JOIN persons p ON p.person_id = f.person_id "
    "JOIN history h ON h.update_seq = p.update_seq"
)


class SqliteSearch:
    _conn: sqlite3.Connection

    _open: Callable[[str | bytes], Any]  # SqliteReader's (an annotation: nothing shadowed)

    def search(
        self,
        *,
        name: tuple[str, str] | None,
        address_prefix: str,
        birth_date: date | None,
        sex: Sex | None,
        limit: int,
    ) -> list[StoredVersion]:
        sql, args = search_sql(name=name, address_prefix=address_prefix, birth_date=birth_date, sex=sex)
        rows = self._conn.execute(_FOUND.format(index=sql), (*args, limit))
        return [StoredVersion(self._open(text)) for _pid, text in rows]
