"""UpdateService: the 既存住基システム's write path (and its reconciliation reads).

Apply and ApplyStream take and return bytes: each request is queued as an EncodedWrite, and the
store's writer decodes, checks, applies and encodes it (api/update_codec.py). The event loop
thread here does the guard, the queueing and gRPC itself, nothing per field.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from ..app.read_records import get_history, get_record
from ..audit.event import REFUSED, Actor, AuditEvent
from ..clock import Today, jst_today
from ..domain.registry import as_of
from ..domain.violations import Violation, violation
from ..gen.jukinet.cs.v1 import identity_pb2, update_service_pb2
from ..store.interface import Encoded, EncodedWrite, StoreError, UpdateStore
from ..store.port import AsyncReadPort
from .convert import record_to_proto, refusal_to_proto
from .errors import abort_with_violation, store_unavailable_status
from .guard import GuardedServer, current_peer

ReadUseCase = Callable[..., Awaitable[Any]]  # app/read_records.py's get_record, get_history
# How many stream requests may be in flight (read, not yet answered) at once.
STREAM_WINDOW = 512
SERVICE_NAME = "jukinet.cs.v1.UpdateService"
SERVICE = f"/{SERVICE_NAME}/"


def _settled(done: asyncio.Future[object]) -> None:
    """Mark an outcome nobody awaits as seen (asyncio would log it as never retrieved)."""
    if done.done() and not done.cancelled():
        done.exception()


def _ignore(_reason: str) -> None:
    pass


def actor_of(context: grpc.aio.ServicerContext) -> Actor:
    """The caller as the guard verified it (certificate identity) and where it called from."""
    identity = current_peer.get()
    if identity is None:
        return Actor(peer=context.peer())
    return Actor(spiffe_id=identity.spiffe_id, cert_fingerprint=identity.fingerprint_sha256, peer=context.peer())


class UpdateServicer:
    def __init__(
        self,
        store: UpdateStore,
        *,
        reads: AsyncReadPort | None = None,
        today: Today = jst_today,
        max_request_bytes: int = 64 * 1024,
        on_refusal: Callable[[str], None] | None = None,
    ) -> None:
        self._store = store
        self._reads = reads  # GetRecord / GetHistory read through it (awaited on the loop)
        self._refused = on_refusal if on_refusal is not None else _ignore  # reason code of each refused update
        self._today = today
        self._max_request_bytes = max_request_bytes  # ApplyStream's per-message limit (unary: the guard's)
        self._streams = itertools.count(1)  # ApplyStream calls, numbered for the store (EncodedWrite.stream)

    def method_handlers(self) -> dict[str, grpc.RpcMethodHandler]:
        """Every method of UpdateService (a test checks them against the proto's service).
        Apply and ApplyStream without (de)serializers: the writer parses and encodes."""
        return {
            "Apply": grpc.unary_unary_rpc_method_handler(self.Apply),
            "ApplyStream": grpc.stream_stream_rpc_method_handler(self.ApplyStream),
            "GetRecord": grpc.unary_unary_rpc_method_handler(
                self.GetRecord,
                request_deserializer=update_service_pb2.GetRecordRequest.FromString,
                response_serializer=identity_pb2.IdentityRecord.SerializeToString,
            ),
            "GetHistory": grpc.unary_unary_rpc_method_handler(
                self.GetHistory,
                request_deserializer=update_service_pb2.GetHistoryRequest.FromString,
                response_serializer=update_service_pb2.History.SerializeToString,
            ),
        }

    def register(self, server: GuardedServer) -> None:
        """Register through the GuardedServer, which wraps every handler with the guard."""
        server.add_registered_method_handlers(SERVICE_NAME, self.method_handlers())

    def _submit(
        self, payload: bytes, actor: Actor, action: str, *, in_band: bool, stream: int = 0
    ) -> asyncio.Future[Encoded]:
        """Queue one request now (so that queue order = request order)."""
        answer: asyncio.Future[Encoded] = asyncio.get_running_loop().create_future()
        self._store.submit(EncodedWrite(payload, actor, action, self._today(), in_band, stream), answer)
        return answer

    def _refuse_too_large(self, actor: Actor, action: str) -> asyncio.Future[Encoded]:
        """A stream message over the limit: refused inline (unread, so without its request id) once
        the refusal is audited, in its place in the stream."""
        refused = violation("MESSAGE_TOO_LARGE", "request")
        reply = update_service_pb2.UpdateResult(refusal=refusal_to_proto(refused)).SerializeToString()
        answer: asyncio.Future[Encoded] = asyncio.get_running_loop().create_future()
        event = AuditEvent(action=action, outcome=REFUSED, actor=actor, reason=refused.code)
        self._store.record_audit(event, answer, Encoded(reply, refused))
        return answer

    async def Apply(self, request: bytes, context: grpc.aio.ServicerContext) -> bytes:  # noqa: N802 - gRPC name
        try:
            result = await self._submit(request, actor_of(context), SERVICE + "Apply", in_band=False)
        except StoreError:
            await context.abort_with_status(store_unavailable_status())
            raise  # unreachable: abort raises
        if result.violation is not None:
            self._refused(result.violation.code)
            await abort_with_violation(context, result.violation)
        assert result.payload is not None
        return result.payload

    async def ApplyStream(  # noqa: N802
        self, request_iterator: AsyncIterator[bytes], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[bytes]:
        pending: asyncio.Queue[asyncio.Future[Encoded] | None] = asyncio.Queue(STREAM_WINDOW)
        actor = actor_of(context)
        action = SERVICE + "ApplyStream"
        stream = next(self._streams)  # once one of its updates is not stored, no later one is

        async def pump() -> None:
            try:
                async for request in request_iterator:
                    if len(request) > self._max_request_bytes:
                        await pending.put(self._refuse_too_large(actor, action))
                    else:
                        await pending.put(self._submit(request, actor, action, in_band=True, stream=stream))
            finally:
                await pending.put(None)

        reader = asyncio.create_task(pump())
        try:
            while (future := await pending.get()) is not None:
                try:
                    result = await future
                except StoreError:
                    # Everything answered so far is stored; nothing after this update will be
                    # (the store breaks the stream): the caller resends from here.
                    await context.abort_with_status(store_unavailable_status())
                    return
                assert result.payload is not None
                if result.violation is not None:
                    self._refused(result.violation.code)
                yield result.payload
            await reader  # surfaces a failure of the request stream
        finally:
            if not reader.done():
                reader.cancel()
            else:
                _settled(reader)
            while not pending.empty():  # answers nobody will read (the call ended early)
                if (left := pending.get_nowait()) is not None:
                    left.add_done_callback(_settled)

    async def _read(self, use_case: ReadUseCase, juminhyo_code: str, context: grpc.aio.ServicerContext, method: str):  # noqa: ANN202
        """Run a read use case (audited before it answers); a refusal or a store failure aborts."""
        if self._reads is None:
            raise StoreError("this servicer has no read port")
        try:
            found = await use_case(
                self._reads, self._store, juminhyo_code, actor=actor_of(context), action=SERVICE + method
            )
        except StoreError:
            await context.abort_with_status(store_unavailable_status())
            raise
        if isinstance(found, Violation):
            await abort_with_violation(context, found)
            raise AssertionError("unreachable")
        return found

    async def GetRecord(  # noqa: N802
        self, request: update_service_pb2.GetRecordRequest, context: grpc.aio.ServicerContext
    ) -> identity_pb2.IdentityRecord:
        found = await self._read(get_record, request.juminhyo_code, context, "GetRecord")
        return record_to_proto(as_of(found, self._today()))  # a passed 転出予定日 reads as 消除者

    async def GetHistory(  # noqa: N802
        self, request: update_service_pb2.GetHistoryRequest, context: grpc.aio.ServicerContext
    ) -> update_service_pb2.History:
        versions = await self._read(get_history, request.juminhyo_code, context, "GetHistory")
        return update_service_pb2.History(versions=[record_to_proto(r) for r in versions])
