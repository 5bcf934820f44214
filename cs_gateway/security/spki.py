"""The SHA-256 of a certificate's SubjectPublicKeyInfo: how an issuing CA is pinned (it stays
the same when the CA's certificate is re-issued with the same key)."""

from __future__ import annotations

import hashlib

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def spki_sha256(cert: x509.Certificate) -> str:
    """Lowercase hex SHA-256 of the DER SubjectPublicKeyInfo."""
    return hashlib.sha256(cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).hexdigest()
