"""``cs-gateway operator add | disable | reset | unlock | list``: run on the CS by an administrator.

Each runs the app's command through the handler the writer would run (app/operators.py, via the
registry), inside one local transaction of the store's file (``BEGIN IMMEDIATE``: serialised with
a running gateway's writer by SQLite's lock), with its audit entry on the same hash chain, signed
checkpoint at the end. The password is read without echo and hashed here (argon2id); the TOTP
secret is made here and shown once, as an otpauth:// URI for the operator's authenticator.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .app.handlers import register_handlers
from .app.operators import (
    AddOperator,
    DisableOperator,
    ListOperators,
    OperatorSummary,
    ResetOperator,
    UnlockOperator,
    check_operator_id,
)
from .audit.chain import SubjectHasher
from .audit.keys import load_or_create_hmac_key
from .audit.local_ops import local_actor, signer_for
from .audit.trail import AuditTrail
from .config import GatewayConfig
from .security.operator_auth import hash_password, new_totp_secret, provisioning_uri
from .store.commands import CommandRegistry
from .store.local import trail_is_empty
from .store.sqlite_tx import SqliteTransaction


def run_locally(config: GatewayConfig, command: object) -> Any:
    """Run ``command`` by its registered handler in one local transaction, committed durably."""
    handler = register_handlers(CommandRegistry()).handlers[type(command)]
    key = load_or_create_hmac_key(config.audit.hmac_key, may_create=trail_is_empty(config.store_path))
    trail = AuditTrail(
        SubjectHasher(key),
        signer_for(config),
        checkpoint_every=config.audit.checkpoint_every,
        now=lambda: datetime.now(UTC),
    )
    tx = SqliteTransaction(config.store_path, trail, number_key=config.number_key)
    try:
        tx.begin()
        try:
            outcome = handler(tx, command)
        except BaseException:
            tx.rollback()
            raise
        tx.commit()
    finally:
        tx.close()
    return outcome


def add(config: GatewayConfig, operator_id: str, role: str, password: str) -> tuple[OperatorSummary, str]:
    """Enrol an operator; the summary and the provisioning URI (shown once)."""
    check_operator_id(operator_id)
    secret = new_totp_secret()
    done = run_locally(config, AddOperator(operator_id, role, hash_password(password), secret, local_actor()))
    return done, provisioning_uri(secret, operator_id, _issuer(config))


def reset(config: GatewayConfig, operator_id: str, password: str) -> tuple[OperatorSummary, str]:
    secret = new_totp_secret()
    done = run_locally(config, ResetOperator(operator_id, hash_password(password), secret, local_actor()))
    return done, provisioning_uri(secret, operator_id, _issuer(config))


def disable(config: GatewayConfig, operator_id: str) -> OperatorSummary:
    return run_locally(config, DisableOperator(operator_id, local_actor()))


def unlock(config: GatewayConfig, operator_id: str) -> OperatorSummary:
    return run_locally(config, UnlockOperator(operator_id, local_actor()))


def listing(config: GatewayConfig) -> list[OperatorSummary]:
    return run_locally(config, ListOperators(local_actor()))


def _issuer(config: GatewayConfig) -> str:
    return f"cs-gateway {config.municipality_code}"


def describe(s: OperatorSummary) -> str:
    state = "disabled" if s.disabled else "locked" if s.locked else "active"
    return f"{s.operator_id}\t{s.role}\t{state}\tfailed={s.failed_logins}\tchanged={s.changed_at}"


