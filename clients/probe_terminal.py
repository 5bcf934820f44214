"""The counter-terminal attacks of ``cs-gateway-probe`` (issue 12): what a stolen terminal, a
shoulder-surfed code or a curious operator would try against the TerminalService.

Most need a test operator (``--operator`` with its password and TOTP secret, from files or the
environment, never printed) and the card attacks an emulated card file with its PIN; without
them a row is SKIPped with the reason, never passed. Every row says what it expected and what it
observed (gRPC status + ErrorInfo reason) and FAILs if the gateway accepts.

The probe's logins use codes of successive TOTP steps (a code is accepted once only): two in a
full run, a third for the lock check; the window (one step either side) holds three, so nothing
waits. Do not log
the test operator in elsewhere during the 90 s before a run. ``password-brute-force`` runs last
of them: it leaves the test operator locked (``cs-gateway operator unlock ID``).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence

import grpc
import pyotp
from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from clients.card_client import card_request
from clients.probe_attacks import (
    FAIL,
    LOGIN_FAILED,
    PASS,
    SESSION_METADATA,
    SESSION_REQUIRED,
    SKIP,
    TERMINAL,
    Attack,
    Credential,
    GuardCall,
    Outcome,
    Probe,
    Reply,
    _reply_of,
    _short,
    leak_in,
    skip,
)
from cs_gateway.domain.check_digit import make_juminhyo_code
from cs_gateway.gen.jukinet.cs.v1 import identity_pb2 as pb
from cs_gateway.gen.jukinet.cs.v1 import terminal_service_pb2 as tpb
from cs_gateway.security.operator_auth import TOTP_DIGITS, TOTP_PERIOD_S, TOTP_WINDOW
from pki.card import CardError
from pki.dev_pki import parse_spiffe_id

LOGIN = TERMINAL + "Login"
LOOKUP = TERMINAL + "Lookup"
SEARCH = TERMINAL + "Search"
BEGIN_CARD_CHECK = TERMINAL + "BeginCardCheck"
VERIFY_CARD = TERMINAL + "VerifyCard"
RATE_LIMITED = "RATE_LIMITED"
SEARCH_NEEDS_TWO_ITEMS = "SEARCH_NEEDS_TWO_ITEMS"
SEARCH_NEEDS_NAME = "SEARCH_NEEDS_NAME"
CARD_SIGNATURE_REPLAYED = "CARD_SIGNATURE_REPLAYED"
CARD_NONCE_OTHER_SESSION = "CARD_NONCE_OTHER_SESSION"
CARD_CHECK_UNAVAILABLE = "CARD_CHECK_UNAVAILABLE"
BRUTE_FORCE_GUESSES = 6  # over the gateway's lockout (5 failed logins)
CONFIRM_AFTER_LIMIT = 3  # calls after the first RATE_LIMITED that must be refused too

NEEDS_OPERATOR = "needs a test operator: --operator ID with its password and TOTP secret (file or env)"
NEEDS_CARD = "needs a card file and its PIN: --card FILE with --card-pin-file or CS_PROBE_CARD_PIN"
# A 住民票コード that fails its format check: a Lookup that got past a broken session check is
# answered INVALID_ARGUMENT by the service and reads nothing.
MALFORMED_LOOKUP = tpb.LookupRequest(juminhyo_code="probe", purpose=tpb.PURPOSE_IDENTITY_CHECK)

_SESSION_KEY, _STEP_KEY, _NONCE_KEY = "terminal.session", "terminal.totp_step", "terminal.foreign_nonce"


# ---------------------------------------------------------------- calls with an answer


def call(
    probe: Probe,
    credential: Credential,
    method: str,
    request: object,
    response_type: type,
    token: str | None = None,
) -> tuple[Reply, object | None]:
    """One unary TerminalService call; the reply as the probe judges it and the decoded answer."""
    channel = probe.channel(credential)
    metadata = [(SESSION_METADATA, token)] if token else None
    try:
        stub = channel.unary_unary(
            method,
            request_serializer=lambda m: m.SerializeToString(),  # type: ignore[attr-defined]
            response_deserializer=response_type.FromString,  # type: ignore[attr-defined]
        )
        answer = stub(request, timeout=probe.timeout, metadata=metadata)
        return Reply(grpc.StatusCode.OK, responses=1), answer
    except grpc.RpcError as err:
        return _reply_of(err), None
    finally:
        channel.close()


def begin_card_check(probe: Probe, credential: Credential, token: str) -> tuple[Reply, object | None]:
    return call(probe, credential, BEGIN_CARD_CHECK, tpb.BeginCardCheckRequest(), tpb.BeginCardCheckResponse, token)


def _step_code(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD_S).generate_otp(step)


def fresh_code(probe: Probe, *, wait: bool = True) -> str | None:
    """The code of the oldest TOTP step in the gateway's window that this probe has not used yet
    (waits for the next step when all are used, unless ``wait`` is False: then None)."""
    assert probe.operator is not None
    last = int(probe.state.get(_STEP_KEY, -1))  # type: ignore[call-overload]
    while True:
        now = time.time()
        current = int(now) // TOTP_PERIOD_S
        oldest = current - TOTP_WINDOW
        if now % TOTP_PERIOD_S > TOTP_PERIOD_S - 2:  # the step may end before the gateway reads it
            oldest += 1
        step = max(oldest, last + 1)
        if step <= current + TOTP_WINDOW:
            probe.state[_STEP_KEY] = step
            return _step_code(probe.operator.totp_secret, step)
        if not wait:
            return None
        time.sleep(TOTP_PERIOD_S - now % TOTP_PERIOD_S + 0.05)


def login(probe: Probe, code: str, *, password: str | None = None, operator_id: str | None = None) -> tuple[Reply, str]:
    """A Login over the terminal role's certificate; (reply, session token or "")."""
    assert probe.operator is not None
    request = tpb.LoginRequest(
        operator_id=probe.operator.operator_id if operator_id is None else operator_id,
        password=probe.operator.password if password is None else password,
        totp_code=code,
    )
    reply, answer = call(probe, probe.role("terminal"), LOGIN, request, tpb.LoginResponse)
    return reply, answer.session_token if isinstance(answer, tpb.LoginResponse) else ""


