"""TerminalService: the counter terminal's (統合端末) RPCs.

Login checks the operator in the store's writer (app/operators.py: CheckLogin, audited in the
same transaction) and only then opens a session bound to the calling certificate
(security/sessions.py). Every other RPC reaches here only through the guard's session stage, so
``current_session`` is set. Every failed login gets one answer, UNAUTHENTICATED / LOGIN_FAILED,
whatever the reason (unknown operator, wrong password or code, replayed code, locked, disabled).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import grpc

from ..app.operators import CheckLogin, LoginAccepted
from ..audit.event import OK, Actor, AuditEvent
from ..gen.jukinet.cs.v1 import terminal_service_pb2 as tpb
from ..security.sessions import SessionTable
from ..store.interface import StoreError, UpdateStore
from .errors import rich_status, store_unavailable_status
from .guard import GuardedServer, current_peer, current_session

SERVICE_NAME = "jukinet.cs.v1.TerminalService"
SERVICE = f"/{SERVICE_NAME}/"
LOGIN_FAILED = "LOGIN_FAILED"
# Longer fields are refused like a wrong password (same answer), never checked.
_MAX_ID, _MAX_PASSWORD, _MAX_CODE = 64, 256, 16


def login_failed_status() -> grpc.Status:
    return rich_status(
        grpc.StatusCode.UNAUTHENTICATED,
        LOGIN_FAILED,
        "login failed: operator id, password or code not accepted",
        message_ja="ログインできません(操作者ID、パスワードまたはワンタイムコードが正しくありません)",
    )


def terminal_actor(context: grpc.aio.ServicerContext, operator_id: str = "") -> Actor:
    """The terminal as the guard verified it: its certificate, host (= 操作端末ID) and operator."""
    identity = current_peer.get()
    if identity is None:
        return Actor(peer=context.peer(), operator_id=operator_id)
    return Actor(
        spiffe_id=identity.spiffe_id,
        cert_fingerprint=identity.fingerprint_sha256,
        peer=context.peer(),
        operator_id=operator_id,
        terminal_id=identity.host,
    )


class TerminalServicer:
    def __init__(self, store: UpdateStore, sessions: SessionTable, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._sessions = sessions
        self._clock = clock

    def method_handlers(self) -> dict[str, grpc.RpcMethodHandler]:
        return {
            "Login": grpc.unary_unary_rpc_method_handler(
                self.Login,
                request_deserializer=tpb.LoginRequest.FromString,
                response_serializer=tpb.LoginResponse.SerializeToString,
            ),
            "Logout": grpc.unary_unary_rpc_method_handler(
                self.Logout,
                request_deserializer=tpb.LogoutRequest.FromString,
                response_serializer=tpb.LogoutResponse.SerializeToString,
            ),
        }

    def register(self, server: GuardedServer) -> None:
        server.add_registered_method_handlers(SERVICE_NAME, self.method_handlers())

    async def _write(self, context: grpc.aio.ServicerContext, command: object) -> object:
        """Submit a command; its outcome once durable (UNAVAILABLE if the store cannot write)."""
        try:
            return await self._store.submit(command, asyncio.get_running_loop().create_future())
        except StoreError:
            await context.abort_with_status(store_unavailable_status())
            raise  # unreachable

    async def Login(self, request: tpb.LoginRequest, context: grpc.aio.ServicerContext) -> tpb.LoginResponse:  # noqa: N802
        at = self._clock()
        operator_id = request.operator_id[:_MAX_ID]
        oversized = len(request.password) > _MAX_PASSWORD or len(request.totp_code) > _MAX_CODE
        check = CheckLogin(
            operator_id,
            "" if oversized else request.password,
            "" if oversized else request.totp_code,
            at,
            terminal_actor(context),
        )
        outcome = await self._write(context, check)
        identity = current_peer.get()
        if not isinstance(outcome, LoginAccepted) or identity is None:
            await context.abort_with_status(login_failed_status())
            raise AssertionError("unreachable")
        token = self._sessions.open(outcome.operator_id, outcome.role, identity.fingerprint_sha256)
        return tpb.LoginResponse(
            session_token=token,
            operator_role=outcome.role,
            idle_timeout_seconds=int(self._sessions.idle_timeout_s),
            lifetime_seconds=int(self._sessions.lifetime_s),
        )

    async def Logout(self, request: tpb.LogoutRequest, context: grpc.aio.ServicerContext) -> tpb.LogoutResponse:  # noqa: N802
        session = current_session.get()
        assert session is not None  # the guard's session stage ran
        self._sessions.close(session)
        event = AuditEvent(SERVICE + "Logout", OK, terminal_actor(context, session.operator_id))
        try:
            await self._store.record_audit(event, asyncio.get_running_loop().create_future())
        except StoreError:
            await context.abort_with_status(store_unavailable_status())
        return tpb.LogoutResponse()
