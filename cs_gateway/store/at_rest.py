"""個人番号 at rest: AES-GCM under a key file of the store, found by a blind index.

The key file holds 32 random bytes (mode 0600, made once when the store holds no sealed
number yet, like the audit HMAC key). Three keys are derived from it with HKDF-SHA256: the
AES-256-GCM key that seals the number wherever the store keeps it (history records, outbox
notices), the HMAC-SHA256 key of the blind index (individual_numbers.number_index: the
uniqueness rule and the lookup by 個人番号 without the clear number) and a check value kept
in the store (store_keys), so that a wrong key file is refused at open instead of failing
every read. One AESGCM object per cipher, reused for every update. A fourth key seals the record
digests kept for the consistency check (record_digests.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import sqlite3
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
NONCE_BYTES = 12
SEALED_PREFIX = "v1:"
FIELD = "individual_number"
_AAD = b"cs-gateway individual_number v1"
_BYTES_AAD = b"cs-gateway sealed message v1"
SEALED_SECRET_PREFIX = "s1:"
_SECRET_AAD = b"cs-gateway operator totp secret v1\x00"  # + the operator id: a secret opens for its own account only


class NumberKeyError(Exception):
    """The 個人番号 key file is missing, short, or does not match the store; the message says which."""


def default_key_path(store_path: Path) -> Path:
    return Path(store_path).with_suffix(".number.key")


def _derive(master: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"cs-gateway " + label).derive(master)


class NumberCipher:
    def __init__(self, master: bytes) -> None:
        if len(master) < KEY_BYTES:
            raise NumberKeyError(f"the 個人番号 key is shorter than {KEY_BYTES} bytes")
        self._aead = AESGCM(_derive(master, b"individual_number aes-gcm"))
        self._index_key = _derive(master, b"individual_number blind index")
        self.check = hmac.new(_derive(master, b"individual_number key check"), b"check", hashlib.sha256).hexdigest()
        self._digest_key = _derive(master, b"record digest aes-256 blocks")
        self._digest_sealer = Cipher(algorithms.AES(self._digest_key), modes.ECB()).encryptor()

    def seal_digest(self, digest: bytes) -> bytes:
        """A 32-byte record digest sealed for the file (record_digests.py says why and how)."""
        if len(digest) != 32:
            raise ValueError("a record digest has 32 bytes")
        return self._digest_sealer.update(digest)  # two independent blocks: no state carries over

    def open_digests(self, sealed: bytes) -> bytes:
        """Many sealed digests, concatenated, opened in one call."""
        opener = Cipher(algorithms.AES(self._digest_key), modes.ECB()).decryptor()
        return opener.update(sealed) + opener.finalize()

    def seal(self, number: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, number.encode(), _AAD)
        return SEALED_PREFIX + base64.b64encode(nonce + sealed).decode()

    def open(self, text: str) -> str:
        if not text.startswith(SEALED_PREFIX):
            raise NumberKeyError("a stored 個人番号 is not sealed (the store was not migrated)")
        raw = base64.b64decode(text[len(SEALED_PREFIX) :])
        try:
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _AAD).decode()
        except InvalidTag as err:
            raise NumberKeyError("a stored 個人番号 does not open with this key (wrong key file?)") from err

    def seal_bytes(self, data: bytes) -> bytes:
        """A whole message that holds a 個人番号 (a 送付先情報 as received), sealed with AES-GCM:
        nonce + ciphertext, under its own associated data (it never opens as a sealed number)."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data, _BYTES_AAD)

    def open_bytes(self, sealed: bytes) -> bytes:
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _BYTES_AAD)
        except InvalidTag as err:
            raise NumberKeyError("a stored message does not open with this key (wrong key file?)") from err

    def seal_secret(self, secret: str, owner: str) -> str:
        """An operator's TOTP secret sealed with AES-GCM, bound to ``owner`` (the operator id) by
        the associated data, so that a sealed secret copied to another account does not open."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, secret.encode(), _SECRET_AAD + owner.encode())
        return SEALED_SECRET_PREFIX + base64.b64encode(nonce + sealed).decode()

    def open_secret(self, text: str, owner: str) -> str:
        if not text.startswith(SEALED_SECRET_PREFIX):
            raise NumberKeyError("a stored TOTP secret is not sealed (the store was not migrated)")
        raw = base64.b64decode(text[len(SEALED_SECRET_PREFIX) :])
        try:
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _SECRET_AAD + owner.encode()).decode()
        except InvalidTag as err:
            raise NumberKeyError("a stored TOTP secret does not open with this key for this operator") from err

    def blind(self, number: str) -> str:
        return hmac.digest(self._index_key, number.encode(), "sha256").hex()  # one-shot: = hmac.new().hexdigest()

    def seal_json(self, text: str, number: str, sealed: str | None = None) -> str:
        """``text`` (compact JSON with ``"individual_number":"<number>"`` once) with the number
        sealed; ``sealed``: the number's token from ``seal(number)`` when the caller already has
        one (the same 個人番号 stored twice, in a version and in its notice, is sealed once: the
        second row holds a copy of the same ciphertext, no nonce is used for a second plaintext)."""
        clear = f'"{FIELD}":"{number}"'
        if text.count(clear) != 1:
            raise ValueError("the stored JSON does not carry the 個人番号 exactly once")
        if sealed is None:
            sealed = self.seal(number)
        elif not sealed.startswith(SEALED_PREFIX):
            raise ValueError("not a sealed 個人番号")
        return text.replace(clear, f'"{FIELD}":"{sealed}"')

    def open_dict(self, data: dict[str, Any]) -> dict[str, Any]:
        data[FIELD] = self.open(data[FIELD])
        return data


def _write_new_key(path: Path) -> bytes:
    key = secrets.token_bytes(KEY_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    return key


def stored_check(conn: sqlite3.Connection) -> str | None:
    """The key check value the store was sealed under (None: nothing sealed yet)."""
    try:
        row = conn.execute("SELECT check_value FROM store_keys WHERE name = 'individual_number'").fetchone()
    except sqlite3.OperationalError:
        return None  # before migration 7
    return row[0] if row else None


def open_cipher(conn: sqlite3.Connection, key_path: Path, *, may_create: bool) -> NumberCipher:
    """The cipher of the store on ``conn``: the key file read (or made, when allowed and the store
    holds no sealed number) and checked against the store's check value."""
    key_path = Path(key_path)
    check = stored_check(conn)
    if key_path.exists():
        cipher = NumberCipher(key_path.read_bytes())
        if check is not None and not hmac.compare_digest(check, cipher.check):
            raise NumberKeyError(f"{key_path}: this 個人番号 key is not the one the store was sealed with")
        return cipher
    if check is not None or not may_create:
        raise NumberKeyError(
            f"{key_path}: the 個人番号 key file is missing; restore it (the store's 個人番号 cannot be read without it)"
        )
    return NumberCipher(_write_new_key(key_path))
