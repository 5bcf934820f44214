"""The CS key's signature over a change notice: detached, ECDSA P-256 / SHA-256, over the
notice's canonical encoding (domain/notice_encoding.py). The key is loaded and used by the same
signer as the audit trail's checkpoints (audit/signing.py): one place touches the key."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from ..audit.signing import CheckpointSigner, signature_valid


class NoticeSigner:
    def __init__(self, key_path: Path, cert_path: Path) -> None:
        self._signer = CheckpointSigner.from_files(key_path, cert_path)

    def sign(self, body: bytes) -> bytes:
        return self._signer.sign(body)


def notice_signature_valid(cs_certificate: x509.Certificate, body: bytes, signature: bytes) -> bool:
    """What the 都道府県サーバー checks before applying a notice."""
    return signature_valid(cs_certificate, body, signature)
