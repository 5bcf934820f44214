"""Revocation of peer certificates by CRL, checked on every RPC (fail closed).

The CRL file (PEM or DER) is signed by the issuing CA. It is cached; every call stats the file
(and the issuer bundle, when given as a path) and reloads only when (st_mtime_ns, st_size, st_ino)
changed, so an ``os.replace`` of a new CRL is picked up without restart. After a failed load the
files are read again at most once per RETRY_AFTER_FAILURE seconds even without a visible change
(coarse file system timestamps). A serial lookup is one frozenset membership test.

Every problem refuses: a missing or unparsable CRL, a bad signature, a CRL past its next_update
(plus `grace`), a CRL not yet valid, a CRL with critical extensions we do not process (a delta
CRL, an indirect CRL). It deliberately does not import grpc.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final, Literal

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

from ..clock import utc_now
from .crl_high_water import CrlHighWater
from .spki import spki_sha256

RevocationReason = Literal[
    "REVOKED",  # the serial is listed
    "CRL_UNAVAILABLE",  # CRL (or issuer bundle) missing, unreadable or unparsable
    "CRL_SIGNATURE_INVALID",  # no configured issuer with the CRL's issuer name verifies its signature
    "CRL_STALE",  # now > next_update + grace, or no next_update at all
    "CRL_NOT_YET_VALID",  # this_update is in the future (beyond the clock skew + grace)
    "CRL_UNSUPPORTED",  # a critical CRL or entry extension we do not process (delta/indirect CRL)
    "CRL_ISSUER_MISMATCH",  # check(cert): the certificate was issued by a CA this CRL does not cover
    "BAD_CERTIFICATE",  # check(cert): the leaf cannot be parsed
    "CRL_ROLLED_BACK",  # an older CRL than one already in force (lower number or older thisUpdate)
    "CRL_STATE_UNUSABLE",  # the durable record of the newest CRL cannot be read or written
]

REVOKED: Final = "REVOKED"
CRL_UNAVAILABLE: Final = "CRL_UNAVAILABLE"
CRL_SIGNATURE_INVALID: Final = "CRL_SIGNATURE_INVALID"
CRL_STALE: Final = "CRL_STALE"
CRL_NOT_YET_VALID: Final = "CRL_NOT_YET_VALID"
CRL_UNSUPPORTED: Final = "CRL_UNSUPPORTED"
CRL_ISSUER_MISMATCH: Final = "CRL_ISSUER_MISMATCH"
BAD_CERTIFICATE: Final = "BAD_CERTIFICATE"
CRL_ROLLED_BACK: Final = "CRL_ROLLED_BACK"

CLOCK_SKEW = timedelta(minutes=5)  # tolerated for this_update only
RETRY_AFTER_FAILURE = 1.0  # seconds

StatKey = tuple[int, int, int]


@dataclass(frozen=True)
class CrlStatus:
    """The cached CRL as last loaded (for health checks and logs); `error` is None when usable."""

    error: RevocationReason | None
    revoked_count: int = 0
    crl_number: int | None = None
    this_update: datetime | None = None
    next_update: datetime | None = None
    issuer: str | None = None


@dataclass(frozen=True)
class _State:
    key: tuple[StatKey | None, StatKey | None]
    loaded_at: float  # time.monotonic()
    error: RevocationReason | None
    serials: frozenset[int] = frozenset()
    issuer: x509.Name | None = None
    issuer_der: bytes = b""  # the CRL issuer's name, DER (compared on every call: bytes are cheap)
    this_update: datetime | None = None
    next_update: datetime | None = None
    crl_number: int | None = None


def _stat_key(path: str) -> StatKey | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class RevocationChecker:
    """Answers "may this certificate serial be accepted?" from a CRL on disk.

    `issuer_certs` are the CAs that may sign the CRL (the issuing intermediate): a list of
    certificates, or the path of a PEM bundle (re-read when it changes). The CRL is verified
    with the one whose subject equals the CRL's issuer name.
    `clock` returns an aware datetime (default: UTC now); `grace` extends next_update.
    `stat_interval` (seconds, default 0: every call) lets a busy server stat the files at most
    that often while the CRL is good; a replaced CRL is then seen within that interval.
    `high_water` (crl_high_water.CrlHighWater) refuses a CRL older than the newest seen of its
    issuer (CRL_ROLLED_BACK: every call is refused until a CRL at least as new is in place);
    without it, the checker keeps the mark in memory only.
    Thread-safe; reloads are serialised by a lock, lookups take none.
    """

    def __init__(
        self,
        crl_path: Path,
        issuer_certs: Sequence[x509.Certificate] | Path | str,
        *,
        clock: Callable[[], datetime] = utc_now,
        grace: timedelta = timedelta(0),
        stat_interval: float = 0.0,
        high_water: CrlHighWater | None = None,
    ) -> None:
        if grace < timedelta(0):
            raise ValueError("grace must not be negative")
        if stat_interval < 0:
            raise ValueError("stat_interval must not be negative")
        self._stat_interval = stat_interval
        self._next_stat = float("-inf")
        self._crl_path = Path(crl_path)
        self._issuer_path: Path | None = None
        self._issuers: tuple[x509.Certificate, ...] = ()
        if isinstance(issuer_certs, str | os.PathLike):
            self._issuer_path = Path(issuer_certs)
        else:
            self._issuers = tuple(issuer_certs)
            if not all(isinstance(c, x509.Certificate) for c in self._issuers):
                raise TypeError("issuer_certs must be x509.Certificate objects or a PEM bundle path")
        self._crl_str = os.fspath(self._crl_path)  # os.stat on a str: the per-call cost is two stats
        self._issuer_str = os.fspath(self._issuer_path) if self._issuer_path is not None else None
        self._clock = clock
        self._grace = grace
        self._high_water = high_water if high_water is not None else CrlHighWater(None)
        self._lock = threading.Lock()
        # loaded_at = -inf: the first call loads whatever the stat keys are.
        self._state = _State(key=(None, None), loaded_at=float("-inf"), error=CRL_UNAVAILABLE)

    @property
    def crl_path(self) -> Path:
        return self._crl_path

    def check(self, leaf: bytes | str | x509.Certificate) -> RevocationReason | None:
        """None if the leaf (PEM, first certificate, or a parsed certificate) is acceptable, else a reason."""
        if isinstance(leaf, x509.Certificate):
            cert = leaf
        else:
            try:
                cert = x509.load_pem_x509_certificate(leaf.encode("ascii") if isinstance(leaf, str) else bytes(leaf))
            except (ValueError, TypeError, UnicodeError, x509.InvalidVersion):
                return BAD_CERTIFICATE
        state = self._current()
        if state.error is None and cert.issuer != state.issuer:
            return CRL_ISSUER_MISMATCH
        return self._verdict(state, cert.serial_number)

    def check_issued(self, serial: int, issuer_der: bytes) -> RevocationReason | None:
        """None if the certificate with this serial, issued by the CA named `issuer_der` (DER of
        its subject), is acceptable: this CRL must be that CA's, and must not list the serial."""
        state = self._current()
        if state.error is None and state.issuer_der != issuer_der:
            return CRL_ISSUER_MISMATCH
        return self._verdict(state, serial)

    def check_serial(self, serial: int) -> RevocationReason | None:
        """None if a certificate with this serial (issued by the CRL's issuer) is acceptable, else a reason."""
        return self._verdict(self._current(), serial)

    def status(self) -> CrlStatus:
        """The CRL currently in use (reloaded first if the files changed)."""
        state = self._current()
        error = state.error or self._freshness(state)
        return CrlStatus(
            error=error,
            revoked_count=len(state.serials),
            crl_number=state.crl_number,
            this_update=state.this_update,
            next_update=state.next_update,
            issuer=state.issuer.rfc4514_string() if state.issuer is not None else None,
        )

    # -- internals ---------------------------------------------------------------------------

    def _verdict(self, state: _State, serial: int) -> RevocationReason | None:
        if state.error is not None:
            return state.error
        stale = self._freshness(state)
        if stale is not None:
            return stale
        return REVOKED if serial in state.serials else None

    def _freshness(self, state: _State) -> RevocationReason | None:
        if state.next_update is None or state.this_update is None:
            return CRL_STALE
        now = self._clock()
        if now > state.next_update + self._grace:
            return CRL_STALE
        if now + CLOCK_SKEW + self._grace < state.this_update:
            return CRL_NOT_YET_VALID
        return None

    def _current(self) -> _State:
        state = self._state
        if self._stat_interval:
            moment = time.monotonic()
            if moment < self._next_stat and state.error is None:
                return state
            self._next_stat = moment + self._stat_interval
        key = (_stat_key(self._crl_str), _stat_key(self._issuer_str) if self._issuer_str else None)
        if _usable(state, key):
            return state
        with self._lock:
            state = self._state
            if not _usable(state, key):
                try:
                    state = self._load(key)
                except Exception:  # noqa: BLE001 - fail closed on anything the parsers may raise
                    state = _State(key=key, loaded_at=time.monotonic(), error=CRL_UNAVAILABLE)
                self._state = state
            return state

    def _load(self, key: tuple[StatKey | None, StatKey | None]) -> _State:
        now = time.monotonic()

        def failed(reason: RevocationReason) -> _State:
            return _State(key=key, loaded_at=now, error=reason)

        if key[0] is None:
            return failed(CRL_UNAVAILABLE)
        try:
            data = self._crl_path.read_bytes()
            crl = x509.load_pem_x509_crl(data) if b"-----BEGIN" in data else x509.load_der_x509_crl(data)
        except (OSError, ValueError):
            return failed(CRL_UNAVAILABLE)

        issuers = self._issuers
        if self._issuer_path is not None:
            try:
                issuers = tuple(x509.load_pem_x509_certificates(self._issuer_path.read_bytes()))
            except (OSError, ValueError):
                return failed(CRL_UNAVAILABLE)
        signer = _signed_by_one_of(crl, issuers)
        if signer is None:
            return failed(CRL_SIGNATURE_INVALID)

        try:
            if any(ext.critical for ext in crl.extensions):
                return failed(CRL_UNSUPPORTED)
            serials: set[int] = set()
            for entry in crl:
                if any(ext.critical for ext in entry.extensions):
                    return failed(CRL_UNSUPPORTED)
                serials.add(entry.serial_number)
            try:
                number: int | None = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
            except x509.ExtensionNotFound:
                number = None
            this_update, next_update = crl.last_update_utc, crl.next_update_utc
        except (ValueError, TypeError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType):
            return failed(CRL_UNAVAILABLE)
        refused = self._high_water.admit(spki_sha256(signer), number, this_update, crl=self._crl_str)
        if refused is not None:
            return failed(refused)
        return _State(
            key=key,
            loaded_at=now,
            error=None,
            serials=frozenset(serials),
            issuer=crl.issuer,
            issuer_der=crl.issuer.public_bytes(),
            this_update=this_update,
            next_update=next_update,
            crl_number=number,
        )


def _usable(state: _State, key: tuple[StatKey | None, StatKey | None]) -> bool:
    """The cached state answers for these files (a failure is retried after RETRY_AFTER_FAILURE)."""
    if key != state.key:
        return False
    return state.error is None or time.monotonic() - state.loaded_at < RETRY_AFTER_FAILURE


def _signed_by_one_of(
    crl: x509.CertificateRevocationList, issuers: Sequence[x509.Certificate]
) -> x509.Certificate | None:
    """The CA named as the CRL's issuer, allowed to sign CRLs, that verifies its signature."""
    for issuer in issuers:
        if issuer.subject != crl.issuer or not _may_sign_crls(issuer):
            continue
        try:
            if crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
                return issuer
        except (ValueError, TypeError, UnsupportedAlgorithm):
            continue
    return None


def _may_sign_crls(cert: x509.Certificate) -> bool:
    try:
        basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        if not basic.ca:
            return False
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except (x509.ExtensionNotFound, x509.DuplicateExtension, ValueError):
        return False  # fail closed: a CRL signer must say it is a CA allowed to sign CRLs
    return usage.crl_sign
