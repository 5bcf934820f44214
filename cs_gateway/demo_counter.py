"""The demo's counter step: an operator enrolled by ``cs-gateway operator add`` logs in at the
terminal with password + a TOTP code the demo computes (as the authenticator would), looks a
resident up by the card's 住民票コード, searches by two items, and a one-item search (氏名 + 性別)
is refused with SEARCH_NEEDS_TWO_ITEMS. Two logins: each uses a code of its own time step (a
code is accepted once only)."""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from pki.dev_pki import DevPki

from .config import load_config
from .security.operator_auth import TOTP_PERIOD_S, totp_code

OPERATOR = "demo-operator"
PASSWORD = "demo password 2026"
TARO = "39201748562"  # 山田 太郎 of clients/scenarios/demo.json


def enrol_demo_operator(config_path: Path, root: Path) -> Path:
    """Enrol the demo's operator (照会 only); its TOTP secret in a 0600 file (the authenticator)."""
    from . import operator_commands

    _, uri = operator_commands.add(load_config(config_path), OPERATOR, "shokai", PASSWORD)
    secret_file = root / "demo-operator.totp"
    secret_file.touch(mode=0o600)
    secret_file.write_text(parse_qs(urlparse(uri).query)["secret"][0])
    print(f"   operator {OPERATOR} enrolled (role shokai); TOTP secret in {secret_file}")
    return secret_file


def _terminal(target: str, pki: DevPki, code: str, *steps: str) -> int:
    from clients import terminal_cli

    argv = [
        "--target", target,
        "--ca", str(pki.ca_cert_path),
        "--cert", str(pki.cert_path("terminal")),
        "--key", str(pki.key_path("terminal")),
        "--operator", OPERATOR,
        "--password-stdin",
        "--totp", code,
        *steps,
    ]  # fmt: skip
    stdin, sys.stdin = sys.stdin, io.StringIO(PASSWORD + "\n")
    try:
        return terminal_cli.main(argv)
    finally:
        sys.stdin = stdin


def run_counter_step(target: str, pki: DevPki, secret_file: Path) -> int:
    secret = secret_file.read_text().strip()
    now = time.time()
    first = _terminal(
        target,
        pki,
        totp_code(secret, now - TOTP_PERIOD_S),  # the previous step's code: still in the window
        "lookup", TARO,
        "search", "--name", "やまだ たろう", "--birth", "1985-05-14",
    )  # fmt: skip
    if first != 0:
        return first
    print("   a one-item search (氏名 + 性別; 性別 never counts) must be refused:")
    second = _terminal(target, pki, totp_code(secret, time.time()), "search", "--name", "山田 太郎", "--sex", "male")
    if second != 1:
        print(f"   UNEXPECTED: the one-item search was not refused (exit code {second})")
        return 1
    print("   refused as the seed requires (SEARCH_NEEDS_TWO_ITEMS)")
    return 0
