"""The operator's secrets: the password's memory-hard hash (argon2id, argon2-cffi) and the TOTP
second factor (pyotp), the stand-in for the seed's biometric operator authentication.

The one place that touches operator secrets. Every comparison is constant-time
(argon2's own verify; ``hmac.compare_digest`` over every TOTP step of the window, without an
early exit). ``verify_password(None, ...)`` runs the same verify on a dummy hash, so that an
unknown operator costs the same time as a wrong password (no account oracle by timing).
"""

from __future__ import annotations

import hmac
import secrets
from functools import lru_cache

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2id with RFC 9106's second recommended profile (argon2-cffi's defaults): t=3, m=64 MiB, p=4.
_HASHER = PasswordHasher()
TOTP_PERIOD_S = 30
TOTP_DIGITS = 6
TOTP_WINDOW = 1  # steps accepted either side of "now" (clock drift of the authenticator)
MIN_PASSWORD_LENGTH = 12


class WeakPasswordError(ValueError):
    """A new password that does not meet the policy (the message says which rule)."""


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPasswordError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    return _HASHER.hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _HASHER.hash(secrets.token_urlsafe(24))


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True if ``password`` matches; with ``stored_hash=None`` the same work on a dummy hash, False."""
    try:
        ok = _HASHER.verify(stored_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        ok = False
    return ok and stored_hash is not None


def new_totp_secret() -> str:
    return pyotp.random_base32()  # 160 bits, base32 (RFC 6238 / Google Authenticator)


_DUMMY_SECRET = pyotp.random_base32()


def totp_step(secret: str | None, code: str, at: float) -> int | None:
    """The TOTP time step within the window at ``at`` (unix seconds) whose code is ``code``, else
    None. Every step of the window is compared (constant time); ``secret=None`` does the same on
    a dummy secret and returns None."""
    totp = pyotp.TOTP(secret or _DUMMY_SECRET, digits=TOTP_DIGITS, interval=TOTP_PERIOD_S)
    now_step = int(at) // TOTP_PERIOD_S
    given = code.strip().encode()
    found: int | None = None
    for step in range(now_step - TOTP_WINDOW, now_step + TOTP_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step).encode(), given) and found is None:
            found = step
    return found if secret is not None else None


def totp_code(secret: str, at: float) -> str:
    """The code an authenticator shows at ``at`` (the demo and the tests compute it)."""
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD_S).at(int(at))


def provisioning_uri(secret: str, operator_id: str, issuer: str) -> str:
    """otpauth:// URI for an authenticator app (shown once, at enrolment or reset)."""
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD_S).provisioning_uri(
        name=operator_id, issuer_name=issuer
    )
