"""SQLite adapter of the operators' port (operator_port.py), mixed into SqliteTransaction."""

from __future__ import annotations

import sqlite3

from .operator_port import OperatorAccount

_COLUMNS = (
    "operator_id, role, password_hash, totp_secret, disabled, failed_logins, locked, last_totp_step, "
    "created_at, changed_at"
)


def _account(row: tuple) -> OperatorAccount:
    return OperatorAccount(
        row[0], row[1], row[2], row[3], bool(row[4]), int(row[5]), bool(row[6]), int(row[7]), row[8], row[9]
    )


class SqliteOperators:
    _conn: sqlite3.Connection

    def operator(self, operator_id: str) -> OperatorAccount | None:
        row = self._conn.execute(f"SELECT {_COLUMNS} FROM operators WHERE operator_id = ?", (operator_id,)).fetchone()
        return None if row is None else _account(row)

    def put_operator(self, account: OperatorAccount) -> None:
        a = account
        self._conn.execute(
            f"INSERT OR REPLACE INTO operators ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                a.operator_id,
                a.role,
                a.password_hash,
                a.totp_secret,
                int(a.disabled),
                a.failed_logins,
                int(a.locked),
                a.last_totp_step,
                a.created_at,
                a.changed_at,
            ),
        )

    def operators(self) -> list[OperatorAccount]:
        return [_account(r) for r in self._conn.execute(f"SELECT {_COLUMNS} FROM operators ORDER BY operator_id")]
