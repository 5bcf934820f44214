"""The checks on every RPC, in one place, in this order:

1. the certificate (security/certificate_gate.py): identity (the one SPIFFE URI SAN), profile,
   issuer pinned for the role, validity window now, revocation against that issuer's CRL;
2. network: the peer's address in its role's segment, its MAC on the host's allow-list;
3. the role x RPC policy (deny by default);
4. for the RPCs whose rule names operator_roles (the terminal's): the operator session from the
   call's metadata, bound to this certificate, live, of one of those roles
   (security/sessions.py); a failure answers UNAUTHENTICATED / SESSION_REQUIRED, audited.

Denials are audited up to a bound per certificate and per peer address (security/denial_bound.py);
beyond it the caller is cut off. A denied unary request that names a person (a field
``juminhyo_code`` / ``individual_number``) is parsed, when within the size limit, so that its
denied entry carries the subject's HMAC like an allowed one.

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
from ..gen.jukinet.cs.v1 import update_service_pb2
from ..logging_setup import get_logger
from ..metrics import OTHER_METHOD, GatewayMetrics, RpcOutcomes
from ..security.certificate_gate import CertificateGate
from ..security.denial_bound import CUT_OFF, SUPPRESSED, DenialBound, Episode
from ..security.identity import PeerIdentity
from ..security.network import NetworkGate
from ..security.policy_file import Policy
from ..security.sessions import METADATA_KEY, Session, SessionTable
from .errors import access_denied_status, session_required_status, violation_status

log = get_logger("cs_gateway.guard")

current_peer: contextvars.ContextVar[PeerIdentity | None] = contextvars.ContextVar("current_peer", default=None)
current_session: contextvars.ContextVar[Session | None] = contextvars.ContextVar("current_session", default=None)

# (method, peer address, outcome, rule or reason code, identity, subject=(住民票コード, 個人番号),
# detail=text); awaited before the caller is answered, so that the refusal is in the audit trail
# when the caller learns of it.
RefusalHook = Callable[..., Awaitable[None]]
Parse = Callable[[bytes], Any]
NO_SUBJECT = ("", "")
CUT_OFF_RULE = "rate:cut-off"
CUT_OFF_ENDED_RULE = "rate:cut-off-ended"
# Methods whose handler takes bytes, and the message type that names their subject.
SUBJECT_OF_RAW_REQUESTS: dict[str, Parse] = {
    "/jukinet.cs.v1.UpdateService/Apply": update_service_pb2.UpdateRequest.FromString,
}
DENIAL_BOUND_ACTION = "guard.denial-bound"  # the action of a cut-off's closing entry (no call of its own)


class Guard:
    def __init__(
        self,
        policy: Policy,
        *,
        network: NetworkGate,
        certificates: CertificateGate,
        on_refusal: RefusalHook | None = None,
        denials: DenialBound | None = None,
        max_request_bytes: int = 64 * 1024,
        sessions: SessionTable | None = None,
    ) -> None:
        self._policy = policy
        self.sessions = sessions if sessions is not None else SessionTable()
        self._network = network
        self._certificates = certificates
        self._on_refusal = on_refusal
        self._bound = denials if denials is not None else DenialBound(100, 1000, 60.0)
        self._max_request_bytes = max_request_bytes
        self._flush: asyncio.TimerHandle | None = None
        self._flush_tasks: set[asyncio.Task[None]] = set()

    async def check(
        self, method: str, context: grpc.aio.ServicerContext, request: bytes | None = None, parse: Parse | None = None
    ) -> None:
        """Raise (abort) unless the peer's certificate role may call method. `request` and `parse`
        (unary calls): read only to name the subject of a denied request in its audit entry."""
        identity, rule = self._certificates.check(context.auth_context())
        if self._bound.cutting and self._bound.cut_off(context.peer(), identity):
            await context.abort_with_status(access_denied_status())  # counted, audited when the cut-off ends
        if rule is not None:
            await self._refuse(context, method, rule, identity, request, parse)
        assert identity is not None
        peer = context.peer()
        network_rule = self._network.check(identity.role, identity.host, peer)
        if network_rule is not None:
            if not peer and context.cancelled():
                # The caller cancelled before the checks ran, and grpc no longer knows its address:
                # no refusal to give, nor a network denial to record (it would be a false alert).
                raise asyncio.CancelledError
            await self._refuse(context, method, network_rule, identity, request, parse)
        if not self._policy.allows(identity.role, method):
            await self._refuse(context, method, "policy:role-not-allowed", identity, request, parse)
        current_peer.set(identity)
        operator_roles = self._policy.operator_roles_for(method)
        if operator_roles is not None:
            token = dict(context.invocation_metadata() or ()).get(METADATA_KEY)
            session = self.sessions.check(token, identity.fingerprint_sha256, operator_roles)
            if isinstance(session, str):
                await self._refuse(context, method, session, identity, request, parse, session_required_status())
            current_session.set(session)  # type: ignore[arg-type]

    async def _refuse(
        self,
        context: grpc.aio.ServicerContext,
        method: str,
        rule: str,
        identity: PeerIdentity | None,
        request: bytes | None = None,
        parse: Parse | None = None,
        status: grpc.Status | None = None,
    ) -> None:
        peer = context.peer()
        if self._bound.cutting:
            await self._audit_ended_cut_offs()
        verdict, episode = self._bound.on_denial(peer, identity)
        if verdict == CUT_OFF and episode is not None:
            detail = (
                f"{episode.kind} over {episode.limit} denied calls in {self._bound.window_s:g} s: cut off "
                f"until the window ends (calls refused unaudited, counted); this call: {rule}"
            )
            log.warning("caller_cut_off", kind=episode.kind, key=episode.key, rule=rule, method=method)
            await self._record(context, method, DENIED, CUT_OFF_RULE, identity, detail=detail)
            self._schedule_flush()
        elif verdict != SUPPRESSED:
            await self._record(context, method, DENIED, rule, identity, subject=self._subject(request, parse))
        await context.abort_with_status(status or access_denied_status())

    def _subject(self, request: bytes | None, parse: Parse | None) -> tuple[str, str]:
        """(住民票コード, 個人番号) that a denied request names, if it parses within the size limit."""
        if request is None or parse is None or len(request) > self._max_request_bytes:
            return NO_SUBJECT
        try:
            message = parse(request)
        except Exception:  # noqa: BLE001 - bytes that do not parse name nobody
            return NO_SUBJECT
        named = getattr(message, "entry", message)  # an UpdateRequest names its person in its entry
        code = getattr(named, "juminhyo_code", "")
        number = getattr(named, "individual_number", "")
        return (code if isinstance(code, str) else "", number if isinstance(number, str) else "")

    def _schedule_flush(self) -> None:
        if self._flush is not None:
            return
        delay = self._bound.next_end()
        if delay is None:
            return
        loop = asyncio.get_running_loop()

        def start() -> None:
            task = loop.create_task(self._flush_due())
            self._flush_tasks.add(task)  # asyncio keeps only a weak reference to a task
            task.add_done_callback(self._flush_tasks.discard)

        self._flush = loop.call_later(delay + 0.05, start)

    async def _flush_due(self) -> None:
        self._flush = None
        await self._audit_ended_cut_offs()
        self._schedule_flush()

    async def _audit_ended_cut_offs(self, *, all_of_them: bool = False) -> None:
        for episode in self._bound.ended(all_of_them=all_of_them):
            await self._record_end(episode, at_shutdown=all_of_them)

    async def close(self) -> None:
        """At shutdown, once no call is running: the count of every cut-off still running is
        audited now (it would be lost with the process)."""
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        await self._audit_ended_cut_offs(all_of_them=True)

    async def _record_end(self, episode: Episode, *, at_shutdown: bool = False) -> None:
        until = "until the gateway stopped" if at_shutdown else f"for {self._bound.window_s:g} s"
        detail = f"{episode.kind} cut off {until}: suppressed={episode.suppressed}"
        log.warning("caller_cut_off_ended", kind=episode.kind, key=episode.key, suppressed=episode.suppressed)
        if self._on_refusal is not None:
            try:
                await self._on_refusal(
                    DENIAL_BOUND_ACTION,
                    episode.peer,
                    DENIED,
                    CUT_OFF_ENDED_RULE,
                    episode.identity,
                    subject=NO_SUBJECT,
                    detail=detail,
                )
            except Exception:  # noqa: BLE001
                log.error("refusal_not_audited", rule=CUT_OFF_ENDED_RULE)

    async def refuse_request(self, context: grpc.aio.ServicerContext, method: str, refused: Violation) -> None:
        """Refuse, audited, a request of a caller that passed the checks (too large, unparsable)."""
        await self._record(context, method, REFUSED, refused.code, current_peer.get())
        await context.abort_with_status(violation_status(refused))

    async def _record(
        self,
        context: grpc.aio.ServicerContext,
        method: str,
        outcome: str,
        reason: str,
        identity: PeerIdentity | None,
        *,
        subject: tuple[str, str] = NO_SUBJECT,
        detail: str = "",
    ) -> None:
        if self._on_refusal is not None:
            try:
                await self._on_refusal(
                    method, context.peer(), outcome, reason, identity, subject=subject, detail=detail
                )
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
        # what names the subject of a denied request: the handler's own parser, or for a handler
        # that takes bytes (Apply: the store's writer parses), the request's message type
        self._subject_parse = self._parse or SUBJECT_OF_RAW_REQUESTS.get(method)
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
                    await check(context, request, self._subject_parse)
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
                        await check(context, request, self._subject_parse)
                        await inner_us(await self._request(request, context), context)
                    except BaseException as error:
                        ended(context, error)
                        raise
                    ok()

                return grpc.unary_stream_rpc_method_handler(unary_writes, **kwargs)

            async def unary_stream(request: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
                try:
                    await check(context, request, self._subject_parse)
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
