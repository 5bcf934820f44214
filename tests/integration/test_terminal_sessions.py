"""TerminalService Login / Logout and the guard's operator-session stage, over real mTLS against
the in-process gateway (loopback port 0, real SQLite, the real writer process): the token is
bound to its certificate, ends on Logout, after the idle timeout and after its lifetime; every
failed login gets one answer; a terminal RPC without a session is refused and audited."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from cs_gateway.gen.jukinet.cs.v1 import terminal_service_pb2 as tpb
from cs_gateway.gen.jukinet.cs.v1 import terminal_service_pb2_grpc as tgrpc
from cs_gateway.security.operator_auth import totp_code
from pki.dev_pki import DevPki
from tests.grpc_helpers import error_info
from tests.terminal_support import PASSWORD, Counter, counter_gateway, session

OPERATORS = ("sato", "suzuki", "tanaka", "ito", "kato", "yamada")


@pytest.fixture
def counter(tmp_path: Path, dev_pki: DevPki) -> Iterator[Counter]:
    with counter_gateway(tmp_path, dev_pki, dict.fromkeys(OPERATORS, "shokai")) as running:
        yield running


def logout(stub: tgrpc.TerminalServiceStub, token: str) -> str:
    """Logout with ``token``: the refusal's reason code ("" if it was accepted)."""
    try:
        stub.Logout(tpb.LogoutRequest(), metadata=session(token), timeout=30)
    except grpc.RpcError as err:
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED
        return error_info(err).reason
    return ""


def refused(call) -> tuple[grpc.StatusCode, str]:  # noqa: ANN001
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value.code(), error_info(caught.value).reason


def test_login_opens_a_session_and_logout_ends_it(counter: Counter) -> None:
    answer = counter.login("sato")
    assert answer.session_token and answer.operator_role == "shokai"
    assert answer.idle_timeout_seconds == 300  # the default: 5 minutes
    stub = counter.stub()
    stub.Logout(tpb.LogoutRequest(), metadata=session(answer.session_token), timeout=30)
    assert refused(lambda: stub.Logout(tpb.LogoutRequest(), metadata=session(answer.session_token), timeout=30)) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "SESSION_REQUIRED",
    )
    rows = counter.audit("SELECT action, outcome, operator_id, terminal_id, reason FROM audit_log ORDER BY seq")
    assert rows[-3:] == [
        ("operator.login", "ok", "sato", "terminal-01", ""),
        ("/jukinet.cs.v1.TerminalService/Logout", "ok", "sato", "terminal-01", ""),
        ("/jukinet.cs.v1.TerminalService/Logout", "denied", "", "", "session:unknown"),
    ]


def test_a_terminal_rpc_without_a_session_is_refused_and_audited(counter: Counter) -> None:
    assert refused(lambda: counter.stub().Logout(tpb.LogoutRequest(), timeout=30)) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "SESSION_REQUIRED",
    )
    assert counter.audit("SELECT outcome, reason FROM audit_log ORDER BY seq DESC LIMIT 1") == [
        ("denied", "session:missing")
    ]


def test_token_bound_to_its_certificate_is_refused_over_another_and_ends(counter: Counter, dev_pki: DevPki) -> None:
    token = counter.login("suzuki").session_token
    # another valid terminal certificate (same role and host, another key): a stolen token
    other = dev_pki.load_ca().issue("terminal", "terminal-01", trust_domain=dev_pki.trust_domain)
    thief = counter.stub(other)
    assert refused(lambda: thief.Logout(tpb.LogoutRequest(), metadata=session(token), timeout=30)) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "SESSION_REQUIRED",
    )
    assert counter.audit("SELECT reason FROM audit_log ORDER BY seq DESC LIMIT 1") == [("session:other-certificate",)]
    # the session ended: not even its own terminal may use it now
    own = counter.stub()
    assert logout(own, token) == "SESSION_REQUIRED"


def test_idle_timeout_and_absolute_lifetime_end_a_session(counter: Counter) -> None:
    sessions = counter.gw.running.guard.sessions
    now = [1000.0]
    sessions.clock = lambda: now[0]
    stub = counter.stub()
    idle = counter.login("tanaka").session_token
    now[0] += sessions.idle_timeout_s - 1
    lifetime = counter.login("ito").session_token
    now[0] += sessions.idle_timeout_s  # tanaka idle for 2x the timeout - 1; ito for the timeout
    assert logout(stub, idle) == "SESSION_REQUIRED"
    assert counter.audit("SELECT reason FROM audit_log ORDER BY seq DESC LIMIT 1") == [("session:idle-expired",)]
    # a session kept busy (used just before each idle timeout) still ends at its lifetime
    kept = counter.login("kato").session_token
    terminal = x509.load_pem_x509_certificate(counter.gw.pki.cert_path("terminal").read_bytes())
    fingerprint = terminal.fingerprint(hashes.SHA256()).hex()  # what the guard checks the token against
    start = now[0]
    while now[0] - start < sessions.lifetime_s - sessions.idle_timeout_s:
        now[0] += sessions.idle_timeout_s - 1
        assert not isinstance(sessions.check(kept, fingerprint, frozenset({"shokai"})), str)
    now[0] += sessions.idle_timeout_s - 1
    assert logout(stub, kept) == "SESSION_REQUIRED"
    assert counter.audit("SELECT reason FROM audit_log ORDER BY seq DESC LIMIT 1") == [("session:expired",)]
    assert lifetime  # (ito's session: idle-expired as well; not used again)


def test_no_account_oracle_over_the_wire_one_answer_for_every_failed_login(counter: Counter) -> None:
    good = totp_code(counter.secrets["yamada"], time.time())
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    answers = []
    for operator_id, how in (
        ("nobody", {}),
        ("yamada", {"password": "not the password"}),
        ("yamada", {"code": wrong}),
    ):
        with pytest.raises(grpc.RpcError) as caught:
            counter.login(operator_id, **how)
        answers.append((caught.value.code(), caught.value.details(), error_info(caught.value).reason))
    assert answers == [(grpc.StatusCode.UNAUTHENTICATED, answers[0][1], "LOGIN_FAILED")] * 3


def test_totp_replay_over_the_wire_is_refused(counter: Counter) -> None:
    code = totp_code(counter.secrets["sato"], time.time())
    counter.login("sato", code=code)
    assert refused(lambda: counter.login("sato", code=code)) == (grpc.StatusCode.UNAUTHENTICATED, "LOGIN_FAILED")


def test_only_terminals_may_log_in(counter: Counter) -> None:
    stub = tgrpc.TerminalServiceStub(counter.gw.channel("kizon-juki"))
    request = tpb.LoginRequest(operator_id="sato", password=PASSWORD, totp_code="000000")
    assert refused(lambda: stub.Login(request, timeout=30)) == (grpc.StatusCode.PERMISSION_DENIED, "ACCESS_DENIED")
