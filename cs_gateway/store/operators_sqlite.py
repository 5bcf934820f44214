"""SQLite adapter of the operators' port (operator_port.py), mixed into SqliteTransaction."""

from __future__ import annotations

import sqlite3

from .at_rest import NumberCipher
from .operator_port import OperatorAccount

_COLUMNS = (
    "operator_id, role, password_hash, totp_secret, disabled, failed_logins, locked, last_totp_step, "
    "created_at, changed_at"
)


def _account(row: tuple, cipher: NumberCipher) -> OperatorAccount:
    secret = cipher.open_secret(row[3], row[0])
    return OperatorAccount(
        row[0], row[1], row[2], secret, bool(row[4]), int(row[5]), bool(row[6]), int(row[7]), row[8], row[9]
    )


class SqliteOperators:
    """The TOTP secret is stored sealed with the store's at-rest cipher (AES-GCM, bound to the
    operator id; schema migration 9): a copy of the file does not give the second factor away."""

    _conn: sqlite3.Connection
    _cipher: NumberCipher

    def operator(self, operator_id: str) -> OperatorAccount | None:
        row = self._conn.execute(f"SELECT {_COLUMNS} FROM operators WHERE operator_id = ?", (operator_id,)).fetchone()
        return None if row is None else _account(row, self._cipher)

    def put_operator(self, account: OperatorAccount) -> None:
        a = account
        self._conn.execute(
            f"INSERT OR REPLACE INTO operators ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                a.operator_id,
                a.role,
                a.password_hash,
                self._cipher.seal_secret(a.totp_secret, a.operator_id),
                int(a.disabled),
                a.failed_logins,
                int(a.locked),
                a.last_totp_step,
                a.created_at,
                a.changed_at,
            ),
        )

    def operators(self) -> list[OperatorAccount]:
        rows = self._conn.execute(f"SELECT {_COLUMNS} FROM operators ORDER BY operator_id").fetchall()
        return [_account(r, self._cipher) for r in rows]
