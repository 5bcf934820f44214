"""Everything the gateway checks about the caller's certificate, on every RPC:

1. identity: the one SPIFFE URI SAN (security/identity.py);
2. profile: CA:FALSE, clientAuth, EC P-256/P-384 or RSA >= 2048, SHA-256+ (certificate_profile.py);
3. issuer: the leaf is signed by an issuing CA the gateway knows, and that CA is pinned for the
   leaf's role in the policy (``roles.<role>.issuers``; default: the configured ``tls.crl_issuer``).
   A leaf signed by the root itself (``issuer:root-signed``) or by any other CA under the root,
   e.g. a sibling intermediate made for another municipality (``issuer:unknown-ca``), is refused,
   however plausible its SPIFFE ID. A leaf naming a known issuer whose key does not verify it
   is ``issuer:signature-invalid``; a known issuer not pinned for the role, ``issuer:not-pinned-for-role``;
4. validity window, against the clock of THIS call (``validity:expired`` / ``validity:not-yet-valid``):
   grpc checks it at the handshake only, and a connection lives for hours;
5. revocation, against the CRL of the leaf's actual issuer (``revocation:<reason>``).

1-3 depend on the certificate alone and are judged once per certificate (cached by its PEM,
which grpc hands over on every call); 4 and 5 are a float comparison and a set lookup per call.
The issuer certificates and the trust anchors are re-read when their files change (looked at
at most once per second); the cache is then emptied. It deliberately does not import grpc.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

from ..logging_setup import get_logger
from .certificate_profile import profile_violation
from .identity import AUTH_CONTEXT_CERT_KEY, IdentityError, PeerIdentity, identity_from_pem
from .revocation import RevocationChecker
from .spki import spki_sha256

log = get_logger("cs_gateway.certificates")

ROOT_SIGNED: Final = "issuer:root-signed"
UNKNOWN_CA: Final = "issuer:unknown-ca"
SIGNATURE_INVALID: Final = "issuer:signature-invalid"
NOT_PINNED: Final = "issuer:not-pinned-for-role"
EXPIRED: Final = "validity:expired"
NOT_YET_VALID: Final = "validity:not-yet-valid"
NO_CERTIFICATE: Final = "identity:NO_CERTIFICATE"

DEFAULT_PIN: Final = "default"  # a role pin: the CA(s) of tls.crl_issuer
CACHE_LIMIT = 4096  # certificates judged; emptied when full (a flood of fresh certificates)
RELOAD_INTERVAL_S = 1.0


@dataclass(frozen=True)
class IssuerFiles:
    """An issuing CA as configured: its certificate file (a PEM bundle of one or more CA
    certificates) and the CRL that it signs."""

    cert: Path
    crl: Path
    default: bool  # tls.crl_issuer: what roles without an explicit pin are certified by


@dataclass(frozen=True)
class IssuingCa:
    cert: x509.Certificate
    spki_sha256: str
    subject_der: bytes
    revocation: RevocationChecker
    default: bool


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the certificate alone decides (cached), and what each call still has to check."""

    identity: PeerIdentity | None
    rule: str | None  # identity / profile / issuer refusal
    revocation: RevocationChecker | None = None
    issuer_der: bytes = b""
    not_before: float = 0.0
    not_after: float = 0.0


def load_ca_bundle(path: Path) -> tuple[x509.Certificate, ...]:
    certs = tuple(x509.load_pem_x509_certificates(Path(path).read_bytes()))
    if not certs:
        raise ValueError(f"{path}: no certificate")
    return certs


