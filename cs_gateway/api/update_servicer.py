"""UpdateService: the 既存住基システム's write path (and its reconciliation reads)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc

from ..app.apply_update import ApplyUpdate
from ..app.read_records import get_history, get_record
from ..domain.violations import Violation
from ..gen.jukinet.cs.v1 import identity_pb2, update_service_pb2, update_service_pb2_grpc
from ..store.interface import StoreError, UpdateStore, WriteResult
from .convert import record_to_proto, refusal_to_proto, update_from_proto
from .errors import abort_with_violation, store_unavailable_status

# How many stream requests may be in flight (read, not yet answered) at once.
STREAM_WINDOW = 512


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

    def _submit(self, request: update_service_pb2.UpdateRequest) -> asyncio.Future[WriteResult]:
        """Convert and queue one request now (so that queue order = request order)."""
        command = update_from_proto(request)
        if isinstance(command, Violation):
            done: asyncio.Future[WriteResult] = asyncio.get_running_loop().create_future()
            done.set_result(WriteResult(record=None, violation=command))
            return done
        return asyncio.wrap_future(self._apply_update.submit(command))

    async def Apply(  # noqa: N802 - gRPC method name
        self, request: update_service_pb2.UpdateRequest, context: grpc.aio.ServicerContext
    ) -> update_service_pb2.UpdateResult:
        try:
            result = await self._submit(request)
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

        async def pump() -> None:
            try:
                async for request in request_iterator:
                    await pending.put((request.request_id, self._submit(request)))
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
        found = await asyncio.to_thread(get_record, self._store, request.juminhyo_code)
        if isinstance(found, Violation):
            await abort_with_violation(context, found)
            raise AssertionError("unreachable")
        return record_to_proto(found)

    async def GetHistory(  # noqa: N802
        self, request: update_service_pb2.GetHistoryRequest, context: grpc.aio.ServicerContext
    ) -> update_service_pb2.History:
        found = await asyncio.to_thread(get_history, self._store, request.juminhyo_code)
        if isinstance(found, Violation):
            await abort_with_violation(context, found)
            raise AssertionError("unreachable")
        return update_service_pb2.History(versions=[record_to_proto(r) for r in found])
