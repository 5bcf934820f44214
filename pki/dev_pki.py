"""Throwaway development PKI: a self-signed CA and one SPIFFE leaf per role.

Keys are written unencrypted (PKCS8 PEM, mode 0600). Development and tests only.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pki.profiles import ROLE_PROFILES, ROLES

CLOCK_SKEW = timedelta(minutes=5)
_LABEL = re.compile(r"[a-z0-9-]{1,63}")
_SERVER_DNS = ("localhost",)
_SERVER_IPS = ("127.0.0.1", "::1")


def spiffe_id(trust_domain: str, role: str, host: str) -> str:
    """The SPIFFE ID a peer certificate carries: spiffe://<trust_domain>/<role>/<host>."""
    return f"spiffe://{trust_domain}/{role}/{host}"


def _utc(value: datetime | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetimes must be timezone-aware")
    return value.astimezone(UTC)


def _dedupe(values: tuple[str, ...]) -> list[str]:
    return list(dict.fromkeys(values))


@dataclass(frozen=True)
class IssuedCertificate:
    """A leaf certificate and its private key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return _key_pem(self.key)


@dataclass(frozen=True)
class CertificateAuthority:
    """The dev CA certificate and its signing key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(
        self,
        role: str,
        host: str,
        *,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        trust_domain: str,
        dns_names: tuple[str, ...] = (),
        ip_addresses: tuple[str, ...] = (),
        extra_uris: tuple[str, ...] = (),
    ) -> IssuedCertificate:
        """Issue a leaf for `role`/`host` with exactly one SPIFFE URI SAN.

        `extra_uris` adds more URI SANs; only tests use it, to build bad certs.
        Without explicit dates the cert is valid from now (minus clock skew) for the
        profile lifetime; a past `not_after` alone yields an already expired cert.
        """
        profile = ROLE_PROFILES.get(role)
        if profile is None:
            raise ValueError(f"unknown role {role!r}; expected one of {ROLES}")
        if not _LABEL.fullmatch(host):
            raise ValueError(f"host {host!r} must be 1-63 chars of [a-z0-9-]")
        lifetime = timedelta(days=profile.lifetime_days)
        start = _utc(not_before) if not_before is not None else _utc(None) - CLOCK_SKEW
        if not_after is not None:
            end = _utc(not_after)
            if not_before is None and end <= start:
                start = end - lifetime
        else:
            end = start + lifetime
        if end <= start:
            raise ValueError("not_after must be later than not_before")

        dns = _dedupe((*_SERVER_DNS, *dns_names) if profile.is_server else dns_names)
        ips = _dedupe((*_SERVER_IPS, *ip_addresses) if profile.is_server else ip_addresses)
        uris = _dedupe((spiffe_id(trust_domain, role, host), *extra_uris))
        san: list[x509.GeneralName] = [x509.UniformResourceIdentifier(u) for u in uris]
        san += [x509.DNSName(d) for d in dns]
        san += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]

        key = profile.generate_key()
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, host),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, role),
            ]
        )
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(profile.x509_key_usage(), critical=True)
            .add_extension(x509.ExtendedKeyUsage(list(profile.extended_key_usages)), critical=False)
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                critical=False,
            )
            .add_extension(self._authority_key_identifier(), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return IssuedCertificate(cert=cert, key=key)

    def _authority_key_identifier(self) -> x509.AuthorityKeyIdentifier:
        try:
            ski = self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        except x509.ExtensionNotFound:
            return x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key())
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski.value)


def create_ca(
    common_name: str = "cs-gateway dev CA (機構 root stand-in)",
    *,
    lifetime_days: int = 3650,
    now: datetime | None = None,
) -> CertificateAuthority:
    """A self-signed EC P-256 CA that may only sign leaves (pathlen 0)."""
    start = _utc(now) - CLOCK_SKEW
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cs-gateway dev"),
        ]
    )
    public_key = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=lifetime_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    return CertificateAuthority(cert=cert, key=key)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_file(path: Path, data: bytes, mode: int, *, overwrite: bool) -> None:
    """Write `data` with `mode`: exclusive create, or atomic replace."""
    if overwrite:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        target = Path(name)
    else:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode)
        target = path
    try:
        os.fchmod(fd, mode)  # independent of the umask
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(target, path)
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def write_key_pem(path: Path, key: ec.EllipticCurvePrivateKey, *, overwrite: bool = False) -> None:
    """Write an unencrypted PKCS8 PEM private key, mode 0600."""
    _write_file(Path(path), _key_pem(key), 0o600, overwrite=overwrite)


