"""Use case: an audit-only entry (a lookup, a refusal before the store), as a command.

The command is the AuditEvent itself; its handler appends it in the writer's transaction and
answers with its seq once that transaction is durable.
"""

from __future__ import annotations

from ..audit.event import AuditEvent
from ..store.port import Transaction


def append_entry(tx: Transaction, event: AuditEvent) -> int:
    """Handler of AuditEvent: append it; its seq."""
    return tx.append_audit(event)
