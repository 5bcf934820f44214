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

Requests reach the checks as bytes: grpc is never given a request deserializer, because it would
parse the request before any check runs (a caller without access could then tell existing
methods from unknown ones by their parse errors, unaudited). Only after the checks pass does the
wrapper refuse a request over the size limit (RESOURCE_EXHAUSTED, MESSAGE_TOO_LARGE) or one that
does not parse (INVALID_ARGUMENT, MALFORMED_REQUEST), both audited, then parse it for the
handler. Handlers that take bytes (UpdateService's Apply/ApplyStream) get the size check only on
unary requests; ApplyStream refuses an oversized message inline itself.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from ..audit.event import DENIED, REFUSED
from ..domain.violations import Violation, violation
from ..logging_setup import get_logger
from ..metrics import OTHER_METHOD, GatewayMetrics, RpcOutcomes
from ..security.identity import IdentityError, PeerIdentity, identity_from_auth_context
from ..security.network import NetworkGate
from ..security.policy_file import Policy
from ..security.revocation import RevocationChecker
from .errors import access_denied_status, violation_status

log = get_logger("cs_gateway.guard")

current_peer: contextvars.ContextVar[PeerIdentity | None] = contextvars.ContextVar("current_peer", default=None)

# (method, peer address, outcome, rule or reason code, identity); awaited before the caller is
# answered, so that the refusal is in the audit trail when the caller learns of it.
RefusalHook = Callable[[str, str, str, str, PeerIdentity | None], Awaitable[None]]


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
        peer = context.peer()
        network_rule = self._network.check(identity.role, identity.host, peer)
        if network_rule is not None:
            if not peer and context.cancelled():
                # The caller cancelled before the checks ran, and grpc no longer knows its address:
                # no refusal to give, nor a network denial to record (it would be a false alert).
                raise asyncio.CancelledError
            await self._refuse(context, method, network_rule, identity)
        if not self._policy.allows(identity.role, method):
            await self._refuse(context, method, "policy:role-not-allowed", identity)
        current_peer.set(identity)

    async def _refuse(
        self, context: grpc.aio.ServicerContext, method: str, rule: str, identity: PeerIdentity | None
    ) -> None:
        await self._record(context, method, DENIED, rule, identity)
        await context.abort_with_status(access_denied_status())

    async def refuse_request(self, context: grpc.aio.ServicerContext, method: str, refused: Violation) -> None:
        """Refuse, audited, a request of a caller that passed the checks (too large, unparsable)."""
        await self._record(context, method, REFUSED, refused.code, current_peer.get())
        await context.abort_with_status(violation_status(refused))

    async def _record(
        self, context: grpc.aio.ServicerContext, method: str, outcome: str, reason: str, identity: PeerIdentity | None
    ) -> None:
        if self._on_refusal is not None:
            try:
                await self._on_refusal(method, context.peer(), outcome, reason, identity)
            except Exception:  # noqa: BLE001 - the call is refused whatever happens to the record of it
                log.error("refusal_not_audited", method=method, rule=reason)


class GuardedServer:
    """Stands in for the grpc server while servicers register (the generated
    ``add_*Servicer_to_server`` functions): every method handler is wrapped with the guard before
    the real server sees it. Call ``seal()`` last: it adds the catch-all that denies any other
    method, so that nothing unguarded can be reached and unknown methods look like forbidden ones."""

    def __init__(
        self, server: grpc.aio.Server, guard: Guard, *, max_request_bytes: int, metrics: GatewayMetrics | None = None
    ) -> None:
        self._server = server
        self._guard = guard
        self._max_request_bytes = max_request_bytes
        self._metrics = metrics if metrics is not None else GatewayMetrics()

    def add_generic_rpc_handlers(self, _handlers: object) -> None:
        """Ignored: the same handlers arrive, wrapped, through add_registered_method_handlers."""

    def add_registered_method_handlers(self, service: str, handlers: dict[str, grpc.RpcMethodHandler]) -> None:
        wrapped = {
            name: _Checked(
                self._guard,
                f"/{service}/{name}",
                handler,
                self._max_request_bytes,
                self._metrics.rpc_outcomes(f"/{service}/{name}"),
            ).handler()
            for name, handler in handlers.items()
        }
        self._server.add_registered_method_handlers(service, wrapped)
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, wrapped),))

    def seal(self) -> None:
        outcomes = self._metrics.rpc_outcomes(OTHER_METHOD)
        self._server.add_generic_rpc_handlers((_DenyEverythingElse(self._guard, outcomes),))