def session(probe: Probe) -> tuple[str, str]:
    """The probe's operator session (opened with a fresh code when there is none): (token, why not)."""
    token = probe.state.get(_SESSION_KEY)
    if isinstance(token, str) and token:
        return token, ""
    code = fresh_code(probe)
    assert code is not None
    reply, token = login(probe, code)
    if not token:
        return "", f"the test operator could not log in ({reply.observed}): check its credentials and lock"
    probe.state[_SESSION_KEY] = token
    return token, ""


def _terminal_session(probe: Probe, attack: str, expected: str) -> tuple[Credential, str] | Outcome:
    """The terminal's credential and the operator's session, or the FAIL outcome saying why not."""
    terminal = probe.role("terminal")
    token, why = session(probe)
    if not token:
        return Outcome(attack, expected, "-", FAIL, why, fingerprints=[terminal.fingerprint])
    return terminal, token


def _ended(probe: Probe) -> None:
    """The probe's session is gone (another login of the operator, or the gateway ended it)."""
    probe.state.pop(_SESSION_KEY, None)


def _refusal(
    attack: str, expected: str, reply: Reply, code: grpc.StatusCode, reason: str, credential: Credential
) -> Outcome:
    """The one expected refusal (status and reason), with nothing revealed."""
    outcome = Outcome(attack, expected, reply.observed, FAIL, fingerprints=[credential.fingerprint])
    if reply.code == grpc.StatusCode.OK:
        outcome.note = "accepted"
    elif reply.code != code or reply.reason != reason:
        outcome.note = f"not the expected refusal: {_short(reply.details)}"
    elif leak := leak_in(reply):
        outcome.note = leak
    else:
        outcome.verdict = PASS
    return outcome


def _host_of(credential: Credential) -> str:
    cert = x509.load_pem_x509_certificates(credential.chain_pem)[0]
    san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    uri = san.get_values_for_type(x509.UniformResourceIdentifier)[0]  # type: ignore[attr-defined]
    return parse_spiffe_id(uri)[2]


# ---------------------------------------------------------------- the attacks

