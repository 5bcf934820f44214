"""Counter-terminal operators: enrolment by the admin CLI (audited, on the real store file), and
the login check run by the real writer process: argon2id hashes, a TOTP code accepted once only
(also after the store is closed and opened again), lockout after repeated failures and an audited
unlock, and one answer for an unknown operator, a wrong password and a wrong code."""

from __future__ import annotations

import re
import sqlite3
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from cs_gateway.app.operators import MAX_FAILED_LOGINS, CheckLogin, LoginAccepted, LoginRefused
from cs_gateway.audit.event import Actor
from cs_gateway.audit.keys import load_or_create_hmac_key
from cs_gateway.audit.local_ops import cs_certificates
from cs_gateway.audit.spec import AuditSpec
from cs_gateway.audit.trail import verify
from cs_gateway.cli import main
from cs_gateway.config import load_config
from cs_gateway.process import write_dev_config
from cs_gateway.security.operator_auth import TOTP_PERIOD_S, totp_code
from cs_gateway.server import command_registry
from cs_gateway.store.sqlite_store import SqliteStore
from pki.dev_pki import DevPki

PASSWORD = "correct horse battery"
TERMINAL = Actor(spiffe_id="spiffe://hirosaki.jukinet.test/terminal/t1", cert_fingerprint="ab" * 32, peer="t1")
T0 = 1_800_000_000.0  # a fixed moment (unix seconds), at the start of a TOTP step


