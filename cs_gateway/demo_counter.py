"""The demo's counter step: an operator enrolled by ``cs-gateway operator add`` logs in at the
terminal with password + a TOTP code the demo computes (as the authenticator would), looks a
resident up by the card's 住民票コード, searches by two items, verifies 山田 花子's マイナンバーカード
(a card CA made for the demo, the card file sealed with a PIN: the comparison table), and a
one-item search (氏名 + 性別) is refused with SEARCH_NEEDS_TWO_ITEMS, and so is 氏名 beside a 住所
naming only the municipality (青森県弘前市: every resident lives there), 住所 + 生年月日 with
SEARCH_NEEDS_NAME, as is the card of 山田 太郎, who died in the scenario (CARD_HOLDER_NOT_CURRENT).
Two logins: each uses a code of its own time step (a code is accepted once only)."""

from __future__ import annotations

import io
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from pki.card import CARD_CA_CERT, CARD_CRL, CardFace, init_card_ca, issue_card
from pki.dev_pki import DevPki

from .config import load_config
from .security.operator_auth import TOTP_PERIOD_S, totp_code

OPERATOR = "demo-operator"
PASSWORD = "demo password 2026"
TARO = "39201748562"  # 山田 太郎 of clients/scenarios/demo.json
HANAKO = "39201748643"  # 山田 花子
CARD_PIN = "2580"


@dataclass(frozen=True)
class DemoCards:
    hanako: Path  # a current resident: verifies, every field matches
    taro: Path  # died in the scenario: refused


def make_demo_cards(config_path: Path, root: Path) -> DemoCards:
    """The card CA (standing for the 機構), two cards as the residents hold them, and the
    gateway's [card] section naming the CA and its CRL (before the gateway starts)."""
    ca_dir = root / "card-ca"
    init_card_ca(ca_dir)
    with config_path.open("a", encoding="utf-8") as out:
        out.write(f'\n[card]\nca = "{ca_dir / CARD_CA_CERT}"\ncrl = "{ca_dir / CARD_CRL}"\n')
    cards = DemoCards(root / "hanako.card", root / "taro.card")
    address = "青森県弘前市大字上白銀町1番地1"
    issue_card(ca_dir, cards.hanako, HANAKO, CardFace("山田　花子", address, date(1987, 10, 3), 2), CARD_PIN)
    issue_card(ca_dir, cards.taro, TARO, CardFace("山田　太郎", address, date(1985, 5, 14), 1), CARD_PIN)
    print(f"   card CA in {ca_dir}; cards of 山田 花子 and 山田 太郎 (PIN-sealed) in {root}")
    return cards


def enrol_demo_operator(config_path: Path, root: Path) -> Path:
    """Enrol the demo's operator (照会 only); its TOTP secret in a 0600 file (the authenticator)."""
    from . import operator_commands

    _, uri = operator_commands.add(load_config(config_path), OPERATOR, "shokai", PASSWORD)
    secret_file = root / "demo-operator.totp"
    secret_file.touch(mode=0o600)
    secret_file.write_text(parse_qs(urlparse(uri).query)["secret"][0])
    print(f"   operator {OPERATOR} enrolled (role shokai); TOTP secret in {secret_file}")
    return secret_file


def _terminal(target: str, pki: DevPki, code: str, *steps: str, pins: int = 0) -> int:
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
    stdin, sys.stdin = sys.stdin, io.StringIO(PASSWORD + "\n" + (CARD_PIN + "\n") * pins)
    try:
        return terminal_cli.main(argv)
    finally:
        sys.stdin = stdin


def run_counter_step(target: str, pki: DevPki, secret_file: Path, cards: DemoCards) -> int:
    secret = secret_file.read_text().strip()
    now = time.time()
    first = _terminal(
        target,
        pki,
        totp_code(secret, now - TOTP_PERIOD_S),  # the previous step's code: still in the window
        "lookup", TARO,
        "search", "--name", "やまだ たろう", "--birth", "1985-05-14",
        "verify-card", "--pin-stdin", str(cards.hanako),
        pins=1,
    )  # fmt: skip
    if first != 0:
        return first
    print("   a one-item search (氏名 + 性別; 性別 never counts) must be refused, as must 氏名 beside a 住所")
    print("   naming only the municipality (every resident lives there), and 住所 + 生年月日 without a 氏名")
    print("   (the seed's combinations are 氏名 + 住所 and 氏名 + 生年月日):")
    print("   and the card of 山田 太郎, who died in the scenario (not a current record), must be refused:")
    second = _terminal(
        target,
        pki,
        totp_code(secret, time.time()),
        "search", "--name", "山田 太郎", "--sex", "male",
        "search", "--name", "山田 太郎", "--address", "青森県弘前市",
        "search", "--address", "青森県弘前市大字本町", "--birth", "1985-05-14",
        "verify-card", "--pin-stdin", str(cards.taro),
        pins=1,
    )  # fmt: skip
    if second != 1:
        print(f"   UNEXPECTED: a search or the card was not refused (exit code {second})")
        return 1
    print("   refused as the seed requires (SEARCH_NEEDS_TWO_ITEMS; SEARCH_NEEDS_NAME; CARD_HOLDER_NOT_CURRENT)")
    return 0
