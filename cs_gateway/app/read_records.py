"""Use cases: read a person's current record or full history (for reconciliation).

A 住民票コード retired by a 住民票コード変更 answers neither (JUMINHYO_CODE_RETIRED): the change is
made because the old code must stop leading to the person, so a caller holding only the old
code learns neither the record nor the new code, through either read. The history of a person
is read by the current code, and includes the versions stored under the former one.

Fail closed: the lookup is audited before anything is returned; if the audit entry cannot be
written, the caller gets nothing (StoreError). Both run on the event loop: the reads go through
the store's read port and the audit entry through the writer, each awaited, never blocking it.
"""

from __future__ import annotations

import asyncio

from ..audit.event import OK, REFUSED, Actor, AuditEvent
from ..domain.check_digit import is_valid_juminhyo_code
from ..domain.record import IdentityRecord
from ..domain.violations import Violation, violation
from ..store.interface import StoreError, UpdateStore
from ..store.port import AsyncReadPort

AUDIT_TIMEOUT_S = 30.0


async def _audited(store: UpdateStore, event: AuditEvent) -> None:
    """Wait until the entry is durable (raises StoreError otherwise: no entry, no answer)."""
    try:
        await asyncio.wait_for(asyncio.wrap_future(store.record_audit(event)), AUDIT_TIMEOUT_S)
    except TimeoutError as err:
        raise StoreError("the audit entry was not written in time") from err


async def get_record(
    reads: AsyncReadPort, store: UpdateStore, juminhyo_code: str, *, actor: Actor, action: str
) -> IdentityRecord | Violation:
    event = AuditEvent(action=action, outcome="", actor=actor, subject_juminhyo_code=juminhyo_code)
    found: IdentityRecord | Violation
    if not is_valid_juminhyo_code(juminhyo_code):
        found = violation("INVALID_JUMINHYO_CODE", "juminhyo_code")
    else:
        person = await reads.find(juminhyo_code)
        if person is None:
            found = violation("NO_RECORD", "juminhyo_code")
        elif person.retired:
            found = violation("JUMINHYO_CODE_RETIRED", "juminhyo_code")
        else:
            found = person.record
    if isinstance(found, Violation):
        await _audited(store, event.with_outcome(REFUSED, reason=found.code))
    else:
        await _audited(store, event.with_outcome(OK, update_seq=found.update_seq))
    return found


async def get_history(
    reads: AsyncReadPort, store: UpdateStore, juminhyo_code: str, *, actor: Actor, action: str
) -> list[IdentityRecord] | Violation:
    event = AuditEvent(action=action, outcome="", actor=actor, subject_juminhyo_code=juminhyo_code)
    if not is_valid_juminhyo_code(juminhyo_code):
        refused = violation("INVALID_JUMINHYO_CODE", "juminhyo_code")
        await _audited(store, event.with_outcome(REFUSED, reason=refused.code))
        return refused
    person = await reads.find(juminhyo_code)
    if person is not None and person.retired:
        refused = violation("JUMINHYO_CODE_RETIRED", "juminhyo_code")
        await _audited(store, event.with_outcome(REFUSED, reason=refused.code))
        return refused
    versions = await reads.history(juminhyo_code)
    if not versions:
        refused = violation("NO_RECORD", "juminhyo_code")
        await _audited(store, event.with_outcome(REFUSED, reason=refused.code))
        return refused
    await _audited(
        store, event.with_outcome(OK, update_seq=versions[-1].update_seq, detail=f"versions={len(versions)}")
    )
    return versions