TOTP_REPLAY_EXPECTED = f"UNAUTHENTICATED {LOGIN_FAILED} on the replay"
STOLEN_EXPECTED = f"UNAUTHENTICATED {SESSION_REQUIRED}; the session ends"
ONE_ITEM_EXPECTED = f"INVALID_ARGUMENT {SEARCH_NEEDS_TWO_ITEMS} x3, {SEARCH_NEEDS_NAME}"
CARD_REPLAY_EXPECTED = f"FAILED_PRECONDITION {CARD_SIGNATURE_REPLAYED}"
OTHER_SESSION_EXPECTED = f"FAILED_PRECONDITION {CARD_NONCE_OTHER_SESSION}"
MASS_EXPECTED = f"RESOURCE_EXHAUSTED {RATE_LIMITED}, and stays so"
BRUTE_EXPECTED = f"UNAUTHENTICATED {LOGIN_FAILED}, one answer; then locked"


def totp_replay(probe: Probe) -> Outcome:
    """A code seen over the operator's shoulder, sent again right after the operator's own login:
    refused with the one LOGIN_FAILED answer (the same body as an unknown operator's)."""
    attack = "totp-replay"
    if probe.operator is None:
        return skip(attack, TOTP_REPLAY_EXPECTED, NEEDS_OPERATOR)
    terminal = probe.role("terminal")
    code = fresh_code(probe)
    assert code is not None
    first, token = login(probe, code)
    if not token:
        return Outcome(
            attack, TOTP_REPLAY_EXPECTED, first.observed, FAIL,
            "the test operator's first login (a fresh code) failed: check its credentials and lock",
            fingerprints=[terminal.fingerprint],
        )  # fmt: skip
    probe.state[_SESSION_KEY] = token  # a live session: the later attacks use it
    replay, replayed_token = login(probe, code)
    if replayed_token:
        probe.state[_SESSION_KEY] = replayed_token  # the first one ended (one session per operator)
    outcome = _refusal(attack, TOTP_REPLAY_EXPECTED, replay, grpc.StatusCode.UNAUTHENTICATED, LOGIN_FAILED, terminal)
    if replayed_token:
        outcome.note = "the same code logged in twice"
        return outcome
    if outcome.verdict == PASS:
        unknown, _ = login(probe, "000000", operator_id=f"probe-nobody-{secrets.token_hex(3)}", password="x" * 16)
        if unknown.body != replay.body:
            outcome.verdict, outcome.note = FAIL, "a replayed code is answered unlike an unknown operator (an oracle)"
        else:
            outcome.note = "code accepted once; the replay refused like an unknown operator"
    return outcome


def stolen_token(probe: Probe) -> Outcome:
    """The operator's session token sent over another terminal certificate (a re-issue for the
    same host unless ``--second-terminal-cert`` is given): refused SESSION_REQUIRED, and the
    session ends - the token is then refused over its own certificate too."""
    attack = "stolen-token"
    if probe.operator is None:
        return skip(attack, STOLEN_EXPECTED, NEEDS_OPERATOR)
    terminal = probe.role("terminal")
    thief = probe.second_terminal or probe.issue(attack, "terminal", _host_of(terminal))
    fingerprints = [terminal.fingerprint, thief.fingerprint]
    if thief.fingerprint == terminal.fingerprint:
        return Outcome(attack, STOLEN_EXPECTED, "-", SKIP, "the second terminal certificate is the first one")
    token, why = session(probe)  # totp-replay's session, if it ran
    if not token:
        return Outcome(attack, STOLEN_EXPECTED, "-", FAIL, why, fingerprints=fingerprints)
    _ended(probe)  # whatever happens next, the probe does not use this token again
    control, answer = begin_card_check(probe, terminal, token)
    if not isinstance(answer, tpb.BeginCardCheckResponse):
        return Outcome(attack, STOLEN_EXPECTED, control.observed, FAIL, "the fresh session was not served",
                       fingerprints=fingerprints)  # fmt: skip
    probe.state[_NONCE_KEY] = answer.nonce  # a nonce of this session, for card-other-session
    stolen, _ = call(probe, thief, LOOKUP, MALFORMED_LOOKUP, tpb.LookupResponse, token)
    after, _ = begin_card_check(probe, terminal, token)
    outcome = Outcome(attack, STOLEN_EXPECTED, f"{stolen.observed} / {after.observed}", FAIL, fingerprints=fingerprints)
    if stolen.code != grpc.StatusCode.UNAUTHENTICATED or stolen.reason != SESSION_REQUIRED:
        outcome.note = f"the token was taken over another certificate: {_short(stolen.details) or 'served'}"
        return outcome
    outcome.guard_calls = [GuardCall(LOOKUP, thief.fingerprint, "session:other-certificate")]
    if after.code != grpc.StatusCode.UNAUTHENTICATED or after.reason != SESSION_REQUIRED:
        outcome.note = "the session survived its theft (still served over its own certificate)"
        return outcome
    outcome.guard_calls.append(GuardCall(BEGIN_CARD_CHECK, terminal.fingerprint, "session:unknown"))
    if stolen.body != after.body:
        outcome.note = "the theft is answered unlike an unknown token"
    elif leak := leak_in(stolen):
        outcome.note = leak
    else:
        outcome.verdict, outcome.note = PASS, "refused over the other certificate, and the session ended"
    return outcome


