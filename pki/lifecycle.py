"""Issuing extra leaves and rotating role certificates in a dev PKI directory.

Rotation is not revocation: the old certificate stays valid until it expires and is listed
nowhere. Revoke it separately (``pki.crl.revoke``) if its key is compromised.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509

from pki.dev_pki import (
    CLOCK_SKEW,
    INTERMEDIATE_CERT_FILE,
    INTERMEDIATE_KEY_FILE,
    RESERVED_STEMS,
    CertificateAuthority,
    DevPki,
    IssuedCertificate,
    load_ca_files,
    parse_spiffe_id,
    replace_staged,
    stage_file,
    write_file,
)
from pki.profiles import ROLE_PROFILES, ROLES


@dataclass(frozen=True)
class IssuedFiles:
    """Where a leaf (followed by the intermediate) and its key were written."""

    cert_path: Path
    key_path: Path
    serial: int
    spiffe_id: str
    not_after: datetime


def _issuing_ca(pki_dir: Path) -> CertificateAuthority:
    directory = Path(pki_dir)
    return load_ca_files(directory / INTERMEDIATE_CERT_FILE, directory / INTERMEDIATE_KEY_FILE)


def _files(issued: IssuedCertificate, cert_path: Path, key_path: Path) -> IssuedFiles:
    san = issued.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return IssuedFiles(
        cert_path=cert_path,
        key_path=key_path,
        serial=issued.cert.serial_number,
        spiffe_id=san.get_values_for_type(x509.UniformResourceIdentifier)[0],
        not_after=issued.cert.not_valid_after_utc,
    )


def _validity(
    days: int | None, not_before: datetime | None, not_after: datetime | None
) -> tuple[datetime | None, datetime | None]:
    if days is None:
        return not_before, not_after
    if not_after is not None:
        raise ValueError("pass either days or not_after, not both")
    if days <= 0:
        raise ValueError("days must be positive")
    start = not_before if not_before is not None else datetime.now(UTC) - CLOCK_SKEW
    return start, start + timedelta(days=days)


def issue(
    pki_dir: Path,
    role: str,
    host: str,
    *,
    days: int | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    trust_domain: str | None = None,
    dns_names: tuple[str, ...] = (),
    ip_addresses: tuple[str, ...] = (),
    overwrite: bool = False,
) -> IssuedFiles:
    """Issue a leaf for role/host from the issuing CA into ``<host>.crt`` (leaf + intermediate)
    and ``<host>.key`` (0600). The trust domain defaults to that of ``cs.crt`` in the folder.
    Hosts named like a role or a PKI file are refused (use rotate for role certificates)."""
    directory = Path(pki_dir)
    if host in RESERVED_STEMS or host in ROLES:
        raise ValueError(f"host {host!r} would overwrite a PKI file; choose e.g. {role}-02")
    if role not in ROLE_PROFILES:
        raise ValueError(f"unknown role {role!r}; expected one of {ROLES}")
    domain = trust_domain or DevPki.open(directory).trust_domain
    start, end = _validity(days, not_before, not_after)
    issued = _issuing_ca(directory).issue(
        role,
        host,
        trust_domain=domain,
        not_before=start,
        not_after=end,
        dns_names=dns_names,
        ip_addresses=ip_addresses,
    )
    cert_path, key_path = directory / f"{host}.crt", directory / f"{host}.key"
    if not overwrite and (cert_path.exists() or key_path.exists()):
        raise FileExistsError(f"{cert_path.name} or {key_path.name} exists; pass overwrite=True")
    if overwrite:
        replace_staged(
            [
                (stage_file(key_path, issued.key_pem, 0o600), key_path),
                (stage_file(cert_path, issued.cert_pem, 0o644), cert_path),
            ]
        )
    else:
        write_file(key_path, issued.key_pem, 0o600, overwrite=False)
        write_file(cert_path, issued.cert_pem, 0o644, overwrite=False)
    return _files(issued, cert_path, key_path)


def rotate(pki_dir: Path, role: str, *, days: int | None = None, now: datetime | None = None) -> IssuedFiles:
    """A new key and a new leaf for `role`, same SPIFFE ID and SANs as the current ``<role>.crt``;
    both files are replaced with os.replace (key first, then certificate). The old serial is not revoked."""
    if role not in ROLE_PROFILES:
        raise ValueError(f"unknown role {role!r}; expected one of {ROLES}")
    pki = DevPki.open(Path(pki_dir), role=role)
    cert_path, key_path = pki.cert_path(role), pki.key_path(role)
    current = x509.load_pem_x509_certificate(cert_path.read_bytes())
    san = current.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    if len(uris) != 1:
        raise ValueError(f"{cert_path} must carry exactly one SPIFFE URI SAN")
    trust_domain, current_role, host = parse_spiffe_id(uris[0])
    if current_role != role:
        raise ValueError(f"{cert_path} is for role {current_role!r}, not {role!r}")
    start = (now if now is not None else datetime.now(UTC)) - CLOCK_SKEW
    start, end = _validity(days, start, None)
    issued = _issuing_ca(pki.directory).issue(
        role,
        host,
        trust_domain=trust_domain,
        not_before=start,
        not_after=end,
        dns_names=tuple(san.get_values_for_type(x509.DNSName)),
        ip_addresses=tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress) if _is_address(ip)),
    )
    replace_staged(
        [
            (stage_file(key_path, issued.key_pem, 0o600), key_path),
            (stage_file(cert_path, issued.cert_pem, 0o644), cert_path),
        ]
    )
    return _files(issued, cert_path, key_path)


def _is_address(value: object) -> bool:
    return isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address)
