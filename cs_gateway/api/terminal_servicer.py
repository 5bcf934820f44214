"""TerminalService: the counter terminal's (統合端末) RPCs.

Lookup and Search: the purpose must be stated; the per-operator rate limit is checked first; the
search's way and the two-item rule are the domain's (domain/search_rule.py); the writer runs the
read with its audit entry (app/terminal_lookup.py), encodes the reply (api/terminal_codec.py) and
the answer leaves, as those bytes, only once that entry is durable. Every refusal is audited
before it is sent. The 個人番号 is masked (domain/masking.py) unless the operator's role and the
purpose allow it.

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

from ..app.card_verification import CardChecked, FaceItems, VerifyCardHolder
from ..app.operators import CheckLogin, LoginAccepted
from ..app.terminal_lookup import (
    CERTIFICATE_ISSUE,
    IDENTITY_CHECK,
    RECORD_CORRECTION,
    LookupPerson,
    SearchPersons,
    discloses_number,
)
from ..audit.event import OK, REFUSED, Actor, AuditEvent
from ..clock import Today, jst_today
from ..domain.check_digit import is_valid_juminhyo_code
from ..domain.enums import Sex
from ..domain.parsing import parse_date
from ..domain.search_rule import SearchCriteria, four_item_keys, municipality_key, search_way
from ..domain.violations import Violation, violation
from ..gen.jukinet.cs.v1 import terminal_service_pb2 as tpb
from ..security.card_check import CardHolder, CardTrust, NonceTable, nonce_ref
from ..security.rate_limit import RateLimit
from ..security.sessions import SessionTable
from ..store.interface import Encoded, StoreError, UpdateStore
from .errors import rich_status, store_unavailable_status, violation_status
from .guard import GuardedServer, current_peer, current_session
from .terminal_codec import shown

SERVICE_NAME = "jukinet.cs.v1.TerminalService"
SERVICE = f"/{SERVICE_NAME}/"
LOGIN_FAILED = "LOGIN_FAILED"
# Longer fields are refused like a wrong password (same answer), never checked.
_MAX_ID, _MAX_PASSWORD, _MAX_CODE = 64, 256, 16
PURPOSES = {
    tpb.PURPOSE_IDENTITY_CHECK: IDENTITY_CHECK,
    tpb.PURPOSE_CERTIFICATE_ISSUE: CERTIFICATE_ISSUE,
    tpb.PURPOSE_RECORD_CORRECTION: RECORD_CORRECTION,
}


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
    def __init__(
        self,
        store: UpdateStore,
        sessions: SessionTable,
        *,
        max_results: int = 20,
        municipality_name: str = "",
        rate_limit: RateLimit | None = None,
        clock: Callable[[], float] = time.time,
        card_trust: CardTrust | None = None,
        nonces: NonceTable | None = None,
        today: Today = jst_today,
    ) -> None:
        self._store = store
        self.card_trust = card_trust  # None: [card] not configured, VerifyCard refused
        self.nonces = nonces if nonces is not None else NonceTable()
        self._today = today
        self._sessions = sessions
        self._clock = clock
        self.max_results = max_results
        self.municipality = municipality_key(municipality_name)  # a 住所 naming no more is no item
        self.rate_limit = rate_limit if rate_limit is not None else RateLimit(30)

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
            # Lookup and Search answer with the bytes the writer encoded (api/terminal_codec.py)
            "Lookup": grpc.unary_unary_rpc_method_handler(
                self.Lookup, request_deserializer=tpb.LookupRequest.FromString
            ),
            "Search": grpc.unary_unary_rpc_method_handler(
                self.Search, request_deserializer=tpb.SearchRequest.FromString
            ),
            "BeginCardCheck": grpc.unary_unary_rpc_method_handler(
                self.BeginCardCheck,
                request_deserializer=tpb.BeginCardCheckRequest.FromString,
                response_serializer=tpb.BeginCardCheckResponse.SerializeToString,
            ),
            "VerifyCard": grpc.unary_unary_rpc_method_handler(
                self.VerifyCard,
                request_deserializer=tpb.VerifyCardRequest.FromString,
                response_serializer=tpb.VerifyCardResponse.SerializeToString,
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

    # -- lookups and searches ----------------------------------------------------------------

    async def _refuse(
        self,
        context: grpc.aio.ServicerContext,
        action: str,
        actor: Actor,
        refused: Violation,
        *,
        subject: str = "",
        detail: str = "",
    ) -> None:
        """Audit the refusal (durably), then send it."""
        event = AuditEvent(action, REFUSED, actor, reason=refused.code, subject_juminhyo_code=subject, detail=detail)
        try:
            await self._store.record_audit(event, asyncio.get_running_loop().create_future())
        except StoreError:
            await context.abort_with_status(store_unavailable_status())
        await context.abort_with_status(violation_status(refused))

    async def _admit(
        self, context: grpc.aio.ServicerContext, action: str, purpose_value: int
    ) -> tuple[Actor, str, bool]:
        """The operator's actor, the stated purpose and whether the 個人番号 may be shown; refuses
        (audited) a call over the rate limit or without a purpose."""
        session = current_session.get()
        assert session is not None  # the guard's session stage ran
        actor = terminal_actor(context, session.operator_id)
        if not self.rate_limit.allow(session.operator_id):
            await self._refuse(context, action, actor, violation("RATE_LIMITED", "request"))
        purpose = PURPOSES.get(purpose_value)
        if purpose is None:
            await self._refuse(context, action, actor, violation("PURPOSE_REQUIRED", "purpose"))
        assert purpose is not None
        return actor, purpose, discloses_number(session.role, purpose)

    async def Lookup(self, request: tpb.LookupRequest, context: grpc.aio.ServicerContext) -> bytes:  # noqa: N802
        action = SERVICE + "Lookup"
        actor, purpose, disclose = await self._admit(context, action, request.purpose)
        if not is_valid_juminhyo_code(request.juminhyo_code):
            await self._refuse(context, action, actor, violation("INVALID_JUMINHYO_CODE", "juminhyo_code"))
        command = LookupPerson(request.juminhyo_code, purpose, disclose, actor, action)
        return await self._reply(context, command)

    async def Search(self, request: tpb.SearchRequest, context: grpc.aio.ServicerContext) -> bytes:  # noqa: N802
        action = SERVICE + "Search"
        actor, purpose, disclose = await self._admit(context, action, request.purpose)
        criteria = criteria_of(request)
        if isinstance(criteria, Violation):
            await self._refuse(context, action, actor, criteria, detail=f"purpose={purpose}; items=")
        assert isinstance(criteria, SearchCriteria)
        keys = four_item_keys(criteria, municipality=self.municipality)
        way = search_way(criteria, keys)
        if isinstance(way, Violation):
            items = ",".join(criteria.items())
            await self._refuse(context, action, actor, way, detail=f"purpose={purpose}; items={items}")
        assert isinstance(way, str)
        command = SearchPersons(criteria, keys, way, purpose, disclose, actor, action, self.max_results)
        return await self._reply(context, command)

    async def _reply(self, context: grpc.aio.ServicerContext, command: LookupPerson | SearchPersons) -> bytes:
        """The reply's bytes as the writer encoded them (api/terminal_codec.py), once durable."""
        encoded = await self._write(context, command)
        assert isinstance(encoded, Encoded)
        if encoded.violation is not None:
            await context.abort_with_status(violation_status(encoded.violation))
        assert encoded.payload is not None
        return encoded.payload

    # -- the マイナンバーカード check ---------------------------------------------------------------

    async def BeginCardCheck(  # noqa: N802
        self, request: tpb.BeginCardCheckRequest, context: grpc.aio.ServicerContext
    ) -> tpb.BeginCardCheckResponse:
        """A one-time nonce for this session, audited like every terminal operation (operator,
        terminal, a reference of the nonce that VerifyCard's entry repeats) and answered only once
        that entry is durable; if it cannot be written, the nonce is withdrawn unused."""
        session = current_session.get()
        assert session is not None  # the guard's session stage ran
        nonce = self.nonces.issue(session.key)
        event = AuditEvent(
            SERVICE + "BeginCardCheck",
            OK,
            terminal_actor(context, session.operator_id),
            detail=f"nonce={nonce_ref(nonce)}; valid_s={int(self.nonces.ttl_s)}",
        )
        try:
            await self._store.record_audit(event, asyncio.get_running_loop().create_future())
        except StoreError:
            self.nonces.withdraw(nonce)
            await context.abort_with_status(store_unavailable_status())
        return tpb.BeginCardCheckResponse(nonce=nonce, valid_seconds=int(self.nonces.ttl_s))

    async def VerifyCard(  # noqa: N802
        self, request: tpb.VerifyCardRequest, context: grpc.aio.ServicerContext
    ) -> tpb.VerifyCardResponse:
        """The card's certificate, signature and nonce are checked here (refusals audited, with
        the card's code as subject once the certificate is the card CA's); the holder's record and
        the comparison are read in the writer with the verification's audit entry."""
        action = SERVICE + "VerifyCard"
        actor, purpose, disclose = await self._admit(context, action, request.purpose)
        session = current_session.get()
        assert session is not None
        if self.card_trust is None:
            await self._refuse(context, action, actor, violation("CARD_CHECK_UNAVAILABLE"))
        assert self.card_trust is not None
        detail = f"purpose={purpose}; nonce={nonce_ref(request.nonce)}"
        spent = self.nonces.spend(request.nonce, session.key)
        if spent is not None:
            await self._refuse(context, action, actor, violation(spent, "nonce"), detail=detail)
        holder = self.card_trust.check(request.certificate, request.nonce, request.signature)
        if not isinstance(holder, CardHolder):
            refused = violation(holder.reason, "certificate")
            await self._refuse(context, action, actor, refused, subject=holder.juminhyo_code, detail=detail)
        assert isinstance(holder, CardHolder)
        face = face_of(request.face)
        if isinstance(face, Violation):
            await self._refuse(context, action, actor, face, subject=holder.juminhyo_code, detail=detail)
        assert isinstance(face, FaceItems)
        command = VerifyCardHolder(
            holder.juminhyo_code,
            holder.serial,
            face,
            purpose,
            disclose,
            self._today(),
            actor,
            action,
            nonce_ref(request.nonce),
        )
        checked = await self._write(context, command)
        assert isinstance(checked, CardChecked)
        if checked.record is None:
            await context.abort_with_status(violation_status(violation(checked.reason, "certificate")))
        assert checked.record is not None
        return tpb.VerifyCardResponse(
            record=shown(checked.record, disclose),
            individual_number_masked=not disclose,
            comparison=[
                tpb.FieldComparison(field=c.field, card_value=c.card_value, cs_value=c.cs_value, match=c.match)
                for c in checked.comparison
            ],
        )


def face_of(face: tpb.CardFace) -> FaceItems | Violation:
    birth = None
    if face.HasField("birth_date"):
        d = face.birth_date
        parsed = parse_date(d.year, d.month, d.day, "face.birth_date")
        if isinstance(parsed, Violation):
            return parsed
        birth = parsed
    if len(face.name) > 200 or len(face.address) > 400:
        return violation("MALFORMED_REQUEST", "face")
    return FaceItems(face.name, face.address, birth, int(face.sex))


def criteria_of(request: tpb.SearchRequest) -> SearchCriteria | Violation:
    birth = None
    if request.HasField("birth_date"):
        d = request.birth_date
        parsed = parse_date(d.year, d.month, d.day, "birth_date")
        if isinstance(parsed, Violation):
            return parsed
        birth = parsed
    if request.sex not in (Sex.UNSPECIFIED, Sex.MALE, Sex.FEMALE):
        return violation("MALFORMED_REQUEST", "sex")
    return SearchCriteria(
        juminhyo_code=request.juminhyo_code,
        individual_number=request.individual_number,
        name=request.name,
        address=request.address,
        birth_date=birth,
        sex=Sex(request.sex) if request.sex else None,
    )
