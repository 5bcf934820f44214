"""Peer identity from an mTLS client certificate (evaluated on every RPC).

The TLS layer has already verified the chain and validity period; this module
only maps the verified leaf to a SPIFFE identity spiffe://<trust_domain>/<role>/<host>.
It deliberately does not import grpc.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes

AUTH_CONTEXT_CERT_KEY = "x509_pem_cert"
SPIFFE_SCHEME = "spiffe://"
_LABEL = re.compile(r"[a-z0-9-]{1,63}")

IdentityReason = Literal[
    "NO_CERTIFICATE",
    "BAD_CERTIFICATE",
    "NO_URI_SAN",
    "MULTIPLE_URI_SAN",
    "NOT_SPIFFE",
    "WRONG_TRUST_DOMAIN",
    "BAD_SPIFFE_PATH",
    "UNKNOWN_ROLE",
]


class IdentityError(Exception):
    """The peer certificate does not carry an acceptable identity."""

    def __init__(self, reason: IdentityReason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason: str = reason
        self.detail = detail


@dataclass(frozen=True)
class PeerIdentity:
    """Who is calling, as proven by the client certificate."""

    role: str
    host: str
    spiffe_id: str
    serial: int
    fingerprint_sha256: str
    not_before: datetime
    not_after: datetime


def identity_from_pem(pem: bytes, trust_domain: str, known_roles: frozenset[str]) -> PeerIdentity:
    """Parse a PEM leaf certificate into a PeerIdentity or raise IdentityError."""
    return _identity_from_pem(bytes(pem), trust_domain, frozenset(known_roles))


def identity_from_auth_context(
    auth_context: Mapping[str, Sequence[bytes]],
    trust_domain: str,
    known_roles: frozenset[str],
) -> PeerIdentity:
    """Identity from grpc's ``context.auth_context()`` (leaf under x509_pem_cert)."""
    certs = auth_context.get(AUTH_CONTEXT_CERT_KEY)
    if not certs or not certs[0]:
        raise IdentityError("NO_CERTIFICATE", "peer presented no client certificate")
    return identity_from_pem(certs[0], trust_domain, known_roles)


@functools.lru_cache(maxsize=1024)
def _identity_from_pem(pem: bytes, trust_domain: str, known_roles: frozenset[str]) -> PeerIdentity:
    try:
        cert = x509.load_pem_x509_certificate(pem)
        uris = _uri_sans(cert)
        fingerprint = cert.fingerprint(hashes.SHA256()).hex()
        not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
        serial = cert.serial_number
    except (
        ValueError,
        TypeError,
        x509.DuplicateExtension,
        x509.UnsupportedGeneralNameType,
    ) as exc:
        raise IdentityError("BAD_CERTIFICATE", str(exc)) from exc

    if not uris:
        raise IdentityError("NO_URI_SAN", "certificate has no URI SAN")
    if len(uris) > 1:
        raise IdentityError("MULTIPLE_URI_SAN", f"{len(uris)} URI SANs")
    uri = uris[0]
    role, host = _parse_spiffe(uri, trust_domain)
    if role not in known_roles:
        raise IdentityError("UNKNOWN_ROLE", f"role {role!r} is not known")
    return PeerIdentity(
        role=role,
        host=host,
        spiffe_id=uri,
        serial=serial,
        fingerprint_sha256=fingerprint,
        not_before=not_before,
        not_after=not_after,
    )


def _uri_sans(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return san.value.get_values_for_type(x509.UniformResourceIdentifier)


def _parse_spiffe(uri: str, trust_domain: str) -> tuple[str, str]:
    if not uri.startswith(SPIFFE_SCHEME):
        raise IdentityError("NOT_SPIFFE", f"URI SAN {uri!r} is not a SPIFFE ID")
    domain, _, path = uri[len(SPIFFE_SCHEME) :].partition("/")
    if domain != trust_domain:
        raise IdentityError("WRONG_TRUST_DOMAIN", f"trust domain {domain!r}")
    parts = path.split("/")
    if len(parts) != 2 or not all(_LABEL.fullmatch(p) for p in parts):
        raise IdentityError("BAD_SPIFFE_PATH", f"{uri!r} is not /<role>/<host>")
    return parts[0], parts[1]
