"""The store's interface, as the app layer sees it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple, Protocol

from ..audit.event import Actor, AuditEvent
from ..domain.logic_checks import Accepted
from ..domain.record import IdentityRecord, UpdateCommand
from ..domain.registry import RegistryView, StoredPerson
from ..domain.rules_config import DEFAULT_RULES, RulesConfig
from ..domain.violations import Violation

Decide = Callable[[RegistryView], "Accepted | Violation"]
# A concurrent.futures.Future, or an asyncio.Future of the store's event loop.
Answer = Future | asyncio.Future  # type: ignore[type-arg]


@dataclass(frozen=True, slots=True)
class WriteRequest:
    """One update to apply atomically: idempotency key, content digest, and the decision.

    The decision runs inside the write transaction, against exactly the state it is applied to.
    """

    request_id: str
    fingerprint: str
    audit: AuditEvent  # action, actor and subject; the store adds the outcome
    # What to decide: the command and "today" (the domain's logic checks run in the store's
    # transaction; plain data, so that a writer process can receive it), or a decide function.
    command: UpdateCommand | None = None
    today: date | None = None
    decide: Decide | None = None
    rules: RulesConfig = DEFAULT_RULES  # this CS's configured rules (転出取消 period, designated codes)


@dataclass(frozen=True, slots=True)
class WriteResult:
    record: IdentityRecord | None  # the stored version (accepted or replayed)
    violation: Violation | None  # why nothing was stored
    replayed: bool = False


class EncodedWrite(NamedTuple):
    """An update as it arrived (wire bytes), decoded and answered by the store's JobCodec where
    the batch is applied. The gateway's one Python thread then only moves bytes; parsing,
    checks, the write and the reply's encoding run in the writer."""

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


class JobCodec(Protocol):
    """Turns an EncodedWrite into a write (or its refusal) and a result into reply bytes.
    Must be picklable: a writer process gets its own copy."""

    def decode(self, job: EncodedWrite) -> WriteRequest | tuple[AuditEvent, Violation]: ...

    def encode(self, job: EncodedWrite, request_id: str, result: WriteResult) -> Encoded: ...


class StoreError(Exception):
    """The store could not durably apply a write; nothing was acknowledged."""


class UpdateStore(Protocol):
    def submit(self, request: WriteRequest | EncodedWrite, answer: Answer | None = None) -> Answer:
        """Queue a write; ``answer`` (made if not given) resolves with the WriteResult (an
        Encoded for an EncodedWrite) after the commit (data + audit entry) is durable."""
        ...

    def record_audit(self, event: AuditEvent, answer: Answer | None = None, value: object = None) -> Answer:
        """Queue an audit-only entry (a lookup, a refusal before the store); ``answer`` resolves
        with ``value`` (default: the entry's seq) once durable. Callers that reveal data wait for
        it: no entry, no answer."""
        ...

    def find(self, juminhyo_code: str) -> StoredPerson | None: ...

    def history(self, juminhyo_code: str) -> list[IdentityRecord]: ...

    def last_update_seq(self) -> int: ...

    def close(self) -> None: ...
