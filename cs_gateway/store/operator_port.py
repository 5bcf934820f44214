"""The operators' part of the store's transaction port (a handler of app/operators.py sees it).

An operator's account is mutable state (failures, lock, the last TOTP step used, a new password
after a reset): ``put_operator`` writes the whole account, inside the writer's transaction,
always together with the audit entry that says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from .port import Transaction


@dataclass(frozen=True, slots=True)
class OperatorAccount:
    operator_id: str
    role: str
    password_hash: str = field(repr=False)  # never in a log line or a traceback
    totp_secret: str = field(repr=False)
    disabled: bool = False
    failed_logins: int = 0
    locked: bool = False
    last_totp_step: int = 0  # a TOTP code of this step or an earlier one is never accepted again
    created_at: str = ""
    changed_at: str = ""


class OperatorTransaction(Transaction, Protocol):
    def operator(self, operator_id: str) -> OperatorAccount | None: ...

    def put_operator(self, account: OperatorAccount) -> None:
        """Insert or replace the account."""
        ...

    def operators(self) -> list[OperatorAccount]:
        """Every account, by id."""
        ...