def one_item_search(probe: Probe) -> Outcome:
    """4情報 searches outside the seed's combinations (氏名 + 住所, 氏名 + 生年月日), each refused
    with its reason: 氏名 + 性別 (性別 never counts), 生年月日 alone, 生年月日 + 性別 beside a 住所 that
    normalises to nothing ("-": no second item), 住所 + 生年月日 without a 氏名, and 氏名 beside a 住所
    that names only the municipality (``--municipality-name``: every resident lives there)."""
    attack = "one-item-search"
    if probe.operator is None:
        return skip(attack, ONE_ITEM_EXPECTED, NEEDS_OPERATOR)
    opened = _terminal_session(probe, attack, ONE_ITEM_EXPECTED)
    if isinstance(opened, Outcome):
        return opened
    terminal, token = opened
    birth = pb.Date(year=1985, month=5, day=14)
    purpose = tpb.PURPOSE_IDENTITY_CHECK
    searches = (
        ("氏名+性別", tpb.SearchRequest(purpose=purpose, name="山田 太郎", sex=pb.SEX_MALE), SEARCH_NEEDS_TWO_ITEMS),
        ("生年月日", tpb.SearchRequest(purpose=purpose, birth_date=birth), SEARCH_NEEDS_TWO_ITEMS),
        (
            "住所'-'+生年月日+性別",
            tpb.SearchRequest(purpose=purpose, address="-", birth_date=birth, sex=pb.SEX_MALE),
            SEARCH_NEEDS_TWO_ITEMS,
        ),
        ("住所+生年月日", tpb.SearchRequest(purpose=purpose, address="弘前市", birth_date=birth), SEARCH_NEEDS_NAME),
        (
            "氏名+住所(市区町村名のみ)",
            tpb.SearchRequest(purpose=purpose, name="山田 太郎", address=probe.municipality_name),
            SEARCH_NEEDS_TWO_ITEMS,
        ),
    )
    parts = []
    for label, request, reason in searches:
        reply, _ = call(probe, terminal, SEARCH, request, tpb.SearchResponse, token)
        part = _refusal(attack, ONE_ITEM_EXPECTED, reply, grpc.StatusCode.INVALID_ARGUMENT, reason, terminal)
        part.note = f"{label}: {part.note}" if part.verdict == FAIL else part.note
        parts.append(part)
    failed = [p for p in parts if p.verdict == FAIL]
    observed = ", ".join(dict.fromkeys(p.observed for p in parts))
    refused = "氏名+性別, 生年月日 alone, 住所 '-', 住所+生年月日, 氏名+住所 of the municipality only refused"
    note = "; ".join(p.note for p in failed) if failed else refused
    return Outcome(attack, ONE_ITEM_EXPECTED, observed, FAIL if failed else PASS, note,
                   fingerprints=[terminal.fingerprint])  # fmt: skip


def _card_call(probe: Probe, nonce: bytes) -> tuple[tpb.VerifyCardRequest | None, str]:
    assert probe.card is not None
    try:
        return card_request(probe.card.path, probe.card.pin, nonce, tpb.PURPOSE_IDENTITY_CHECK), ""
    except CardError as err:
        return None, f"the card did not sign: {type(err).__name__}"
    except OSError as err:
        return None, f"the card file cannot be read: {err.strerror or err}"


