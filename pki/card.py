"""The emulated マイナンバーカード and its issuer, the card CA (standing for the 機構's card issuance).

The card CA lives in a directory of its own: ``card-ca.crt`` / ``card-ca.key`` (0600), the
revocation state ``card-revoked.json`` and the card CRL ``card-crl.pem`` it signs (always rebuilt
from the JSON). The gateway trusts ``card-ca.crt`` and reads ``card-crl.pem`` ([card] ca / crl).

A card file (JSON, 0600) holds the 住民票コード, the card-face 4情報, a P-256 key pair and the
certificate the card CA issued for it (its subject's serialNumber = the 住民票コード). The private
key is stored encrypted with the PIN (cryptography's BestAvailableEncryption: PKCS#8 with a
scrypt/PBKDF2-derived AES key; nothing hand-rolled). ``CARD_PIN_TRIES`` wrong PINs in a row lock
the card file: the counter is kept in the file, so a new process does not get new tries.

``sign_nonce`` is what the card does for the CS: sign ``CARD_CHECK_CONTEXT + nonce`` (ECDSA
P-256, SHA-256); the context keeps a card signature from meaning anything else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pki.dev_pki import write_file

CARD_CA_CERT = "card-ca.crt"
CARD_CA_KEY = "card-ca.key"
CARD_REVOKED = "card-revoked.json"
CARD_CRL = "card-crl.pem"
CARD_PIN_TRIES = 3
CARD_CHECK_CONTEXT = b"jukinet.cs.v1 card check\x00"
CARD_DAYS = 10 * 365  # a card's certificate: about the card's term
_FORMAT = "jukinet-card-1"


class CardError(Exception):
    """A card file that cannot be used (unreadable, locked, wrong PIN)."""


class CardLockedError(CardError):
    pass


class WrongPinError(CardError):
    def __init__(self, tries_left: int) -> None:
        super().__init__(f"wrong PIN ({tries_left} tries left before the card locks)")
        self.tries_left = tries_left


@dataclass(frozen=True)
class CardFace:
    """The card face's 4情報 (券面事項)."""

    name: str
    address: str
    birth_date: date
    sex: int  # 1 male, 2 female (domain.enums.Sex)

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "address": self.address, "birth_date": self.birth_date.isoformat(), "sex": self.sex}

    @staticmethod
    def from_json(data: dict[str, object]) -> CardFace:
        birth = date.fromisoformat(str(data["birth_date"]))
        return CardFace(str(data["name"]), str(data["address"]), birth, int(data["sex"]))  # type: ignore[call-overload]


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def init_card_ca(directory: Path, *, common_name: str = "JLIS card CA (emulated)", now: datetime | None = None) -> Path:
    """Create the card CA's key and self-signed certificate and an empty card CRL in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    at = _now(now)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "J-LIS (emulated)"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])  # fmt: skip
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(at - timedelta(minutes=5))
        .not_valid_after(at + timedelta(days=20 * 365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_file(directory / CARD_CA_KEY, _key_pem(key, serialization.NoEncryption()), 0o600, overwrite=False)
    write_file(directory / CARD_CA_CERT, cert.public_bytes(serialization.Encoding.PEM), 0o644, overwrite=False)
    write_file(directory / CARD_REVOKED, b"{}\n", 0o644, overwrite=False)
    write_card_crl(directory, now=at)
    return directory / CARD_CA_CERT


def _key_pem(key: ec.EllipticCurvePrivateKey, encryption: serialization.KeySerializationEncryption) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def _ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert = x509.load_pem_x509_certificate((directory / CARD_CA_CERT).read_bytes())
    key = serialization.load_pem_private_key((directory / CARD_CA_KEY).read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return cert, key


def issue_card(
    directory: Path,
    card_path: Path,
    juminhyo_code: str,
    face: CardFace,
    pin: str,
    *,
    days: int = CARD_DAYS,
    now: datetime | None = None,
    not_before: datetime | None = None,
) -> int:
    """Issue a card: a new key pair, a certificate from the card CA, the key sealed with ``pin``.
    Returns the certificate's serial number."""
    if not (pin.isdigit() and 4 <= len(pin) <= 16):
        raise ValueError("the PIN is 4 to 16 digits")
    ca_cert, ca_key = _ca(directory)
    at = _now(now)
    start = not_before if not_before is not None else at - timedelta(minutes=5)
    key = ec.generate_private_key(ec.SECP256R1())
    serial = x509.random_serial_number()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.SERIAL_NUMBER, juminhyo_code)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    card = {
        "format": _FORMAT,
        "juminhyo_code": juminhyo_code,
        "face": face.to_json(),
        "certificate": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "key": _key_pem(key, serialization.BestAvailableEncryption(pin.encode())).decode(),
        "failed_pins": 0,
    }
    write_file(card_path, (json.dumps(card, ensure_ascii=False, indent=1) + "\n").encode(), 0o600, overwrite=False)
    return serial


