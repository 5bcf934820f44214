"""Operator sessions of the counter terminals: a short-lived token per login, bound to the
terminal's client certificate, ended by Logout, an idle timeout (the seed's screen-saver rule,
III(2)-3; default 5 minutes) and an absolute lifetime.

A session lives in the gateway's memory only: a restart ends every session (operators log in
again), which fails closed. Its opening is the login's audit entry (durable before the token is
given out), its end is audited by the caller of ``close``/``check``. The token is 256 random bits;
the table keys on its SHA-256, so a lookup by a guessed token leaks nothing by timing, and the
certificate binding is compared with ``hmac.compare_digest``. A token presented over another
certificate ends the session: it was stolen, or the terminal changed hands.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

METADATA_KEY = "x-cs-session"
DEFAULT_IDLE_TIMEOUT_S = 300
DEFAULT_LIFETIME_S = 8 * 3600

# Why a session check failed (the audit entry's rule; the caller hears only SESSION_REQUIRED).
MISSING = "session:missing"
UNKNOWN = "session:unknown"
OTHER_CERTIFICATE = "session:other-certificate"
IDLE_EXPIRED = "session:idle-expired"
EXPIRED = "session:expired"
ROLE_NOT_ALLOWED = "session:operator-role-not-allowed"


@dataclass(slots=True)
class Session:
    operator_id: str
    role: str
    cert_fingerprint: str
    opened: float
    last_used: float
    key: str  # SHA-256 of the token


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionTable:
    def __init__(
        self,
        *,
        idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
        lifetime_s: float = DEFAULT_LIFETIME_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.idle_timeout_s = idle_timeout_s
        self.lifetime_s = lifetime_s
        self.clock = clock
        self._sessions: dict[str, Session] = {}

    def open(self, operator_id: str, role: str, cert_fingerprint: str) -> str:
        """A new session (any earlier one of the operator ends: one session per operator); its token."""
        for key in [k for k, s in self._sessions.items() if s.operator_id == operator_id]:
            del self._sessions[key]
        token = secrets.token_urlsafe(32)
        now = self.clock()
        key = _key(token)
        self._sessions[key] = Session(operator_id, role, cert_fingerprint, now, now, key)
        return token

    def check(self, token: str | None, cert_fingerprint: str, roles: frozenset[str]) -> Session | str:
        """The live session of ``token`` over this certificate with one of ``roles`` (its idle
        clock restarted), or the rule it fails (an expired or misused session is ended)."""
        if not token:
            return MISSING
        session = self._sessions.get(_key(token))
        if session is None:
            return UNKNOWN
        now = self.clock()
        if not hmac.compare_digest(session.cert_fingerprint.encode(), cert_fingerprint.encode()):
            del self._sessions[session.key]
            return OTHER_CERTIFICATE
        if now - session.opened >= self.lifetime_s:
            del self._sessions[session.key]
            return EXPIRED
        if now - session.last_used >= self.idle_timeout_s:
            del self._sessions[session.key]
            return IDLE_EXPIRED
        if session.role not in roles:
            return ROLE_NOT_ALLOWED
        session.last_used = now
        return session

    def close(self, session: Session) -> None:
        self._sessions.pop(session.key, None)

    def __len__(self) -> int:
        return len(self._sessions)