def card_replay(probe: Probe) -> Outcome:
    """A card's signature over a nonce, sent a second time: refused CARD_SIGNATURE_REPLAYED."""
    attack = "card-replay"
    if probe.operator is None:
        return skip(attack, CARD_REPLAY_EXPECTED, NEEDS_OPERATOR)
    if probe.card is None:
        return skip(attack, CARD_REPLAY_EXPECTED, NEEDS_CARD)
    opened = _terminal_session(probe, attack, CARD_REPLAY_EXPECTED)
    if isinstance(opened, Outcome):
        return opened
    terminal, token = opened
    begun, answer = begin_card_check(probe, terminal, token)
    if not isinstance(answer, tpb.BeginCardCheckResponse):
        return Outcome(attack, CARD_REPLAY_EXPECTED, begun.observed, FAIL, "no nonce for the session",
                       fingerprints=[terminal.fingerprint])  # fmt: skip
    request, why = _card_call(probe, answer.nonce)
    if request is None:
        return skip(attack, CARD_REPLAY_EXPECTED, why)
    first, _ = call(probe, terminal, VERIFY_CARD, request, tpb.VerifyCardResponse, token)
    if first.reason == CARD_CHECK_UNAVAILABLE:
        return skip(attack, CARD_REPLAY_EXPECTED, "the gateway has no card check configured ([card])")
    replay, _ = call(probe, terminal, VERIFY_CARD, request, tpb.VerifyCardResponse, token)
    outcome = _refusal(
        attack, CARD_REPLAY_EXPECTED, replay, grpc.StatusCode.FAILED_PRECONDITION, CARD_SIGNATURE_REPLAYED, terminal
    )
    if outcome.verdict == PASS:
        outcome.note = f"first answer {first.observed}; the same signature again refused"
    return outcome


def card_other_session(probe: Probe) -> Outcome:
    """A nonce given to another operator session, signed by the card and sent in this one:
    refused CARD_NONCE_OTHER_SESSION (the nonce of stolen-token's session, if that ran)."""
    attack = "card-other-session"
    if probe.operator is None:
        return skip(attack, OTHER_SESSION_EXPECTED, NEEDS_OPERATOR)
    if probe.card is None:
        return skip(attack, OTHER_SESSION_EXPECTED, NEEDS_CARD)
    terminal = probe.role("terminal")
    nonce = probe.state.pop(_NONCE_KEY, None)
    if not isinstance(nonce, bytes):  # run alone: a session of its own gives the nonce
        _ended(probe)
        other, why = session(probe)
        if not other:
            return Outcome(attack, OTHER_SESSION_EXPECTED, "-", FAIL, why, fingerprints=[terminal.fingerprint])
        _, answer = begin_card_check(probe, terminal, other)
        nonce = answer.nonce if isinstance(answer, tpb.BeginCardCheckResponse) else b""
        _ended(probe)  # the next login ends that session; its nonce stays its own
    token, why = session(probe)
    if not token:
        return Outcome(attack, OTHER_SESSION_EXPECTED, "-", FAIL, why, fingerprints=[terminal.fingerprint])
    request, why = _card_call(probe, nonce)
    if request is None:
        return skip(attack, OTHER_SESSION_EXPECTED, why)
    reply, _ = call(probe, terminal, VERIFY_CARD, request, tpb.VerifyCardResponse, token)
    if reply.reason == CARD_CHECK_UNAVAILABLE:
        return skip(attack, OTHER_SESSION_EXPECTED, "the gateway has no card check configured ([card])")
    outcome = _refusal(
        attack, OTHER_SESSION_EXPECTED, reply, grpc.StatusCode.FAILED_PRECONDITION, CARD_NONCE_OTHER_SESSION, terminal
    )
    if outcome.verdict == PASS:
        outcome.note = "a validly signed nonce of another session refused"
    return outcome


def _random_code() -> str:
    return make_juminhyo_code(f"{secrets.randbelow(10**10):010d}")