@dataclass(frozen=True)
class CardFile:
    path: Path
    juminhyo_code: str
    face: CardFace
    certificate_pem: bytes
    failed_pins: int

    @property
    def locked(self) -> bool:
        return self.failed_pins >= CARD_PIN_TRIES


def _read(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise CardError(f"{path}: not a readable card file") from err
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        raise CardError(f"{path}: not a card file")
    return data


def read_card(path: Path) -> CardFile:
    """The card's public part (no PIN needed): 住民票コード, face, certificate, PIN counter."""
    data = _read(path)
    return CardFile(
        path,
        str(data["juminhyo_code"]),
        CardFace.from_json(data["face"]),  # type: ignore[arg-type]
        str(data["certificate"]).encode(),
        int(data.get("failed_pins", 0)),  # type: ignore[arg-type]
    )


def _store_counter(path: Path, data: dict[str, object], failed: int) -> None:
    data["failed_pins"] = failed
    write_file(path, (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode(), 0o600, overwrite=True)


def sign_nonce(path: Path, pin: str, nonce: bytes) -> bytes:
    """The card signs the CS's nonce once the PIN opens its key. A wrong PIN counts (in the
    file, before the answer); the ``CARD_PIN_TRIES``-th locks the card; a right one resets it."""
    data = _read(path)
    failed = int(data.get("failed_pins", 0))  # type: ignore[arg-type]
    if failed >= CARD_PIN_TRIES:
        raise CardLockedError(f"{path}: the card is locked after {CARD_PIN_TRIES} wrong PINs")
    try:
        key = serialization.load_pem_private_key(str(data["key"]).encode(), password=pin.encode())
    except (ValueError, TypeError):
        _store_counter(path, data, failed + 1)
        if failed + 1 >= CARD_PIN_TRIES:
            raise CardLockedError(f"{path}: wrong PIN; the card is now locked") from None
        raise WrongPinError(CARD_PIN_TRIES - failed - 1) from None
    if failed:
        _store_counter(path, data, 0)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key.sign(CARD_CHECK_CONTEXT + nonce, ec.ECDSA(hashes.SHA256()))


def unlock_card(path: Path) -> None:
    """Reset the PIN counter (done at the counter, after the holder proves who they are)."""
    _store_counter(path, _read(path), 0)


# -- revocation -----------------------------------------------------------------------------


def _revoked(directory: Path) -> dict[str, str]:
    path = directory / CARD_REVOKED
    return json.loads(path.read_text()) if path.exists() else {}


def write_card_crl(directory: Path, *, next_update_days: int = 7, now: datetime | None = None) -> Path:
    """Re-sign ``card-crl.pem`` from ``card-revoked.json``."""
    ca_cert, ca_key = _ca(directory)
    at = _now(now)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(at - timedelta(minutes=1))
        .next_update(at + timedelta(days=next_update_days))
    )
    for serial_hex, when in sorted(_revoked(directory).items()):
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(int(serial_hex, 16))
            .revocation_date(datetime.fromisoformat(when))
            .build()
        )
    crl = builder.sign(ca_key, hashes.SHA256())
    path = directory / CARD_CRL
    write_file(path, crl.public_bytes(serialization.Encoding.PEM), 0o644, overwrite=True)
    return path


def revoke_card(directory: Path, card_path: Path, *, now: datetime | None = None) -> int:
    """Revoke the card's certificate (lost or returned card) and re-sign the card CRL."""
    cert = x509.load_pem_x509_certificate(read_card(card_path).certificate_pem)
    revoked = _revoked(directory)
    revoked[f"{cert.serial_number:x}"] = _now(now).isoformat()
    write_file(directory / CARD_REVOKED, (json.dumps(revoked, indent=1) + "\n").encode(), 0o644, overwrite=True)
    write_card_crl(directory, now=now)
    return cert.serial_number
