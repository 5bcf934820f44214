"""The handlers of the app's commands, registered for the store's writer (server.py composes)."""

from __future__ import annotations

from ..audit.event import AuditEvent
from ..store.commands import CommandRegistry
from .apply_update import RefuseUpdate, StoreUpdate, refuse_update, store_update
from .audit_entry import append_entry
from .card_verification import CARD_HANDLERS
from .notices import MarkDelivered, mark_delivered
from .operators import OPERATOR_HANDLERS
from .sofusaki import SOFUSAKI_HANDLERS
from .terminal_lookup import TERMINAL_HANDLERS


def register_handlers(registry: CommandRegistry) -> CommandRegistry:
    """Every command kind of the app and its handler."""
    registry.handle(StoreUpdate, store_update)
    registry.handle(RefuseUpdate, refuse_update)
    registry.handle(AuditEvent, append_entry)
    for kind, handler in {**OPERATOR_HANDLERS, **TERMINAL_HANDLERS, **CARD_HANDLERS, **SOFUSAKI_HANDLERS}.items():
        registry.handle(kind, handler)
    registry.handle(MarkDelivered, mark_delivered)
    return registry
