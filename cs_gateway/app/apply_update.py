"""Use case: apply one update from the 既存住基システム, as commands the store's writer runs.

Format checks run first, where the request is decoded (no state needed: prepare_update); the
logic checks run in the handler, inside the writer's transaction, against the state the update
is applied to. Every outcome, refusals included, is audited in that same transaction; a refusal
is answered only once its audit entry is durable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..audit.event import OK, REFUSED, REPLAYED, Actor, AuditEvent
from ..domain.format_checks import FormatContext, check_command
from ..domain.logic_checks import Accepted, decide
from ..domain.record import IdentityRecord, UpdateCommand
from ..domain.rules_config import DEFAULT_RULES, RulesConfig
from ..domain.violations import Violation, violation
from ..store.port import Transaction


@dataclass(frozen=True, slots=True)
class StoreUpdate:
    """Command: apply one format-checked update (idempotent by request id + content digest)."""

    request_id: str
    fingerprint: str
    command: UpdateCommand
    today: date
    audit: AuditEvent  # action, actor and subject; the handler adds the outcome
    rules: RulesConfig = DEFAULT_RULES  # this CS's configured rules (転出取消 period, designated codes)


@dataclass(frozen=True, slots=True)
class RefuseUpdate:
    """Command: an update refused before the store's state is read (format checks): audited only."""

    audit: AuditEvent  # with its outcome (REFUSED) and reason
    violation: Violation


@dataclass(frozen=True, slots=True)
class UpdateOutcome:
    request_id: str
    record: IdentityRecord | None  # the stored version (accepted or replayed)
    violation: Violation | None  # why nothing was stored
    replayed: bool = False


def with_operator(actor: Actor, operator_id: str, terminal_id: str) -> Actor:
    """The certificate's identity plus the operator and terminal the request names (#27, #28): who
    at the 既存住基 side made the change. (The trail keeps them only if they are valid ids.)"""
    if not operator_id and not terminal_id:
        return actor
    return Actor(
        spiffe_id=actor.spiffe_id,
        cert_fingerprint=actor.cert_fingerprint,
        peer=actor.peer,
        operator_id=operator_id,
        terminal_id=terminal_id,
    )


def prepare_update(
    cmd: UpdateCommand,
    *,
    actor: Actor,
    action: str,
    today: date,
    municipality_code: str,
    fingerprint: str | None = None,
    rules: RulesConfig = DEFAULT_RULES,
) -> StoreUpdate | RefuseUpdate:
    """The command for one update: store it, or audit its format refusal.

    Pure: no state is read. Runs where the request is decoded (the gateway's writer process)."""
    audit = AuditEvent(
        action=action,
        outcome="",
        actor=with_operator(actor, cmd.operator_id, cmd.terminal_id),
        request_id=cmd.request_id,
        subject_juminhyo_code=cmd.subject_code,
        subject_individual_number=cmd.entry.individual_number,
    )
    found = check_command(cmd, FormatContext(today=today, municipality_code=municipality_code))
    if found is not None:
        return RefuseUpdate(audit.with_outcome(REFUSED, reason=found.code), found)
    return StoreUpdate(cmd.request_id, fingerprint or cmd.fingerprint(), cmd, today, audit, rules)


def store_update(tx: Transaction, update: StoreUpdate) -> UpdateOutcome:
    """Handler of StoreUpdate: replay, refuse or store the update, and audit it, in ``tx``."""
    audit = update.audit
    request_id = update.request_id
    known = tx.request(request_id)
    if known is not None:
        fingerprint, update_seq = known
        if fingerprint != update.fingerprint:
            refused = violation("REQUEST_ID_REUSED", "request_id")
            tx.append_audit(audit.with_outcome(REFUSED, reason=refused.code))
            return UpdateOutcome(request_id, None, refused)
        replayed = tx.version(update_seq)
        tx.append_audit(audit.with_outcome(OK, update_seq=update_seq, detail=REPLAYED))
        return UpdateOutcome(request_id, replayed, None, replayed=True)
    decision = decide(update.command, tx, update.today, update.rules)
    if not isinstance(decision, Accepted):
        tx.append_audit(audit.with_outcome(REFUSED, reason=decision.code))
        return UpdateOutcome(request_id, None, decision)
    record = tx.put_version(decision.record, person_key=decision.person_key, retire_code=decision.retire_code)
    tx.enqueue_notice(record)
    tx.remember_request(request_id, update.fingerprint, record.update_seq)
    tx.append_audit(
        audit.with_outcome(
            OK,
            update_seq=record.update_seq,
            subject_juminhyo_code=record.juminhyo_code,
            subject_individual_number=record.individual_number,
        )
    )
    return UpdateOutcome(request_id, record, None)


def refuse_update(tx: Transaction, refusal: RefuseUpdate) -> UpdateOutcome:
    """Handler of RefuseUpdate: the refusal's audit entry, nothing else."""
    tx.append_audit(refusal.audit)
    return UpdateOutcome(refusal.audit.request_id, None, refusal.violation)
