"""Revocation for the dev PKI: ``revoked.json`` (the state) and ``crl.pem`` (the CRL).

The issuing CA (intermediate) signs the CRL. ``revoked.json`` maps a serial in lowercase hex to
``{"date": ISO-8601 UTC, "reason": ReasonFlags name, "subject": RFC 4514 string}``; ``crl.pem``
is always regenerated from it, so the JSON is the single source of truth. Writers replace both
files atomically (os.replace), so a reader (the gateway's RevocationChecker) never sees half a file.
Single writer assumed (an operator's CLI); there is no lock between concurrent revokes.

``issue`` and ``rotate`` live in ``pki.lifecycle`` and are re-exported here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization

from pki.dev_pki import (
    CRL_FILE,
    INTERMEDIATE_CERT_FILE,
    INTERMEDIATE_KEY_FILE,
    REVOKED_FILE,
    CertificateAuthority,
    load_ca_files,
    write_file,
)
from pki.lifecycle import IssuedFiles, issue, rotate

__all__ = [
    "DEFAULT_NEXT_UPDATE_DAYS",
    "IssuedFiles",
    "Revocation",
    "build_crl",
    "issue",
    "load_revocations",
    "parse_reason",
    "parse_serial",
    "revoke",
    "rotate",
    "write_crl",
    "write_revocations",
]

DEFAULT_NEXT_UPDATE_DAYS = 7
_HEX_SERIAL = re.compile(r"(?:0x)?([0-9a-f]+)")
# A certificate already expired may be removed from a CRL (RFC 5280 3.3); we keep entries: the
# dev PKI is small and keeping them is the conservative choice.
_NOT_A_REVOCATION = frozenset({x509.ReasonFlags.remove_from_crl})


@dataclass(frozen=True)
class Revocation:
    """One revoked certificate, as kept in revoked.json."""

    serial: int
    date: datetime
    reason: x509.ReasonFlags
    subject: str = ""

    def to_json(self) -> dict[str, str]:
        return {"date": self.date.isoformat(), "reason": self.reason.name, "subject": self.subject}


def parse_reason(reason: str | x509.ReasonFlags) -> x509.ReasonFlags:
    """A CRL reason: enum name (``key_compromise``), RFC name (``keyCompromise``) or CLI form (``key-compromise``)."""
    if isinstance(reason, x509.ReasonFlags):
        flag = reason
    else:
        text = str(reason).strip()
        by_name = {f.name: f for f in x509.ReasonFlags}
        by_value = {f.value.lower(): f for f in x509.ReasonFlags}
        flag = by_name.get(text.replace("-", "_").lower()) or by_value.get(text.replace("-", "").lower())  # type: ignore[assignment]
        if flag is None:
            names = ", ".join(f.name for f in x509.ReasonFlags if f not in _NOT_A_REVOCATION)
            raise ValueError(f"unknown revocation reason {reason!r}; expected one of {names}")
    if flag in _NOT_A_REVOCATION:
        raise ValueError(f"{flag.name} is only meaningful in delta CRLs")
    return flag


def parse_serial(text: str) -> int:
    """A serial number from hex (``0x`` prefix and ``:`` separators allowed), as printed by openssl."""
    cleaned = text.strip().lower().replace(":", "")
    match = _HEX_SERIAL.fullmatch(cleaned)
    if not match:
        raise ValueError(f"{text!r} is neither a certificate file nor a hexadecimal serial number")
    serial = int(match.group(1), 16)
    if serial <= 0:
        raise ValueError("serial numbers are positive")
    return serial


def load_revocations(pki_dir: Path) -> dict[int, Revocation]:
    """revoked.json as {serial: Revocation}; a missing file means nothing is revoked."""
    path = Path(pki_dir) / REVOKED_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object of serial -> record")
    revocations: dict[int, Revocation] = {}
    for serial_hex, record in data.items():
        try:
            serial = int(serial_hex, 16)
            revocations[serial] = Revocation(
                serial=serial,
                date=_aware(datetime.fromisoformat(record["date"])),
                reason=parse_reason(record["reason"]),
                subject=str(record.get("subject", "")),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{path}: bad entry {serial_hex!r}: {err}") from err
    return revocations


def write_revocations(pki_dir: Path, revocations: Mapping[int, Revocation], *, overwrite: bool = True) -> Path:
    """Write revoked.json atomically (mode 0644), sorted by serial."""
    path = Path(pki_dir) / REVOKED_FILE
    data = {format(serial, "x"): revocations[serial].to_json() for serial in sorted(revocations)}
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    write_file(path, text.encode("utf-8"), 0o644, overwrite=overwrite)
    return path


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetimes must be timezone-aware")
    return value.astimezone(UTC)


def _now(now: datetime | None) -> datetime:
    return datetime.now(UTC) if now is None else _aware(now)


def _issuing_ca(pki_dir: Path) -> CertificateAuthority:
    directory = Path(pki_dir)
    return load_ca_files(directory / INTERMEDIATE_CERT_FILE, directory / INTERMEDIATE_KEY_FILE)


def _subject_of(pki_dir: Path, serial: int) -> str:
    """The subject of a certificate file in the PKI directory with this serial, if there is one."""
    for path in sorted(Path(pki_dir).glob("*.crt")):
        try:
            cert = x509.load_pem_x509_certificate(path.read_bytes())
        except (OSError, ValueError):
            continue
        if cert.serial_number == serial:
            return cert.subject.rfc4514_string()
    return ""


def revoke(
    pki_dir: Path,
    cert_path_or_serial: Path | str | int,
    reason: str | x509.ReasonFlags = x509.ReasonFlags.unspecified,
    *,
    now: datetime | None = None,
    write: bool = True,
    next_update_days: int = DEFAULT_NEXT_UPDATE_DAYS,
) -> Revocation:
    """Record a revocation in revoked.json and (``write=True``) re-sign crl.pem.

    The target is a certificate file (first PEM certificate; it must have been issued by the
    issuing CA), a serial number (int) or a hexadecimal serial (str that is not an existing file).
    Revoking an already revoked serial keeps the first record.
    """
    directory = Path(pki_dir)
    flag = parse_reason(reason)
    issuing = _issuing_ca(directory)
    if isinstance(cert_path_or_serial, int) and not isinstance(cert_path_or_serial, bool):
        serial, subject = cert_path_or_serial, _subject_of(directory, cert_path_or_serial)
    elif isinstance(cert_path_or_serial, Path) or Path(str(cert_path_or_serial)).is_file():
        cert = x509.load_pem_x509_certificate(Path(cert_path_or_serial).read_bytes())
        if cert.issuer != issuing.cert.subject:
            raise ValueError(f"{cert_path_or_serial} was not issued by this PKI's issuing CA")
        try:
            cert.verify_directly_issued_by(issuing.cert)
        except (InvalidSignature, ValueError, TypeError) as err:
            raise ValueError(f"{cert_path_or_serial} claims this PKI's issuing CA but was not signed by it") from err
        serial, subject = cert.serial_number, cert.subject.rfc4514_string()
    elif isinstance(cert_path_or_serial, str):
        serial = parse_serial(cert_path_or_serial)
        subject = _subject_of(directory, serial)
    else:
        raise TypeError("expected a certificate path, an int serial or a hex serial string")
    if serial <= 0:
        raise ValueError("serial numbers are positive")

    revocations = load_revocations(directory)
    record = revocations.get(serial)
    if record is None:
        record = Revocation(serial=serial, date=_now(now).replace(microsecond=0), reason=flag, subject=subject)
        revocations[serial] = record
        write_revocations(directory, revocations)
    if write:
        write_crl(directory, next_update_days=next_update_days, now=now)
    return record


def build_crl(
    issuer: CertificateAuthority,
    revocations: Mapping[int, Revocation],
    *,
    this_update: datetime,
    next_update: datetime,
    crl_number: int,
) -> x509.CertificateRevocationList:
    """A CRL signed by `issuer` listing `revocations` (no reason code for 'unspecified', per RFC 5280)."""
    if next_update <= this_update:
        raise ValueError("next_update must be later than this_update")
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(crl_number), critical=False)
        .add_extension(issuer._authority_key_identifier(), critical=False)
    )
    for serial in sorted(revocations):
        record = revocations[serial]
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(record.date)
        if record.reason is not x509.ReasonFlags.unspecified:
            entry = entry.add_extension(x509.CRLReason(record.reason), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(issuer.key, hashes.SHA256())


def _next_crl_number(path: Path) -> int:
    """One more than the current CRL's number (CRL numbers only grow), else 1."""
    try:
        current = x509.load_pem_x509_crl(path.read_bytes())
        number = current.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except (OSError, ValueError, x509.ExtensionNotFound):
        return 1
    return number + 1


def write_crl(
    pki_dir: Path,
    *,
    next_update_days: int = DEFAULT_NEXT_UPDATE_DAYS,
    now: datetime | None = None,
) -> Path:
    """Sign crl.pem (PEM) from revoked.json with the issuing CA; this_update = now,
    next_update = now + next_update_days. Replaces the file atomically; returns its path."""
    if next_update_days <= 0:
        raise ValueError("next_update_days must be positive")
    directory = Path(pki_dir)
    path = directory / CRL_FILE
    this_update = _now(now).replace(microsecond=0)
    crl = build_crl(
        _issuing_ca(directory),
        load_revocations(directory),
        this_update=this_update,
        next_update=this_update + timedelta(days=next_update_days),
        crl_number=_next_crl_number(path),
    )
    write_file(path, crl.public_bytes(serialization.Encoding.PEM), 0o644, overwrite=True)
    return path