def write_cert_pem(path: Path, cert: x509.Certificate, *, overwrite: bool = False) -> None:
    """Write a PEM certificate, mode 0644."""
    _write_file(
        Path(path),
        cert.public_bytes(serialization.Encoding.PEM),
        0o644,
        overwrite=overwrite,
    )


@dataclass(frozen=True)
class DevPki:
    """Where init_dev_pki put the CA and the per-role certificates."""

    directory: Path
    trust_domain: str

    @property
    def ca_cert_path(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def ca_key_path(self) -> Path:
        return self.directory / "ca.key"

    def cert_path(self, role: str) -> Path:
        return self.directory / f"{_known_role(role)}.crt"

    def key_path(self, role: str) -> Path:
        return self.directory / f"{_known_role(role)}.key"

    def load_ca(self) -> CertificateAuthority:
        """Reload the CA (e.g. to issue expired or not-yet-valid certs in tests)."""
        cert = x509.load_pem_x509_certificate(self.ca_cert_path.read_bytes())
        key = serialization.load_pem_private_key(self.ca_key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{self.ca_key_path} is not an EC private key")
        if key.public_key() != cert.public_key():
            raise ValueError(f"{self.ca_key_path} does not match {self.ca_cert_path}")
        return CertificateAuthority(cert=cert, key=key)


def _known_role(role: str) -> str:
    if role not in ROLE_PROFILES:
        raise ValueError(f"unknown role {role!r}; expected one of {ROLES}")
    return role


def init_dev_pki(
    directory: Path,
    *,
    trust_domain: str = "hirosaki.jukinet.test",
    now: datetime | None = None,
    overwrite: bool = False,
) -> DevPki:
    """Create `directory` (0700): ca.crt/ca.key plus <role>.crt/<role>.key per role."""
    pki = DevPki(directory=Path(directory), trust_domain=trust_domain)
    if not pki.directory.exists():
        pki.directory.mkdir(mode=0o700, parents=True)
        os.chmod(pki.directory, 0o700)  # mkdir's mode is filtered by the umask
    elif not pki.directory.is_dir():
        raise NotADirectoryError(f"{pki.directory} is not a directory")
    if not overwrite:
        targets = [pki.ca_key_path, pki.ca_cert_path]
        targets += [p for role in ROLES for p in (pki.key_path(role), pki.cert_path(role))]
        existing = [p.name for p in targets if p.exists()]
        if existing:
            raise FileExistsError(
                f"refusing to overwrite the existing dev PKI in {pki.directory} "
                f"({', '.join(existing)} exist); pass overwrite=True (CLI: --overwrite)"
            )

    ca = create_ca(now=now)
    write_key_pem(pki.ca_key_path, ca.key, overwrite=overwrite)
    write_cert_pem(pki.ca_cert_path, ca.cert, overwrite=overwrite)
    start = _utc(now) - CLOCK_SKEW
    for role in ROLES:
        issued = ca.issue(role, f"{role}-01", trust_domain=trust_domain, not_before=start)
        write_key_pem(pki.key_path(role), issued.key, overwrite=overwrite)
        write_cert_pem(pki.cert_path(role), issued.cert, overwrite=overwrite)
    return pki


def main(argv: list[str] | None = None) -> int:
    """CLI: python -m pki.dev_pki [DIRECTORY] [--trust-domain TD] [--overwrite]."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("directory", nargs="?", type=Path, default=Path("pki/dev"))
    parser.add_argument("--trust-domain", default="hirosaki.jukinet.test")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    try:
        pki = init_dev_pki(args.directory, trust_domain=args.trust_domain, overwrite=args.overwrite)
    except FileExistsError as exc:
        parser.exit(1, f"error: {exc}\n")
    print(f"dev PKI for spiffe://{pki.trust_domain} written to {pki.directory}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
