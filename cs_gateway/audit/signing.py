"""Checkpoint signatures: the chain head signed with the CS key (ECDSA P-256, SHA-256)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


def checkpoint_message(seq: int, head_hash: str, signed_at: str) -> bytes:
    return f"cs-gateway audit checkpoint\n{seq}\n{head_hash}\n{signed_at}".encode("ascii")


@dataclass(frozen=True)
class CheckpointSigner:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @classmethod
    def from_files(cls, key_path: Path, cert_path: Path) -> CheckpointSigner:
        key = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("the checkpoint signing key must be an EC key")
        cert = x509.load_pem_x509_certificates(Path(cert_path).read_bytes())[0]
        if cert.public_key().public_numbers() != key.public_key().public_numbers():
            raise ValueError("the checkpoint signing key does not match its certificate")
        return cls(key=key, certificate=cert)

    @property
    def key_fingerprint(self) -> str:
        return self.certificate.fingerprint(hashes.SHA256()).hex()

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message, ec.ECDSA(hashes.SHA256()))


def signature_valid(certificate: x509.Certificate, message: bytes, signature: bytes) -> bool:
    public_key = certificate.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        return False
    try:
        public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True
