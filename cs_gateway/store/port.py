"""The store's ports: what code outside store/ may do with the stored file, backend-neutral.

``ReadPort``: reads of committed state (a person by 住民票コード, a version, a person's history,
the outbox). ``Transaction``: what a command handler (app/) may do inside the writer's open
transaction: the reads (seeing the batch's earlier writes), idempotency keys, a new version of a
record, the outbox, and the audit trail. Everything a handler does in one transaction commits
together with its audit entries, or none of it does.

Append-only is a property of the port, not only of one backend's triggers: a version, an
idempotency key, a notice and an audit entry can be added, never changed or removed; the
current record of a person moves only by adding a version. No method here updates or deletes
history or the audit trail (tests/integration/test_store_port.py checks this of every adapter).

Adapters: SQLite (sqlite_tx.py), the first. A PostgreSQL adapter implements the same two
protocols on its own connection (psycopg, ``SELECT ... FOR UPDATE`` where SQLite relies on
``BEGIN IMMEDIATE``); app/ and api/ do not change.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

from ..audit.event import AuditEvent
from ..domain.record import IdentityRecord
from ..domain.registry import StoredPerson


class ReadPort(Protocol):
    def find(self, juminhyo_code: str) -> StoredPerson | None:
        """The person holding (or having held, then retired) this 住民票コード, current version."""
        ...

    def individual_number_holder(self, individual_number: str) -> int | None:
        """The person key to whom this 個人番号 was ever assigned, if any."""
        ...

    def person(self, person_key: int) -> StoredPerson | None:
        """The person's current record, under the code they hold now (retired = False)."""
        ...

    def version(self, update_seq: int) -> IdentityRecord:
        """The version stored with this 更新順番号."""
        ...

    def history(self, juminhyo_code: str) -> list[IdentityRecord]:
        """Every version of the person holding (or having held) this code, oldest first."""
        ...

    def last_update_seq(self) -> int: ...


class Transaction(ReadPort, Protocol):
    """The writer's open transaction, as a handler sees it (reads include this batch's writes)."""

    def request(self, request_id: str) -> tuple[str, int] | None:
        """The idempotency key: (fingerprint, update_seq) stored under this request id, if any."""
        ...

    def put_version(self, record: IdentityRecord, *, person_key: int | None, retire_code: str | None) -> IdentityRecord:
        """Store ``record`` as the person's new current version (a new person when person_key
        is None), retiring ``retire_code``; returns it with its 更新順番号 and タイムスタンプ."""
        ...

    def remember_request(self, request_id: str, fingerprint: str, update_seq: int) -> None:
        """Add an idempotency key (an existing one is never replaced)."""
        ...

    def enqueue_notice(self, record: IdentityRecord) -> None:
        """Queue the change notice of a stored version for the 都道府県サーバー (outbox)."""
        ...

    def append_audit(self, event: AuditEvent) -> int:
        """Append an entry to the audit trail in this transaction; its seq."""
        ...

    def mark_delivered(self, update_seqs: tuple[int, ...]) -> int:
        """Mark these change notices acknowledged by the 都道府県サーバー (once; a notice already
        marked keeps its first time). The notice itself stays, append-only; the count newly marked."""
        ...

    def store_sofusaki(self, body: bytes, digest: bytes) -> int:
        """Append a 送付先情報 exactly as received; its number (the order it is forwarded in)."""
        ...

    def mark_sofusaki_forwarded(self, seqs: tuple[int, ...]) -> int:
        """Mark these 送付先情報 acknowledged by the 機構 (once); the count newly marked."""
        ...


class BatchTransaction(Transaction, Protocol):
    """What the writer (WriterCore) needs of an adapter besides the port: one transaction per
    batch on one connection it owns, and the exceptions that mean the store itself failed."""

    failures: ClassVar[tuple[type[BaseException], ...]]  # fail the batch (any other: the handler's crash)

    def begin(self) -> None: ...

    def commit(self) -> None:
        """Make the batch durable (waits for the disk)."""
        ...

    def rollback(self) -> None: ...

    def close(self) -> None:
        """Sign the audit chain's head, then close."""
        ...


class AsyncReadPort(Protocol):
    """Reads for the event loop: awaited, never blocking it (lookups and searches to come)."""

    async def find(self, juminhyo_code: str) -> StoredPerson | None: ...

    async def history(self, juminhyo_code: str) -> list[IdentityRecord]: ...
