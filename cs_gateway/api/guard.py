"""The checks on every RPC, in one place, in this order:

1. identity: the one SPIFFE URI SAN of the verified client certificate (role, host);
2. revocation: the leaf's serial against the CRL (reloaded when the file changes);
3. network: the peer's address in its role's segment, its MAC on the host's allow-list;
4. the role x RPC policy (deny by default).

grpcio's ServerInterceptor never sees the ServicerContext, so the checks wrap the method
handlers themselves: servicers register through a GuardedServer, which wraps every handler
before it reaches the grpc server, and a last catch-all handler denies every other method.
(No interceptor: an async interceptor chain costs every RPC a coroutine round trip.)
The caller of a refused RPC gets one uniform PERMISSION_DENIED that says nothing about records.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from ..logging_setup import get_logger
from ..security.identity import IdentityError, PeerIdentity, identity_from_auth_context
from ..security.network import NetworkGate
from ..security.policy_file import Policy
from ..security.revocation import RevocationChecker
from .errors import access_denied_status

log = get_logger("cs_gateway.guard")

current_peer: contextvars.ContextVar[PeerIdentity | None] = contextvars.ContextVar("current_peer", default=None)

# (method, peer address, rule, identity); awaited before the caller is answered, so that the
# denial is in the audit trail when the caller learns of it.
RefusalHook = Callable[[str, str, str, PeerIdentity | None], Awaitable[None]]


class Guard:
    def __init__(
        self,
        policy: Policy,
        *,
        network: NetworkGate,
        revocation: RevocationChecker,
        trust_domain: str,
        known_roles: frozenset[str],
        on_refusal: RefusalHook | None = None,
    ) -> None:
        self._policy = policy
        self._network = network
        self._revocation = revocation
        self._trust_domain = trust_domain
        self._known_roles = known_roles
        self._on_refusal = on_refusal

    async def check(self, method: str, context: grpc.aio.ServicerContext) -> None:
        """Raise (abort) unless the peer's certificate role may call method."""
        identity: PeerIdentity | None = None
        try:
            identity = identity_from_auth_context(context.auth_context(), self._trust_domain, self._known_roles)
        except IdentityError as err:
            await self._refuse(context, method, f"identity:{err.reason}", None)
        assert identity is not None
        revoked = self._revocation.check_serial(identity.serial)  # the verified leaf's serial
        if revoked is not None:
            await self._refuse(context, method, f"revocation:{revoked}", identity)
        network_rule = self._network.check(identity.role, identity.host, context.peer())
        if network_rule is not None:
            await self._refuse(context, method, network_rule, identity)
        if not self._policy.allows(identity.role, method):
            await self._refuse(context, method, "policy:role-not-allowed", identity)
        current_peer.set(identity)

    async def _refuse(
        self, context: grpc.aio.ServicerContext, method: str, rule: str, identity: PeerIdentity | None
    ) -> None:
        if self._on_refusal is not None:
            try:
                await self._on_refusal(method, context.peer(), rule, identity)
            except Exception:  # noqa: BLE001 - the call is denied whatever happens to the record of it
                log.error("refusal_not_audited", method=method, rule=rule)
        await context.abort_with_status(access_denied_status())


class GuardedServer:
    """Stands in for the grpc server while servicers register (the generated
    ``add_*Servicer_to_server`` functions): every method handler is wrapped with the guard before
    the real server sees it. Call ``seal()`` last: it adds the catch-all that denies any other
    method, so that nothing unguarded can be reached and unknown methods look like forbidden ones."""

    def __init__(self, server: grpc.aio.Server, guard: Guard) -> None:
        self._server = server
        self._guard = guard

    def add_generic_rpc_handlers(self, _handlers: object) -> None:
        """Ignored: the same handlers arrive, wrapped, through add_registered_method_handlers."""

    def add_registered_method_handlers(self, service: str, handlers: dict[str, grpc.RpcMethodHandler]) -> None:
        wrapped = {
            name: _wrap(handler, functools.partial(self._guard.check, f"/{service}/{name}"))
            for name, handler in handlers.items()
        }
        self._server.add_registered_method_handlers(service, wrapped)
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, wrapped),))

    def seal(self) -> None:
        self._server.add_generic_rpc_handlers((_DenyEverythingElse(self._guard),))


class _DenyEverythingElse(grpc.GenericRpcHandler):
    def __init__(self, guard: Guard) -> None:
        self._guard = guard

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        return _deny_handler(self._guard, handler_call_details.method)


def _deny_handler(guard: Guard, method: str) -> grpc.RpcMethodHandler:
    """Unknown methods are refused like unauthorised ones (no method enumeration)."""

    async def deny(_request: Any, context: grpc.aio.ServicerContext) -> None:
        await guard.check(method, context)

    return grpc.unary_unary_rpc_method_handler(deny, request_deserializer=None, response_serializer=None)


def _wrap(
    handler: grpc.RpcMethodHandler, check: Callable[[grpc.aio.ServicerContext], Awaitable[None]]
) -> grpc.RpcMethodHandler:
    kwargs = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary is not None:
        inner_uu = handler.unary_unary

        async def unary_unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            await check(context)
            return await inner_uu(request, context)

        return grpc.unary_unary_rpc_method_handler(unary_unary, **kwargs)
    if handler.unary_stream is not None:
        inner_us = handler.unary_stream

        async def unary_stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            await check(context)
            async for response in inner_us(request, context):
                yield response

        return grpc.unary_stream_rpc_method_handler(unary_stream, **kwargs)
    if handler.stream_unary is not None:
        inner_su = handler.stream_unary

        async def stream_unary(request_iterator: Any, context: grpc.aio.ServicerContext) -> Any:
            await check(context)
            return await inner_su(request_iterator, context)

        return grpc.stream_unary_rpc_method_handler(stream_unary, **kwargs)
    inner_ss = handler.stream_stream

    async def stream_stream(request_iterator: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        await check(context)
        async for response in inner_ss(request_iterator, context):
            yield response

    return grpc.stream_stream_rpc_method_handler(stream_stream, **kwargs)