def mass_lookup(probe: Probe) -> Outcome:
    """Bulk extraction through the counter: lookup after lookup of 住民票コード until the gateway's
    per-operator limit refuses (RESOURCE_EXHAUSTED / RATE_LIMITED) and keeps refusing. FAILs if
    ``--mass-lookups`` go through. Leaves the operator rate-limited for the gateway's minute."""
    attack = "mass-lookup"
    if probe.operator is None:
        return skip(attack, MASS_EXPECTED, NEEDS_OPERATOR)
    opened = _terminal_session(probe, attack, MASS_EXPECTED)
    if isinstance(opened, Outcome):
        return opened
    terminal, token = opened
    outcome = Outcome(attack, MASS_EXPECTED, "-", FAIL, fingerprints=[terminal.fingerprint])
    limited_at: int | None = None
    replies: list[Reply] = []
    for n in range(probe.mass_lookups):
        request = tpb.LookupRequest(juminhyo_code=_random_code(), purpose=tpb.PURPOSE_IDENTITY_CHECK)
        reply, _ = call(probe, terminal, LOOKUP, request, tpb.LookupResponse, token)
        replies.append(reply)
        if reply.code == grpc.StatusCode.UNAUTHENTICATED:
            _ended(probe)
            outcome.observed, outcome.note = reply.observed, f"the session ended after {n} lookups"
            return outcome
        if reply.reason == RATE_LIMITED and limited_at is None:
            limited_at = n
        if limited_at is not None and n >= limited_at + CONFIRM_AFTER_LIMIT:
            break
    if limited_at is None:
        outcome.observed = ", ".join(sorted({r.observed for r in replies}))
        outcome.note = f"{len(replies)} lookups in a row, none refused: bulk extraction is possible"
        return outcome
    after = replies[limited_at:]
    outcome.observed = f"{after[0].observed} after {limited_at}"
    if any(r.reason != RATE_LIMITED or r.code != grpc.StatusCode.RESOURCE_EXHAUSTED for r in after):
        outcome.note = "a lookup after the first refusal was served again"
    elif leak := leak_in(after[0]):
        outcome.note = leak
    else:
        outcome.verdict = PASS
        outcome.note = f"refused after {limited_at} lookups (the operator's minute), and each one after"
    return outcome


def password_brute_force(probe: Probe) -> Outcome:
    """Password guesses at the test operator's own id: one LOGIN_FAILED answer for all, the account
    locks, and then even the right password with a valid code is refused (the same answer).
    Leaves the test operator locked (``cs-gateway operator unlock ID``, audited)."""
    attack = "password-brute-force"
    if probe.operator is None:
        return skip(attack, BRUTE_EXPECTED, NEEDS_OPERATOR)
    terminal = probe.role("terminal")
    _ended(probe)
    guesses = [login(probe, "000000", password=f"probe-guess-{i}-{secrets.token_hex(4)}")[0]
               for i in range(BRUTE_FORCE_GUESSES)]  # fmt: skip
    code = fresh_code(probe, wait=False)
    fresh = code is not None
    if code is None:  # every step of the window was used by this run: the trail tells "locked" from "replayed"
        code = _step_code(probe.operator.totp_secret, int(time.time()) // TOTP_PERIOD_S)
    right, token = login(probe, code)
    replies: Sequence[Reply] = [*guesses, right]
    outcome = Outcome(attack, BRUTE_EXPECTED, right.observed, FAIL, fingerprints=[terminal.fingerprint])
    if token:
        probe.state[_SESSION_KEY] = token
        outcome.note = f"not locked: the right password logged in after {BRUTE_FORCE_GUESSES} wrong ones"
    elif any(r.code != grpc.StatusCode.UNAUTHENTICATED or r.reason != LOGIN_FAILED for r in replies):
        outcome.note = "an attempt was answered otherwise"
    elif len({r.body for r in replies}) != 1:
        outcome.note = "the answers differ: an account oracle"
    else:
        outcome.verdict = PASS
        outcome.note = (
            f"{BRUTE_FORCE_GUESSES} guesses, then the right password and a {'fresh' if fresh else 'valid'} code "
            f"refused alike; {probe.operator.operator_id} is now locked (cs-gateway operator unlock)"
        )
    return outcome


# In this order (after terminal-no-session and login-brute-force): each login ends the operator's
# earlier session; mass-lookup leaves it rate-limited and password-brute-force locked.
TERMINAL_ATTACKS: tuple[Attack, ...] = (
    Attack("totp-replay", totp_replay, TOTP_REPLAY_EXPECTED),
    Attack("stolen-token", stolen_token, STOLEN_EXPECTED),
    Attack("one-item-search", one_item_search, ONE_ITEM_EXPECTED),
    Attack("card-replay", card_replay, CARD_REPLAY_EXPECTED),
    Attack("card-other-session", card_other_session, OTHER_SESSION_EXPECTED),
    Attack("mass-lookup", mass_lookup, MASS_EXPECTED),
    Attack("password-brute-force", password_brute_force, BRUTE_EXPECTED),
)
__all__ = ["SKIP", "TERMINAL_ATTACKS", "call", "fresh_code", "login", "session"]
