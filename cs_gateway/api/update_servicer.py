"""UpdateService: the 既存住基システム's write path (and its reconciliation reads)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import grpc

from ..app.apply_update import ApplyUpdate
from ..app.read_records import get_history, get_record
from ..audit.event import Actor, AuditEvent
from ..domain.violations import Violation
from ..gen.jukinet.cs.v1 import identity_pb2, update_service_pb2, update_service_pb2_grpc
from ..store.interface import StoreError, UpdateStore, WriteResult
from .convert import record_to_proto, refusal_to_proto, update_from_proto
from .errors import abort_with_violation, store_unavailable_status
from .guard import current_peer

# How many stream requests may be in flight (read, not yet answered) at once.
STREAM_WINDOW = 512
SERVICE = "/jukinet.cs.v1.UpdateService/"


def actor_of(context: grpc.aio.ServicerContext) -> Actor:
    """The caller as the guard verified it (certificate identity) and where it called from."""
    identity = current_peer.get()
    if identity is None:
        return Actor(peer=context.peer())
    return Actor(spiffe_id=identity.spiffe_id, cert_fingerprint=identity.fingerprint_sha256, peer=context.peer())


def result_to_proto(request_id: str, result: WriteResult) -> update_service_pb2.UpdateResult:
    if result.violation is not None:
        return update_service_pb2.UpdateResult(request_id=request_id, refusal=refusal_to_proto(result.violation))
    assert result.record is not None
    return update_service_pb2.UpdateResult(
        request_id=request_id, record=record_to_proto(result.record), replayed=result.replayed
    )


class UpdateServicer(update_service_pb2_grpc.UpdateServiceServicer):
    def __init__(self, apply_update: ApplyUpdate, store: UpdateStore) -> None:
        self._apply_update = apply_update
        self._store = store

    def _submit(
        self, request: update_service_pb2.UpdateRequest, actor: Actor, action: str
    ) -> asyncio.Future[WriteResult]:
        """Convert and queue one request now (so that queue order = request order)."""
        answer: asyncio.Future[WriteResult] = asyncio.get_running_loop().create_future()
        command = update_from_proto(request)
        if isinstance(command, Violation):
            audit = AuditEvent(
                action=action,
                outcome="",
                actor=actor,
                request_id=request.request_id,
                subject_juminhyo_code=request.entry.juminhyo_code,
            )
            return self._apply_update.refuse(audit, command, answer)  # type: ignore[return-value]
        fingerprint = "pb1:" + hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()
        return self._apply_update.submit(  # type: ignore[return-value]
            command, actor=actor, action=action, answer=answer, fingerprint=fingerprint
        )

    async def Apply(  # noqa: N802 - gRPC method name
        self, request: update_service_pb2.UpdateRequest, context: grpc.aio.ServicerContext
    ) -> update_service_pb2.UpdateResult:
        try:
            result = await self._submit(request, actor_of(context), SERVICE + "Apply")
        except StoreError:
            await context.abort_with_status(store_unavailable_status())
            raise  # unreachable: abort raises
        if result.violation is not None:
            await abort_with_violation(context, result.violation)
        return result_to_proto(request.request_id, result)

    async def ApplyStream(  # noqa: N802
        self,
        request_iterator: AsyncIterator[update_service_pb2.UpdateRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[update_service_pb2.UpdateResult]:
        pending: asyncio.Queue[tuple[str, asyncio.Future[WriteResult]] | None] = asyncio.Queue(STREAM_WINDOW)
        actor = actor_of(context)
        action = SERVICE + "ApplyStream"

        async def pump() -> None:
            try:
                async for request in request_iterator:
                    await pending.put((request.request_id, self._submit(request, actor, action)))
            finally:
                await pending.put(None)

        reader = asyncio.create_task(pump())
        try:
            while (item := await pending.get()) is not None:
                request_id, future = item
                try:
                    result = await future
                except StoreError:
                    await context.abort_with_status(store_unavailable_status())
                    return
                yield result_to_proto(request_id, result)
            await reader  # surfaces a failure of the request stream
        finally:
            if not reader.done():
                reader.cancel()

    async def GetRecord(  # noqa: N802
        self, request: update_service_pb2.GetRecordRequest, context: grpc.aio.ServicerContext
    ) -> identity_pb2.IdentityRecord:
        try:
            found = await asyncio.to_thread(
                get_record, self._store, request.juminhyo_code, actor=actor_of(context), action=SERVICE + "GetRecord"
            )
        except StoreError:
            await context.abort_with_status(store_unavailable_status())
            raise
        if isinstance(found, Violation):
            await abort_with_violation(context, found)
            raise AssertionError("unreachable")
        return record_to_proto(found)

    async def GetHistory(  # noqa: N802
        self, request: update_service_pb2.GetHistoryRequest, context: grpc.aio.ServicerContext
    ) -> update_service_pb2.History:
        try:
            found = await asyncio.to_thread(
                get_history, self._store, request.juminhyo_code, actor=actor_of(context), action=SERVICE + "GetHistory"
            )
        except StoreError:
            await context.abort_with_status(store_unavailable_status())
            raise
        if isinstance(found, Violation):
            await abort_with_violation(context, found)
            raise AssertionError("unreachable")
        return update_service_pb2.History(versions=[record_to_proto(r) for r in found])