def rows(path: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture
def config_path(tmp_path: Path, dev_pki: DevPki) -> Path:
    return write_dev_config(tmp_path / "gw.toml", pki_dir=dev_pki.directory, store_path=tmp_path / "cs.sqlite3")


def enrol(config_path: Path, operator_id: str, capsys: pytest.CaptureFixture[str], monkeypatch) -> str:  # noqa: ANN001
    """``cs-gateway operator add``; the TOTP secret from the provisioning URI it prints once."""
    monkeypatch.setattr("sys.stdin", _Lines(PASSWORD))
    code = main(["operator", "add", "--config", str(config_path), operator_id, "--role", "shokai", "--password-stdin"])
    out = capsys.readouterr().out
    assert code == 0, out
    uri = re.search(r"otpauth://\S+", out)
    assert uri is not None
    return parse_qs(urlparse(uri.group(0)).query)["secret"][0]


class _Lines:
    def __init__(self, *lines: str) -> None:
        self._lines = [line + "\n" for line in lines]

    def readline(self) -> str:
        return self._lines.pop(0)


def open_store(config_path: Path) -> SqliteStore:
    """The store as the gateway opens it: the same HMAC key as the admin CLI's entries."""
    config = load_config(config_path)
    spec = AuditSpec(
        hmac_key=load_or_create_hmac_key(config.audit.hmac_key, may_create=False), signing_key=None, signing_cert=None
    )
    return SqliteStore(config.store_path, audit=spec, registry=command_registry("022021"))


@pytest.fixture
def enrolled(config_path: Path, capsys, monkeypatch) -> Iterator[tuple[SqliteStore, str]]:  # noqa: ANN001
    secret = enrol(config_path, "sato", capsys, monkeypatch)
    store = open_store(config_path)
    yield store, secret
    store.close()


def login(store: SqliteStore, operator_id: str, password: str, code: str, at: float = T0) -> object:
    return store.submit(CheckLogin(operator_id, password, code, at, TERMINAL)).result(30)


def test_operator_add_stores_an_argon2id_hash_and_audits_without_the_password(config_path: Path, capsys, monkeypatch) -> None:  # noqa: ANN001, E501
    enrol(config_path, "sato", capsys, monkeypatch)
    store = load_config(config_path).store_path
    ((password_hash,),) = rows(store, "SELECT password_hash FROM operators WHERE operator_id = 'sato'")
    assert password_hash.startswith("$argon2id$") and PASSWORD not in password_hash
    ((action, operator_id, detail),) = rows(store, "SELECT action, operator_id, detail FROM audit_log")
    assert (action, operator_id, detail) == ("operator.add", "sato", "role=shokai")
    assert PASSWORD.encode() not in store.read_bytes()


def test_operator_add_refuses_a_short_password_and_a_duplicate(config_path: Path, capsys, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr("sys.stdin", _Lines("short"))
    args = ["operator", "add", "--config", str(config_path), "sato", "--role", "shokai", "--password-stdin"]
    assert main(args) == 1
    assert "at least 12" in capsys.readouterr().err
    enrol(config_path, "sato", capsys, monkeypatch)
    monkeypatch.setattr("sys.stdin", _Lines(PASSWORD))
    assert main(args) == 1
    assert "exists already" in capsys.readouterr().err


def test_login_with_password_and_current_totp_is_accepted_and_audited(enrolled: tuple[SqliteStore, str]) -> None:
    store, secret = enrolled
    accepted = login(store, "sato", PASSWORD, totp_code(secret, T0))
    assert isinstance(accepted, LoginAccepted) and accepted.role == "shokai"
    last = "SELECT action, outcome, operator_id, spiffe_id FROM audit_log ORDER BY seq DESC LIMIT 1"
    assert rows(store.path, last) == [("operator.login", "ok", "sato", TERMINAL.spiffe_id)]


def test_totp_code_is_accepted_once_only_also_across_a_restart(
    config_path: Path, enrolled: tuple[SqliteStore, str]
) -> None:
    store, secret = enrolled
    code = totp_code(secret, T0)
    assert isinstance(login(store, "sato", PASSWORD, code), LoginAccepted)
    assert login(store, "sato", PASSWORD, code, at=T0 + 5) == LoginRefused()  # replay, same step
    previous = totp_code(secret, T0 - TOTP_PERIOD_S)  # an older step of the window neither
    assert login(store, "sato", PASSWORD, previous, at=T0 + 5) == LoginRefused()
    store.close()
    reopened = open_store(config_path)  # a new writer process on the same file
    try:
        assert login(reopened, "sato", PASSWORD, code, at=T0 + 10) == LoginRefused()
        reasons = [r for (r,) in rows(reopened.path, "SELECT reason FROM audit_log WHERE outcome = 'refused'")]
        assert reasons == ["TOTP_REPLAYED"] * 3
        assert isinstance(login(reopened, "sato", PASSWORD, totp_code(secret, T0 + 30), at=T0 + 31), LoginAccepted)
    finally:
        reopened.close()


def test_no_account_oracle_same_answer_for_unknown_operator_wrong_password_and_wrong_code(
    enrolled: tuple[SqliteStore, str],
) -> None:
    store, secret = enrolled
    good = totp_code(secret, T0)
    wrong_code = f"{(int(good) + 1) % 1_000_000:06d}"
    answers = [
        login(store, "nobody", PASSWORD, good),
        login(store, "sato", "wrong password!!", good),
        login(store, "sato", PASSWORD, wrong_code),
    ]
    assert answers == [LoginRefused()] * 3
    reasons = [r for (r,) in rows(store.path, "SELECT reason FROM audit_log WHERE outcome = 'refused' ORDER BY seq")]
    assert reasons == ["UNKNOWN_OPERATOR", "WRONG_PASSWORD", "WRONG_CODE"]  # the auditor knows


def test_no_account_oracle_by_time_an_unknown_operator_costs_an_argon2_verify(
    enrolled: tuple[SqliteStore, str],
) -> None:
    store, _ = enrolled

    def timed(operator_id: str) -> float:
        start = time.perf_counter()
        login(store, operator_id, "wrong password!!", "000000")
        return time.perf_counter() - start

    timed("nobody")  # the dummy hash is made once, on first use
    known = statistics.median(timed("sato") for _ in range(3))
    unknown = statistics.median(timed(f"nobody{i}") for i in range(3))
    # argon2id (64 MiB) dominates both; without the dummy verify an unknown id would be ~100x faster
    assert unknown > known / 3, (known, unknown)


def test_lockout_after_repeated_failures_and_audited_unlock(
    config_path: Path, enrolled: tuple[SqliteStore, str], capsys  # noqa: ANN001
) -> None:
    store, secret = enrolled
    for i in range(MAX_FAILED_LOGINS):
        assert login(store, "sato", f"guess number {i}", totp_code(secret, T0)) == LoginRefused()
    good = totp_code(secret, T0 + 60)
    assert login(store, "sato", PASSWORD, good, at=T0 + 60) == LoginRefused()  # locked: right secrets too
    assert rows(store.path, "SELECT locked, failed_logins FROM operators") == [(1, MAX_FAILED_LOGINS)]
    assert rows(store.path, "SELECT reason FROM audit_log ORDER BY seq DESC LIMIT 1") == [("OPERATOR_LOCKED",)]
    assert main(["operator", "unlock", "--config", str(config_path), "sato"]) == 0
    assert "active" in capsys.readouterr().out
    unlock = rows(store.path, "SELECT action, operator_id, spiffe_id, detail FROM audit_log ORDER BY seq DESC LIMIT 1")
    assert unlock[0][:2] == ("operator.unlock", "sato") and unlock[0][2].startswith("local:")
    assert unlock[0][3] == f"after {MAX_FAILED_LOGINS} failed logins"
    later = totp_code(secret, T0 + 90)
    assert isinstance(login(store, "sato", PASSWORD, later, at=T0 + 90), LoginAccepted)


def test_disabled_operator_is_refused_and_reset_replaces_password_and_totp(
    config_path: Path, enrolled: tuple[SqliteStore, str], capsys, monkeypatch  # noqa: ANN001
) -> None:
    store, secret = enrolled
    assert main(["operator", "disable", "--config", str(config_path), "sato"]) == 0
    assert login(store, "sato", PASSWORD, totp_code(secret, T0)) == LoginRefused()
    monkeypatch.setattr("sys.stdin", _Lines("a brand new password"))
    assert main(["operator", "reset", "--config", str(config_path), "sato", "--password-stdin"]) == 0
    new_secret = parse_qs(urlparse(re.search(r"otpauth://\S+", capsys.readouterr().out).group(0)).query)["secret"][0]
    assert new_secret != secret


def test_operator_list_shows_state_never_secrets_and_the_trail_verifies(
    config_path: Path, enrolled: tuple[SqliteStore, str], capsys  # noqa: ANN001
) -> None:
    store, secret = enrolled
    capsys.readouterr()
    assert main(["operator", "list", "--config", str(config_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("sato\tshokai\tactive") and secret not in out and "argon2" not in out
    store.close()
    conn = sqlite3.connect(store.path)
    try:
        report = verify(conn, cs_certificates(load_config(config_path)))
    finally:
        conn.close()
    assert report.ok, report.describe()
