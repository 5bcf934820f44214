"""The emulated マイナンバーカード (pki/card.py) and the CS's checks of it (security/card_check.py)
without a gateway: the PIN counter kept in the card file, the lock, the card CRL, a tampered
signature, the nonce table's one-time and per-session rules."""

from __future__ import annotations

import io
import json
import os
import stat
from datetime import date
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

import pki.card as card
from cs_gateway.cli import main
from cs_gateway.security import card_check
from cs_gateway.security.card_check import CardHolder, CardRefused, CardTrust, NonceTable

CODE = "39201748562"
FACE = card.CardFace("山田　太郎", "青森県弘前市大字本町1番地", date(1985, 5, 14), 1)


@pytest.fixture
def ca(tmp_path: Path) -> Path:
    card.init_card_ca(tmp_path / "ca")
    return tmp_path / "ca"


def _der(path: Path) -> bytes:
    pem = card.read_card(path).certificate_pem
    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)


def test_the_card_file_is_private_and_its_key_sealed_by_the_pin(ca: Path, tmp_path: Path) -> None:
    path = tmp_path / "taro.card"
    card.issue_card(ca, path, CODE, FACE, "1234")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    data = json.loads(path.read_text())
    assert "ENCRYPTED PRIVATE KEY" in data["key"]
    with pytest.raises(TypeError):  # no PIN, no key
        serialization.load_pem_private_key(data["key"].encode(), password=None)
    assert card.read_card(path).face == FACE and card.read_card(path).juminhyo_code == CODE


def test_wrong_pins_lock_the_card_file(ca: Path, tmp_path: Path) -> None:
    path = tmp_path / "taro.card"
    card.issue_card(ca, path, CODE, FACE, "1234")
    with pytest.raises(card.WrongPinError) as first:
        card.sign_nonce(path, "0000", b"n")
    assert first.value.tries_left == card.CARD_PIN_TRIES - 1
    card.sign_nonce(path, "1234", b"n")  # a right PIN resets the counter
    assert card.read_card(path).failed_pins == 0
    for _ in range(card.CARD_PIN_TRIES - 1):
        with pytest.raises(card.WrongPinError):
            card.sign_nonce(path, "0000", b"n")
    with pytest.raises(card.CardLockedError):
        card.sign_nonce(path, "0000", b"n")
    assert card.read_card(path).locked  # kept in the file: another process sees it
    with pytest.raises(card.CardLockedError):  # the right PIN no longer opens it
        card.sign_nonce(path, "1234", b"n")
    card.unlock_card(path)
    assert card.sign_nonce(path, "1234", b"n")


def test_a_pin_is_four_to_sixteen_digits(ca: Path, tmp_path: Path) -> None:
    for pin in ("123", "abcd", "1" * 17):
        with pytest.raises(ValueError):
            card.issue_card(ca, tmp_path / f"{pin}.card", CODE, FACE, pin)


def test_the_cs_checks_signature_crl_and_context(ca: Path, tmp_path: Path) -> None:
    path = tmp_path / "taro.card"
    card.issue_card(ca, path, CODE, FACE, "1234")
    trust = CardTrust(ca / card.CARD_CA_CERT, ca / card.CARD_CRL)
    nonce = os.urandom(32)
    signature = card.sign_nonce(path, "1234", nonce)
    assert card.CARD_CHECK_CONTEXT == card_check.CARD_CHECK_CONTEXT
    holder = trust.check(_der(path), nonce, signature)
    assert isinstance(holder, CardHolder) and holder.juminhyo_code == CODE
    assert trust.check(_der(path), os.urandom(32), signature) == CardRefused(card_check.SIGNATURE_INVALID, CODE)
    assert trust.check(b"not a certificate", nonce, signature) == CardRefused(card_check.MALFORMED)
    (ca / card.CARD_CRL).unlink()  # no CRL: no card passes (fail closed)
    assert trust.check(_der(path), nonce, signature) == CardRefused(card_check.CRL_UNAVAILABLE, CODE)
    card.write_card_crl(ca)
    assert isinstance(trust.check(_der(path), nonce, signature), CardHolder)
    card.revoke_card(ca, path)
    assert trust.check(_der(path), nonce, signature) == CardRefused(card_check.REVOKED, CODE)


def test_a_nonce_is_for_one_session_and_one_use() -> None:
    now = [0.0]
    table = NonceTable(ttl_s=60, clock=lambda: now[0])
    nonce = table.issue("session-a")
    assert table.spend(nonce, "session-b") == card_check.NONCE_OTHER_SESSION
    assert table.spend(nonce, "session-a") is None
    assert table.spend(nonce, "session-a") == card_check.REPLAYED
    late = table.issue("session-a")
    now[0] = 61.0
    assert table.spend(late, "session-a") == card_check.NONCE_UNKNOWN


def test_the_pki_card_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ca_dir, path = tmp_path / "card-ca", tmp_path / "taro.card"
    assert main(["pki", "card-ca", str(ca_dir)]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("1234\n"))
    issue = ["pki", "card-issue", str(ca_dir), str(path), "--code", CODE, "--name", FACE.name]
    issue += ["--address", FACE.address, "--birth", "1985-05-14", "--sex", "male", "--pin-stdin"]
    assert main(issue) == 0
    assert card.read_card(path).face == FACE
    monkeypatch.setattr("sys.stdin", io.StringIO("1234\n"))
    assert main(issue) == 1  # never overwrites a card file
    assert "exists" in capsys.readouterr().err
    assert main(["pki", "card-revoke", str(ca_dir), str(path)]) == 0
    crl = x509.load_pem_x509_crl((ca_dir / card.CARD_CRL).read_bytes())
    serial = x509.load_pem_x509_certificate(card.read_card(path).certificate_pem).serial_number
    assert crl.get_revoked_certificate_by_serial_number(serial) is not None
    for _ in range(card.CARD_PIN_TRIES):
        with pytest.raises(card.CardError):
            card.sign_nonce(path, "0000", b"n")
    assert main(["pki", "card-unlock", str(path)]) == 0 and not card.read_card(path).locked
    assert main(["pki", "card-crl", str(ca_dir)]) == 0