class CertificateGate:
    """Judges the caller's certificate (see the module doc). ``check`` returns the identity (when
    the certificate names one) and the refusing rule, or None when the call may go on.

    `role_pins`: role -> SPKI SHA-256 fingerprints (hex) of the issuing CAs that may certify it,
    or DEFAULT_PIN; a role not listed is certified by the default issuer only.
    `revocation_for` makes the CRL checker of one issuer (cert path, CRL path).
    """

    def __init__(
        self,
        issuers: Sequence[IssuerFiles],
        anchors: Path,
        role_pins: Mapping[str, frozenset[str]],
        *,
        trust_domain: str,
        known_roles: frozenset[str],
        revocation_for: Callable[[IssuerFiles], RevocationChecker],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._files = tuple(issuers)
        self._anchors_path = Path(anchors)
        self._pins = {role: frozenset(pins) for role, pins in role_pins.items()}
        self._trust_domain = trust_domain
        self._known_roles = frozenset(known_roles)
        self._checkers = {files: revocation_for(files) for files in self._files}
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[bytes, Verdict] = {}
        self._issuers: tuple[IssuingCa, ...] = ()
        self._anchors: tuple[x509.Certificate, ...] = ()
        self._stat_key: tuple[tuple[int, int, int] | None, ...] | None = None
        self._next_reload = float("-inf")
        self._reload(clock(), first=True)

    @property
    def checkers(self) -> tuple[RevocationChecker, ...]:
        """The CRL checker of each configured issuer (default issuer first)."""
        return tuple(self._checkers.values())

    def check(self, auth_context: Mapping[str, Sequence[bytes]]) -> tuple[PeerIdentity | None, str | None]:
        certs = auth_context.get(AUTH_CONTEXT_CERT_KEY)
        if not certs or not certs[0]:
            return None, NO_CERTIFICATE
        now = self._clock()
        if now >= self._next_reload:
            self._reload(now)
        pem = certs[0]
        verdict = self._cache.get(pem)
        if verdict is None:
            verdict = self._judge(pem)
        if verdict.rule is not None:
            return verdict.identity, verdict.rule
        identity = verdict.identity
        assert identity is not None and verdict.revocation is not None
        if now < verdict.not_before:
            return identity, NOT_YET_VALID
        if now > verdict.not_after:
            return identity, EXPIRED
        revoked = verdict.revocation.check_issued(identity.serial, verdict.issuer_der)
        if revoked is not None:
            return identity, f"revocation:{revoked}"
        return identity, None

    # -- internals ---------------------------------------------------------------------------

    def _judge(self, pem: bytes) -> Verdict:
        verdict = self._decide(bytes(pem))
        cache = self._cache
        if len(cache) >= CACHE_LIMIT:
            cache.clear()
        cache[bytes(pem)] = verdict
        return verdict

    def _decide(self, pem: bytes) -> Verdict:
        try:
            identity = identity_from_pem(pem, self._trust_domain, self._known_roles)
        except IdentityError as err:
            return Verdict(None, f"identity:{err.reason}")
        cert = x509.load_pem_x509_certificate(pem)  # parsed fine just above
        rule = profile_violation(cert)
        if rule is not None:
            return Verdict(identity, rule)
        issuer, rule = self._issuer_of(cert)
        if issuer is None:
            return Verdict(identity, rule)
        pins = self._pins.get(identity.role, frozenset({DEFAULT_PIN}))
        if issuer.spki_sha256 not in pins and not (issuer.default and DEFAULT_PIN in pins):
            return Verdict(identity, NOT_PINNED)
        return Verdict(
            identity,
            None,
            revocation=issuer.revocation,
            issuer_der=issuer.subject_der,
            not_before=identity.not_before.timestamp(),
            not_after=identity.not_after.timestamp(),
        )

    def _issuer_of(self, cert: x509.Certificate) -> tuple[IssuingCa | None, str]:
        named = False
        for issuer in self._issuers:
            if cert.issuer != issuer.cert.subject:
                continue
            named = True
            if _signed_by(cert, issuer.cert):
                return issuer, ""
        if named:
            return None, SIGNATURE_INVALID
        if any(cert.issuer == anchor.subject and _signed_by(cert, anchor) for anchor in self._anchors):
            return None, ROOT_SIGNED
        return None, UNKNOWN_CA

    def _reload(self, moment: float, *, first: bool = False) -> None:
        with self._lock:
            if not first and moment < self._next_reload:
                return
            self._next_reload = moment + RELOAD_INTERVAL_S
            paths = (self._anchors_path, *(f.cert for f in self._files))
            key = tuple(_stat_key(p) for p in paths)
            if key == self._stat_key:
                return
            try:
                anchors = load_ca_bundle(self._anchors_path)
                issuers = tuple(
                    IssuingCa(
                        cert=cert,
                        spki_sha256=spki_sha256(cert),
                        subject_der=cert.subject.public_bytes(),
                        revocation=self._checkers[files],
                        default=files.default,
                    )
                    for files in self._files
                    for cert in load_ca_bundle(files.cert)
                    if cert.issuer != cert.subject  # never a root (config check refuses one at start)
                )
            except (OSError, ValueError) as err:
                if first:
                    raise
                # keep the issuers in force (as the TLS layer keeps its CA bundle); retried in 1 s
                log.error("issuers_unreadable", error=str(err))
                return
            self._anchors, self._issuers, self._stat_key = anchors, issuers, key
            self._cache = {}
            if not first:
                log.info("issuers_reloaded", issuers=[i.spki_sha256[:16] for i in issuers])


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def _stat_key(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)
