"""Use cases: counter-terminal operators (enrol, disable, reset, unlock, list) and the login check.

Each is a command with its handler, run inside the writer's transaction (or a local command's,
for the admin CLI) together with its audit entry. Secrets come in already hashed (the admin
command hashes the password before the command is made: the writer does not spend 64 MiB on an
enrolment); a login carries the password and the code, and its handler checks them where the
account's failure count, lock and last TOTP step are read and written: two concurrent attempts
cannot both count as the first failure, and a TOTP step once used stays used (durably: a restart
does not reopen it).

No account oracle: an unknown operator, a disabled or locked one, a wrong password and a wrong or
replayed code all get the same ``LoginRefused()``; an unknown operator costs one argon2 verify
on a dummy hash like a known one. The audit entry keeps the true reason for the auditor.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from ..audit.event import OK, REFUSED, Actor, AuditEvent
from ..security.operator_auth import totp_step, verify_password
from ..store.operator_port import OperatorAccount, OperatorTransaction

# The operator roles of the policy file (照会 only; 照会 and 証明; administrator).
ROLES = ("shokai", "shokai-shomei", "admin")
MAX_FAILED_LOGINS = 5  # then the account is locked until an administrator unlocks it (audited)
_OPERATOR_ID = re.compile(r"[a-z0-9][a-z0-9._-]{2,31}")

LOGIN = "operator.login"


class OperatorCommandError(ValueError):
    """An admin command that cannot be done (the message says why; nothing was changed)."""


def check_operator_id(operator_id: str) -> str:
    if not _OPERATOR_ID.fullmatch(operator_id):
        raise OperatorCommandError("an operator id is 3-32 characters of a-z 0-9 . _ - (the first a letter or digit)")
    return operator_id


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# -- admin commands --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddOperator:
    operator_id: str
    role: str
    password_hash: str
    totp_secret: str
    actor: Actor


@dataclass(frozen=True, slots=True)
class DisableOperator:
    operator_id: str
    actor: Actor


@dataclass(frozen=True, slots=True)
class ResetOperator:
    """A new password and a new TOTP secret (the old authenticator stops working); unlocks."""

    operator_id: str
    password_hash: str
    totp_secret: str
    actor: Actor


@dataclass(frozen=True, slots=True)
class UnlockOperator:
    operator_id: str
    actor: Actor


@dataclass(frozen=True, slots=True)
class ListOperators:
    actor: Actor


@dataclass(frozen=True, slots=True)
class OperatorSummary:
    """What ``operator list`` shows: never a hash or a secret."""

    operator_id: str
    role: str
    disabled: bool
    locked: bool
    failed_logins: int
    created_at: str
    changed_at: str


def _audit(tx: OperatorTransaction, action: str, actor: Actor, operator_id: str, detail: str = "") -> None:
    tx.append_audit(AuditEvent(action, OK, replace(actor, operator_id=operator_id), detail=detail))


def _existing(tx: OperatorTransaction, operator_id: str) -> OperatorAccount:
    account = tx.operator(operator_id)
    if account is None:
        raise OperatorCommandError(f"no operator {operator_id}")
    return account


def add_operator(tx: OperatorTransaction, command: AddOperator) -> OperatorSummary:
    check_operator_id(command.operator_id)
    if command.role not in ROLES:
        raise OperatorCommandError(f"role must be one of {', '.join(ROLES)}")
    if tx.operator(command.operator_id) is not None:
        raise OperatorCommandError(f"operator {command.operator_id} exists already")
    now = _now()
    account = OperatorAccount(
        command.operator_id, command.role, command.password_hash, command.totp_secret, created_at=now, changed_at=now
    )
    tx.put_operator(account)
    _audit(tx, "operator.add", command.actor, command.operator_id, f"role={command.role}")
    return summary(account)


def disable_operator(tx: OperatorTransaction, command: DisableOperator) -> OperatorSummary:
    account = replace(_existing(tx, command.operator_id), disabled=True, changed_at=_now())
    tx.put_operator(account)
    _audit(tx, "operator.disable", command.actor, command.operator_id)
    return summary(account)


def reset_operator(tx: OperatorTransaction, command: ResetOperator) -> OperatorSummary:
    old = _existing(tx, command.operator_id)
    account = replace(
        old,
        password_hash=command.password_hash,
        totp_secret=command.totp_secret,
        failed_logins=0,
        locked=False,
        changed_at=_now(),
    )  # last_totp_step stays: a step once used is never accepted again, whatever the secret
    tx.put_operator(account)
    _audit(tx, "operator.reset", command.actor, command.operator_id, "new password and TOTP secret")
    return summary(account)


def unlock_operator(tx: OperatorTransaction, command: UnlockOperator) -> OperatorSummary:
    old = _existing(tx, command.operator_id)
    account = replace(old, locked=False, failed_logins=0, changed_at=_now())
    tx.put_operator(account)
    _audit(tx, "operator.unlock", command.actor, command.operator_id, f"after {old.failed_logins} failed logins")
    return summary(account)


def list_operators(tx: OperatorTransaction, command: ListOperators) -> list[OperatorSummary]:
    accounts = tx.operators()
    tx.append_audit(AuditEvent("operator.list", OK, command.actor, detail=f"{len(accounts)} operators"))
    return [summary(a) for a in accounts]


def summary(account: OperatorAccount) -> OperatorSummary:
    a = account
    return OperatorSummary(a.operator_id, a.role, a.disabled, a.locked, a.failed_logins, a.created_at, a.changed_at)


# -- the login check -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckLogin:
    """A login attempt: ``at`` is the moment the gateway received it (unix seconds)."""

    operator_id: str
    password: str
    code: str
    at: float
    actor: Actor  # the terminal's certificate identity; operator_id is filled in here

    def __repr__(self) -> str:  # never the password or the code, in a log or a traceback
        return f"CheckLogin(operator_id={self.operator_id!r}, at={self.at!r})"


@dataclass(frozen=True, slots=True)
class LoginAccepted:
    operator_id: str
    role: str
    audit_seq: int


@dataclass(frozen=True, slots=True)
class LoginRefused:
    """The one answer to every failed login (the reason is in the audit trail only)."""


def check_login(tx: OperatorTransaction, command: CheckLogin) -> LoginAccepted | LoginRefused:
    """Handler of CheckLogin: the password, then the code, then the account's state."""
    account = tx.operator(command.operator_id) if _OPERATOR_ID.fullmatch(command.operator_id) else None
    actor = replace(command.actor, operator_id=command.operator_id[:32])
    password_ok = verify_password(account.password_hash if account else None, command.password)
    step = totp_step(account.totp_secret if account else None, command.code, command.at)
    if account is None:
        tx.append_audit(AuditEvent(LOGIN, REFUSED, actor, reason="UNKNOWN_OPERATOR"))
        return LoginRefused()
    reason = (
        "OPERATOR_DISABLED"
        if account.disabled
        else "OPERATOR_LOCKED"
        if account.locked
        else "WRONG_PASSWORD"
        if not password_ok
        else "WRONG_CODE"
        if step is None
        else "TOTP_REPLAYED"
        if step <= account.last_totp_step
        else ""
    )
    if not reason:
        assert step is not None
        tx.put_operator(replace(account, failed_logins=0, last_totp_step=step, changed_at=_now()))
        seq = tx.append_audit(AuditEvent(LOGIN, OK, actor, detail=f"role={account.role}"))
        return LoginAccepted(account.operator_id, account.role, seq)
    failed = account.failed_logins + (0 if account.disabled or account.locked else 1)
    locks = not account.locked and failed >= MAX_FAILED_LOGINS
    tx.put_operator(replace(account, failed_logins=failed, locked=account.locked or locks, changed_at=_now()))
    detail = f"failed logins {failed}" + ("; account locked" if locks else "")
    tx.append_audit(AuditEvent(LOGIN, REFUSED, actor, reason=reason, detail=detail))
    return LoginRefused()


OPERATOR_HANDLERS: dict[type, Callable[..., object]] = {
    AddOperator: add_operator,
    DisableOperator: disable_operator,
    ResetOperator: reset_operator,
    UnlockOperator: unlock_operator,
    ListOperators: list_operators,
    CheckLogin: check_login,
}
