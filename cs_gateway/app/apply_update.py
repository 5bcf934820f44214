"""Use case: apply one update from the 既存住基システム.

Format checks run first (no state needed); the logic checks run inside the store's write
transaction, against the state the update will be applied to. Every outcome, refusals
included, is audited; a refusal is answered only once its audit entry is durable.
"""

from __future__ import annotations

from ..audit.event import REFUSED, Actor, AuditEvent
from ..clock import Today
from ..domain.format_checks import FormatContext, check_command
from ..domain.record import UpdateCommand
from ..domain.violations import Violation
from ..store.interface import Answer, UpdateStore, WriteRequest, WriteResult


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
        idempotency (default: the command's own digest; the gRPC layer passes a digest of the
        request's deterministic wire form, which is cheaper)."""
        audit = AuditEvent(
            action=action,
            outcome="",
            actor=actor,
            request_id=cmd.request_id,
            subject_juminhyo_code=cmd.subject_code,
            subject_individual_number=cmd.entry.individual_number,
        )
        today = self._today()
        found = check_command(cmd, FormatContext(today=today, municipality_code=self._municipality_code))
        if found is not None:
            return self.refuse(audit, found, answer)

        request = WriteRequest(
            request_id=cmd.request_id,
            fingerprint=fingerprint or cmd.fingerprint(),
            command=cmd,
            today=today,
            audit=audit,
        )
        return self._store.submit(request, answer)

    def refuse(self, audit: AuditEvent, violation: Violation, answer: Answer | None = None) -> Answer:
        """Refuse without touching the data: audit the refusal, then answer it."""
        refused = WriteResult(record=None, violation=violation)
        return self._store.record_audit(audit.with_outcome(REFUSED, reason=violation.code), answer, refused)
