"""The client certificate profile: what the gateway's PKI issues, and nothing else is accepted.

A client leaf must be CA:FALSE (BasicConstraints present), carry the clientAuth extended key
usage, hold an EC P-256 / P-384 key or an RSA key of at least 2048 bits, and be signed with
SHA-256 or stronger. grpc core's TLS stack checks none of this (it takes a leaf without EKU as
good for any purpose, a CA:TRUE leaf as a leaf, and RSA-1024 and SHA-1 as they come).

Each refusal has its own rule (``profile:<what>``), written to the denied audit entry.
It deliberately does not import grpc.
"""

from __future__ import annotations

from typing import Final

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

CA_CERTIFICATE: Final = "profile:ca-certificate"  # CA:TRUE (a CA's certificate used as a client leaf)
NO_BASIC_CONSTRAINTS: Final = "profile:no-basic-constraints"  # CA:FALSE not stated
NO_CLIENT_AUTH: Final = "profile:no-client-auth"  # no EKU, or an EKU without clientAuth
KEY_TYPE: Final = "profile:key-type"  # neither EC P-256/P-384 nor RSA (e.g. P-521, Ed25519, DSA)
RSA_TOO_SHORT: Final = "profile:rsa-key-too-short"  # RSA under 2048 bits
WEAK_SIGNATURE: Final = "profile:weak-signature"  # signed with SHA-1, MD5 or an unknown hash

PROFILE_RULES: Final = (CA_CERTIFICATE, NO_BASIC_CONSTRAINTS, NO_CLIENT_AUTH, KEY_TYPE, RSA_TOO_SHORT, WEAK_SIGNATURE)

MIN_RSA_BITS: Final = 2048
ALLOWED_CURVES: Final = frozenset({"secp256r1", "secp384r1"})
ALLOWED_HASHES: Final = (hashes.SHA256, hashes.SHA384, hashes.SHA512)


def profile_violation(cert: x509.Certificate) -> str | None:
    """The rule this client leaf breaks, or None if it has the profile."""
    try:
        basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return NO_BASIC_CONSTRAINTS
    if basic.ca:
        return CA_CERTIFICATE
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return NO_CLIENT_AUTH
    if ExtendedKeyUsageOID.CLIENT_AUTH not in usages:
        return NO_CLIENT_AUTH
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            return RSA_TOO_SHORT
    elif not (isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name in ALLOWED_CURVES):
        return KEY_TYPE
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return WEAK_SIGNATURE
    if not isinstance(algorithm, ALLOWED_HASHES):
        return WEAK_SIGNATURE
    return None
