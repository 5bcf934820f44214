"""cs-gateway-probe's options for the counter-terminal rows: a test operator needs its password
and TOTP secret (files or the environment), a card its PIN; a missing one is a usage error (exit
2) that never echoes a secret; the matrix runs the terminal rows after the login rows and
audit-flood last; the probe's TOTP codes are of successive steps, never one twice."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from clients import probe
from clients.probe_attacks import OperatorLogin, Probe
from clients.probe_matrix import ATTACKS
from clients.probe_terminal import TERMINAL_ATTACKS, fresh_code
from cs_gateway.security.operator_auth import TOTP_PERIOD_S, totp_step
from pki.dev_pki import DevPki

SECRET_PASSWORD = "very secret password 42"


def _usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as done:
        probe.main(argv)
    assert done.value.code == 2
    captured = capsys.readouterr()
    assert SECRET_PASSWORD not in captured.out + captured.err
    return captured.err


def test_an_operator_without_its_secrets_or_a_card_without_its_pin_is_a_usage_error(
    dev_pki: DevPki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--target", "127.0.0.1:1", "--pki", str(dev_pki.directory)]
    monkeypatch.delenv(probe.TOTP_ENV, raising=False)
    monkeypatch.setenv(probe.PASSWORD_ENV, SECRET_PASSWORD)
    assert probe.TOTP_ENV in _usage_error([*base, "--operator", "probe-operator"], capsys)
    monkeypatch.delenv(probe.PIN_ENV, raising=False)
    assert probe.PIN_ENV in _usage_error([*base, "--card", str(tmp_path / "x.card")], capsys)
    cert = dev_pki.cert_path("terminal")
    assert "go together" in _usage_error([*base, "--second-terminal-cert", str(cert)], capsys)


def test_the_terminal_rows_run_after_the_login_rows_and_audit_flood_stays_last() -> None:
    names = [a.name for a in ATTACKS]
    at = names.index("login-brute-force")
    assert names[at + 1 : at + 1 + len(TERMINAL_ATTACKS)] == [a.name for a in TERMINAL_ATTACKS]
    assert names[-1] == "audit-flood" and len(set(names)) == len(names)
    assert names.index("mass-lookup") < names.index("password-brute-force")  # the lock comes last


def test_fresh_codes_are_of_successive_steps_in_the_window(dev_pki: DevPki) -> None:
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    p = Probe(target="127.0.0.1:1", pki=dev_pki, trust_domain="t", operator=OperatorLogin("op", "pw", secret))
    codes = [fresh_code(p, wait=False) for _ in range(4)]
    at = time.time()
    steps = [totp_step(secret, c, at) if c else None for c in codes]
    assert None not in steps[:2]  # at least two codes, whatever the moment within the step
    found = [s for s in steps if s is not None]
    assert found == sorted(set(found)) and len(found) >= 2
    assert codes[3] is None  # the window (one step either side) holds three at most
    assert all(abs(s - int(at) // TOTP_PERIOD_S) <= 1 for s in found)