class _DenyEverythingElse(grpc.GenericRpcHandler):
    def __init__(self, guard: Guard, outcomes: RpcOutcomes) -> None:
        self._guard = guard
        self._outcomes = outcomes

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        return _deny_handler(self._guard, handler_call_details.method, self._outcomes)


def _deny_handler(guard: Guard, method: str, outcomes: RpcOutcomes) -> grpc.RpcMethodHandler:
    """Unknown methods are refused like unauthorised ones (no method enumeration)."""

    async def deny(_request: Any, context: grpc.aio.ServicerContext) -> None:
        try:
            await guard.check(method, context)
        except BaseException as error:
            outcomes.ended(context, error)
            raise

    return grpc.unary_unary_rpc_method_handler(deny, request_deserializer=None, response_serializer=None)


class _Checked:
    """One method's handler behind the guard: check the caller, then (for a request the handler
    wants parsed) the request's size and wire format, then call the handler."""

    def __init__(
        self,
        guard: Guard,
        method: str,
        handler: grpc.RpcMethodHandler,
        max_request_bytes: int,
        outcomes: RpcOutcomes,
    ) -> None:
        self._guard = guard
        self._method = method
        self._handler = handler
        self._parse: Callable[[bytes], Any] | None = handler.request_deserializer
        self._max = max_request_bytes
        self._outcomes = outcomes  # counted once per call, where it ends

    async def _request(self, raw: bytes, context: grpc.aio.ServicerContext) -> Any:
        if len(raw) > self._max:
            await self._guard.refuse_request(context, self._method, violation("MESSAGE_TOO_LARGE", "request"))
        if self._parse is None:
            return raw
        try:
            return self._parse(raw)
        except Exception:  # noqa: BLE001 - DecodeError, or whatever a deserializer raises on bad bytes
            await self._guard.refuse_request(context, self._method, violation("MALFORMED_REQUEST", "request"))
            raise AssertionError("unreachable: refuse_request aborts") from None

    async def _requests(self, raw: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        async for message in raw:
            yield await self._request(message, context)

    def handler(self) -> grpc.RpcMethodHandler:
        handler = self._handler
        check = functools.partial(self._guard.check, self._method)
        ok, ended = self._outcomes.ok, self._outcomes.ended
        # grpc gets no request deserializer: nothing is parsed before check() has run.
        kwargs: dict[str, Any] = {"request_deserializer": None, "response_serializer": handler.response_serializer}
        if handler.unary_unary is not None:
            inner_uu = handler.unary_unary

            async def unary_unary(request: bytes, context: grpc.aio.ServicerContext) -> Any:
                try:
                    await check(context)
                    reply = await inner_uu(await self._request(request, context), context)
                except BaseException as error:
                    ended(context, error)
                    raise
                ok()
                return reply

            return grpc.unary_unary_rpc_method_handler(unary_unary, **kwargs)
        if handler.unary_stream is not None:
            inner_us = handler.unary_stream
            if not inspect.isasyncgenfunction(inner_us):  # writes with context.write (health's Watch)

                async def unary_writes(request: bytes, context: grpc.aio.ServicerContext) -> None:
                    try:
                        await check(context)
                        await inner_us(await self._request(request, context), context)
                    except BaseException as error:
                        ended(context, error)
                        raise
                    ok()

                return grpc.unary_stream_rpc_method_handler(unary_writes, **kwargs)

            async def unary_stream(request: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
                try:
                    await check(context)
                    async for response in inner_us(await self._request(request, context), context):
                        yield response
                except BaseException as error:
                    ended(context, error)
                    raise
                ok()

            return grpc.unary_stream_rpc_method_handler(unary_stream, **kwargs)
        # Stream requests: parsed one by one after the check. A handler that takes bytes reads
        # the raw stream and applies its own per-message limit (ApplyStream refuses inline).
        if handler.stream_unary is not None:
            inner_su = handler.stream_unary

            async def stream_unary(requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> Any:
                try:
                    await check(context)
                    reply = await inner_su(self._requests(requests, context) if self._parse else requests, context)
                except BaseException as error:
                    ended(context, error)
                    raise
                ok()
                return reply

            return grpc.stream_unary_rpc_method_handler(stream_unary, **kwargs)
        inner_ss = handler.stream_stream

        async def stream_stream(
            requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext
        ) -> AsyncIterator[Any]:
            try:
                await check(context)
                async for response in inner_ss(self._requests(requests, context) if self._parse else requests, context):
                    yield response
            except BaseException as error:
                ended(context, error)
                raise
            ok()

        return grpc.stream_stream_rpc_method_handler(stream_stream, **kwargs)
