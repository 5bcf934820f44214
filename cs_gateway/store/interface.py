"""The store's interface, as the app and api layers see it."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from datetime import date
from typing import NamedTuple, Protocol

from ..audit.event import Actor, AuditEvent
from ..domain.violations import Violation

# A concurrent.futures.Future, or an asyncio.Future of the store's event loop.
Answer = Future | asyncio.Future  # type: ignore[type-arg]


class EncodedWrite(NamedTuple):
    """A request as it arrived (wire bytes), decoded and answered by the WireCodec registered for
    its ``action`` (the RPC method) where the batch is applied. The gateway's one Python thread
    then only moves bytes; parsing, checks, the write and the reply's encoding run in the writer."""

    payload: bytes
    actor: Actor
    action: str
    today: date
    in_band: bool  # a refusal is part of the answer (a stream) rather than the call's status
    # The ApplyStream call it came in (0: none). Once one update of a stream is not stored (its
    # caller gets UNAVAILABLE and resends from there), no later update of that stream is either:
    # the order of a stream is the order its updates are stored in.
    stream: int = 0


class Encoded(NamedTuple):
    """The answer to an EncodedWrite: the reply's bytes (stored, replayed, or an in-band
    refusal) and the violation if refused."""

    payload: bytes | None
    violation: Violation | None


class StoreError(Exception):
    """The store could not durably apply a write; nothing was acknowledged."""


class UpdateStore(Protocol):
    def submit(self, command: object, answer: Answer | None = None) -> Answer:
        """Queue a command (or an EncodedWrite); ``answer`` (made if not given) resolves with its
        handler's outcome (an Encoded for an EncodedWrite) once the transaction that ran it (its
        writes and audit entries) is durable."""
        ...

    def record_audit(self, event: AuditEvent, answer: Answer | None = None, value: object = None) -> Answer:
        """Queue an audit-only entry (a lookup, a refusal before the store); ``answer`` resolves
        with ``value`` (default: the entry's seq) once durable. Callers that reveal data wait for
        it: no entry, no answer."""
        ...

    def close(self) -> None: ...
