"""The CS's side of a card check (VerifyCard): one-time nonces bound to an operator session, and
the card certificate's chain, validity, revocation and signature.

A nonce is 256 random bits given out to one operator session (BeginCardCheck) and good for one
VerifyCard within ``NONCE_TTL_S``. It is spent by the first VerifyCard that names it, whatever
that call's outcome, and remembered as spent until it would have expired: the same signature sent
again is refused as a replay (CARD_SIGNATURE_REPLAYED), a nonce of another session as such
(CARD_NONCE_OTHER_SESSION). Nonces live in the gateway's memory: a restart ends them with the
sessions they belong to (fail closed).

The certificate must be issued directly by the configured card CA (CARD_UNKNOWN_CA), be within
its validity (CARD_EXPIRED), not be on the card CRL (CARD_REVOKED; a CRL that is missing, not
signed by the card CA or past its next update refuses every card: CARD_CRL_UNAVAILABLE), and its
key must have signed ``CARD_CHECK_CONTEXT + nonce`` (CARD_SIGNATURE_INVALID). The 住民票コード is
the certificate's subject serialNumber, so what the CS looks up is what the card CA bound.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CARD_CHECK_CONTEXT = b"jukinet.cs.v1 card check\x00"  # the same bytes as pki.card's
NONCE_BYTES = 32
NONCE_TTL_S = 120.0
MAX_OUTSTANDING_PER_SESSION = 8

NONCE_UNKNOWN = "CARD_NONCE_UNKNOWN"  # never given out, or expired
NONCE_OTHER_SESSION = "CARD_NONCE_OTHER_SESSION"
REPLAYED = "CARD_SIGNATURE_REPLAYED"
UNKNOWN_CA = "CARD_UNKNOWN_CA"
EXPIRED = "CARD_EXPIRED"
REVOKED = "CARD_REVOKED"
CRL_UNAVAILABLE = "CARD_CRL_UNAVAILABLE"
SIGNATURE_INVALID = "CARD_SIGNATURE_INVALID"
MALFORMED = "CARD_MALFORMED"


def nonce_ref(nonce: bytes) -> str:
    """What the audit trail keeps of a nonce: the first 64 bits of its SHA-256 (ties a
    BeginCardCheck entry to its VerifyCard; the nonce itself is never stored)."""
    return hashlib.sha256(bytes(nonce)).hexdigest()[:16]


@dataclass(slots=True)
class _Nonce:
    session_key: str
    issued: float
    spent: bool = False


class NonceTable:
    def __init__(self, *, ttl_s: float = NONCE_TTL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._nonces: dict[bytes, _Nonce] = {}
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        for nonce in [n for n, v in self._nonces.items() if now - v.issued > self.ttl_s]:
            del self._nonces[nonce]

    def issue(self, session_key: str) -> bytes:
        """A fresh nonce for this session (the oldest unspent one of it is dropped beyond a few)."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            mine = [n for n, v in self._nonces.items() if v.session_key == session_key and not v.spent]
            for nonce in mine[: max(0, len(mine) - MAX_OUTSTANDING_PER_SESSION + 1)]:
                del self._nonces[nonce]
            nonce = secrets.token_bytes(NONCE_BYTES)
            self._nonces[nonce] = _Nonce(session_key, now)
            return nonce

    def withdraw(self, nonce: bytes) -> None:
        """Forget a nonce that was never given out (its audit entry could not be written)."""
        with self._lock:
            self._nonces.pop(bytes(nonce), None)

    def spend(self, nonce: bytes, session_key: str) -> str | None:
        """Spend ``nonce`` for this session: None, or why it cannot be used."""
        with self._lock:
            self._expire(self._clock())
            entry = self._nonces.get(bytes(nonce))
            if entry is None:
                return NONCE_UNKNOWN
            if not hmac.compare_digest(entry.session_key, session_key):
                return NONCE_OTHER_SESSION
            if entry.spent:
                return REPLAYED
            entry.spent = True
            return None


@dataclass(frozen=True, slots=True)
class CardHolder:
    juminhyo_code: str
    serial: int


@dataclass(frozen=True, slots=True)
class CardRefused:
    reason: str
    juminhyo_code: str = ""  # known once the certificate is the card CA's (for the audit entry)


class CardTrust:
    """The card CA and its CRL, as configured ([card] ca / crl); the CRL file is re-read when it changes."""

    def __init__(self, ca_path: Path, crl_path: Path) -> None:
        self.ca = x509.load_pem_x509_certificate(Path(ca_path).read_bytes())
        self.crl_path = Path(crl_path)
        self._crl: x509.CertificateRevocationList | None = None
        self._crl_stamp: tuple[int, int] | None = None

    def _current_crl(self, now: datetime) -> x509.CertificateRevocationList | None:
        try:
            stat = self.crl_path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            if stamp != self._crl_stamp:
                crl = x509.load_pem_x509_crl(self.crl_path.read_bytes())
                self._crl = crl if crl.is_signature_valid(self.ca.public_key()) else None  # type: ignore[arg-type]
                self._crl_stamp = stamp
        except (OSError, ValueError):
            self._crl, self._crl_stamp = None, None
        crl = self._crl
        if crl is None or crl.issuer != self.ca.subject:
            return None
        if crl.next_update_utc is not None and crl.next_update_utc < now:
            return None
        return crl

    def check(
        self, certificate_der: bytes, nonce: bytes, signature: bytes, now: datetime | None = None
    ) -> CardHolder | CardRefused:
        """The card's holder, or why the card is refused (one of the codes above)."""
        at = now if now is not None else datetime.now(UTC)
        try:
            cert = x509.load_der_x509_certificate(certificate_der)
            codes = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
        except ValueError:
            return CardRefused(MALFORMED)
        try:
            cert.verify_directly_issued_by(self.ca)
        except (ValueError, TypeError, InvalidSignature):
            return CardRefused(UNKNOWN_CA)
        if len(codes) != 1 or not isinstance(codes[0].value, str):
            return CardRefused(MALFORMED)
        code = codes[0].value
        if not (cert.not_valid_before_utc <= at <= cert.not_valid_after_utc):
            return CardRefused(EXPIRED, code)
        crl = self._current_crl(at)
        if crl is None:
            return CardRefused(CRL_UNAVAILABLE, code)
        if crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
            return CardRefused(REVOKED, code)
        key = cert.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey):
            return CardRefused(MALFORMED, code)
        try:
            key.verify(signature, CARD_CHECK_CONTEXT + nonce, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return CardRefused(SIGNATURE_INVALID, code)
        return CardHolder(code, cert.serial_number)
