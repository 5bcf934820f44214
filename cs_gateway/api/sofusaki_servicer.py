"""SofusakiService: 既存住基 submits 送付先情報 for the 機構 (seed II(3), III(3)-5).

The request is taken as bytes (no deserializer): those exact bytes are what is checked, stored
and forwarded. A refusal (malformed, unknown fields, a format violation) is audited and stores
nothing; an accepted one answers once stored with its audit entry, and wakes the forwarder.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable

import grpc
from google.protobuf import unknown_fields
from google.protobuf.message import DecodeError

from ..app.sofusaki import RECEIVED_ACTION, StoreSofusaki
from ..audit.event import REFUSED, AuditEvent
from ..clock import Today, jst_today
from ..domain.parsing import parse_date
from ..domain.sofusaki import check_sofusaki
from ..domain.violations import Violation, violation
from ..gen.jukinet.cs.v1 import sofusaki_service_pb2 as pb
from ..store.interface import StoreError, UpdateStore
from .errors import abort_with_violation, store_unavailable_status
from .guard import GuardedServer
from .update_servicer import actor_of

SERVICE_NAME = "jukinet.cs.v1.SofusakiService"


def sofusaki_items(message: pb.SofusakiInfo) -> dict[str, object] | Violation:
    """The items as the domain checks them (dates parsed), or the violation of a bad date."""
    items: dict[str, object] = {}
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        if field.message_type is not None:  # a Date
            parsed = (
                parse_date(value.year, value.month, value.day, field.name) if message.HasField(field.name) else None
            )
            if isinstance(parsed, Violation):
                return parsed
            items[field.name] = parsed
        else:
            items[field.name] = value
    return items


def check_request(body: bytes, *, municipality_code: str, today: Today) -> Violation | None:
    try:
        message = pb.SofusakiInfo.FromString(body)
    except DecodeError:
        return violation("MALFORMED_REQUEST", "request")
    if len(unknown_fields.UnknownFieldSet(message)) or len(unknown_fields.UnknownFieldSet(message.processed_on)) + len(
        unknown_fields.UnknownFieldSet(message.birth_date)
    ) + len(unknown_fields.UnknownFieldSet(message.residence_expiry)):
        return violation("MALFORMED_REQUEST", "request")  # nothing goes to the 機構 that the CS did not check
    items = sofusaki_items(message)
    if isinstance(items, Violation):
        return items
    return check_sofusaki(items, municipality_code=municipality_code, today=today())


class SofusakiServicer:
    def __init__(
        self,
        store: UpdateStore,
        *,
        municipality_code: str,
        today: Today = jst_today,
        on_stored: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._municipality_code = municipality_code
        self._today = today
        self._on_stored = on_stored

    def method_handlers(self) -> dict[str, grpc.RpcMethodHandler]:
        return {
            "Submit": grpc.unary_unary_rpc_method_handler(
                self.Submit, response_serializer=pb.SofusakiReceipt.SerializeToString
            )
        }

    def register(self, server: GuardedServer) -> None:
        server.add_registered_method_handlers(SERVICE_NAME, self.method_handlers())

    async def Submit(self, request: bytes, context: grpc.aio.ServicerContext) -> pb.SofusakiReceipt:  # noqa: N802
        actor = actor_of(context)
        loop = asyncio.get_running_loop()
        refused = check_request(request, municipality_code=self._municipality_code, today=self._today)
        try:
            if refused is not None:
                event = AuditEvent(
                    action=RECEIVED_ACTION, outcome=REFUSED, actor=actor, reason=refused.code, detail=refused.field
                )
                await self._store.record_audit(event, loop.create_future())
            else:
                digest = hashlib.sha256(request).digest()
                seq = await self._store.submit(StoreSofusaki(request, digest, actor), loop.create_future())
        except StoreError:
            await context.abort_with_status(store_unavailable_status())
            raise
        if refused is not None:
            await abort_with_violation(context, refused)
            raise AssertionError("unreachable")
        if self._on_stored is not None:
            self._on_stored()
        return pb.SofusakiReceipt(sofusaki_seq=seq, digest=digest)
