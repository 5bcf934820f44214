"""Use case: apply one update from the 既存住基システム.

Format checks run first (no state needed: prepare_update); the logic checks run inside the
store's write transaction, against the state the update will be applied to. Every outcome, refusals
included, is audited; a refusal is answered only once its audit entry is durable.
"""

from __future__ import annotations

from datetime import date

from ..audit.event import REFUSED, Actor, AuditEvent
from ..clock import Today
from ..domain.format_checks import FormatContext, check_command
from ..domain.record import UpdateCommand
from ..domain.rules_config import DEFAULT_RULES, RulesConfig
from ..domain.violations import Violation
from ..store.interface import Answer, UpdateStore, WriteRequest, WriteResult


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
) -> WriteRequest | tuple[AuditEvent, Violation]:
    """The write for one update, or its format refusal (the audit entry to record, and why).

    Pure: no state is read. Runs wherever the update is applied from (the gateway's writer
    process decodes and prepares wire requests itself)."""
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
        return audit.with_outcome(REFUSED, reason=found.code), found
    return WriteRequest(
        request_id=cmd.request_id,
        fingerprint=fingerprint or cmd.fingerprint(),
        command=cmd,
        today=today,
        audit=audit,
        rules=rules,
    )


class ApplyUpdate:
    def __init__(self, store: UpdateStore, *, municipality_code: str, today: Today) -> None:
        self._store = store
        self._municipality_code = municipality_code
        self._today = today

    def submit(
        self,
        cmd: UpdateCommand,
        *,
        actor: Actor,
        action: str,
        answer: Answer | None = None,
        fingerprint: str | None = None,
    ) -> Answer:
        """Queue the update; ``answer`` resolves with the WriteResult once the update is durably
        stored or refused (and audited either way). ``fingerprint`` identifies the content for
        idempotency (default: the command's own digest)."""
        prepared = prepare_update(
            cmd,
            actor=actor,
            action=action,
            today=self._today(),
            municipality_code=self._municipality_code,
            fingerprint=fingerprint,
        )
        if isinstance(prepared, WriteRequest):
            return self._store.submit(prepared, answer)
        audit, violation = prepared
        return self._store.record_audit(audit, answer, WriteResult(record=None, violation=violation))
