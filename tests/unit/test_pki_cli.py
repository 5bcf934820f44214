"""pki.cli: the issue/revoke/crl/rotate subcommands, through cs-gateway's command line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509

from cs_gateway.cli import main
from pki.cli import REASONS
from pki.crl import load_revocations
from pki.dev_pki import DevPki, init_dev_pki


def _run(*argv: str) -> int:
    return main(["pki", *argv])


@pytest.fixture
def pki(tmp_path: Path) -> DevPki:
    return init_dev_pki(tmp_path / "dev")


def test_issue_revoke_crl_rotate_round_trip(pki: DevPki, capsys: pytest.CaptureFixture[str]) -> None:
    d = str(pki.directory)
    assert _run("issue", d, "terminal", "terminal-02", "--days", "30") == 0
    assert "terminal-02.crt" in capsys.readouterr().out
    serial = x509.load_pem_x509_certificate((pki.directory / "terminal-02.crt").read_bytes()).serial_number

    assert _run("revoke", d, str(pki.directory / "terminal-02.crt"), "--reason", "key-compromise") == 0
    assert load_revocations(pki.directory)[serial].reason == x509.ReasonFlags.key_compromise
    cs_serial = x509.load_pem_x509_certificate(pki.cert_path("cs").read_bytes()).serial_number
    assert _run("revoke", d, format(cs_serial, "X"), "--next-update-days", "2") == 0
    crl = x509.load_pem_x509_crl(pki.crl_path.read_bytes())
    assert {e.serial_number for e in crl} == {serial, cs_serial}
    assert crl.next_update_utc - crl.last_update_utc == timedelta(days=2)

    assert _run("crl", d) == 0
    assert "2 revoked" in capsys.readouterr().out

    assert _run("rotate", d, "kizon-juki") == 0
    assert "not revoked" in capsys.readouterr().out


def test_errors_are_one_line_and_exit_1(pki: DevPki, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("issue", str(pki.directory), "terminal", "ca") == 1
    assert _run("revoke", str(pki.directory), "not-a-serial") == 1
    assert _run("crl", str(pki.directory.parent / "missing")) == 1
    err = capsys.readouterr().err
    assert err.count("cs-gateway: ") == 3 and "Traceback" not in err


def test_reason_choices_exclude_delta_only_reasons() -> None:
    assert "key-compromise" in REASONS and "remove-from-crl" not in REASONS
