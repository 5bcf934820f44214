"""Throwaway development PKI modelled on 住基ネット: a root CA standing for the 機構 (J-LIS),
an issuing intermediate CA for this municipality's CS network, and one SPIFFE leaf per role.

Files in the PKI directory (0700):

* ``ca.crt``            the trust anchor bundle: the root certificate only
* ``root.key``          the root's key (dev only; a real root key never leaves J-LIS)
* ``intermediate.crt``  the issuing CA (pathlen 0), ``intermediate.key`` its key
* ``<role>.crt``        leaf followed by the intermediate (what a TLS peer sends), ``<role>.key``
* ``revoked.json``      revocation state (serial hex -> date, reason, subject), see ``pki.crl``
* ``crl.pem``           the CRL signed by the issuing CA

Keys are written unencrypted (PKCS8 PEM, mode 0600). Development and tests only.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import secrets
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pki.profiles import ROLE_PROFILES, ROLES

CLOCK_SKEW = timedelta(minutes=5)
ROOT_LIFETIME_DAYS = 3650
INTERMEDIATE_LIFETIME_DAYS = 1825
_LABEL = re.compile(r"[a-z0-9-]{1,63}")
_SERVER_DNS = ("localhost",)
_SERVER_IPS = ("127.0.0.1", "::1")
_DEV_ORG = "cs-gateway dev"

# File names inside a PKI directory.
CA_CERT_FILE = "ca.crt"
ROOT_KEY_FILE = "root.key"
INTERMEDIATE_CERT_FILE = "intermediate.crt"
INTERMEDIATE_KEY_FILE = "intermediate.key"
CRL_FILE = "crl.pem"
REVOKED_FILE = "revoked.json"
# Hosts that would clobber one of the files above if a leaf were written as <host>.crt/.key.
RESERVED_STEMS = frozenset({"ca", "root", "intermediate", "crl", "revoked"})


def spiffe_id(trust_domain: str, role: str, host: str) -> str:
    """The SPIFFE ID a peer certificate carries: spiffe://<trust_domain>/<role>/<host>."""
    return f"spiffe://{trust_domain}/{role}/{host}"


def parse_spiffe_id(uri: str) -> tuple[str, str, str]:
    """(trust_domain, role, host) of spiffe://<trust_domain>/<role>/<host>, else ValueError."""
    prefix = "spiffe://"
    if not uri.startswith(prefix):
        raise ValueError(f"{uri!r} is not a SPIFFE ID")
    domain, _, path = uri[len(prefix) :].partition("/")
    parts = path.split("/")
    if not domain or len(parts) != 2 or not all(_LABEL.fullmatch(p) for p in parts):
        raise ValueError(f"{uri!r} is not spiffe://<trust_domain>/<role>/<host>")
    return domain, parts[0], parts[1]


def _utc(value: datetime | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetimes must be timezone-aware")
    return value.astimezone(UTC)


def _dedupe(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _pem(certs: Iterable[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


@dataclass(frozen=True)
class IssuedCertificate:
    """A leaf certificate, its private key and the intermediates a TLS peer sends after it."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    chain: tuple[x509.Certificate, ...] = ()  # intermediates, nearest first; never the root

    @property
    def cert_pem(self) -> bytes:
        """Leaf followed by the intermediates: what TLS needs as ``certificate_chain``."""
        return _pem((self.cert, *self.chain))

    @property
    def leaf_pem(self) -> bytes:
        """The leaf alone."""
        return _pem((self.cert,))

    @property
    def key_pem(self) -> bytes:
        return _key_pem(self.key)


@dataclass(frozen=True)
class CertificateAuthority:
    """A CA certificate and its signing key.

    `parents` are the intermediates above this CA (nearest first, root excluded); a
    self-signed root has none. Leaves of this CA carry ``leaf_chain`` after themselves.
    """

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    parents: tuple[x509.Certificate, ...] = ()

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def is_root(self) -> bool:
        return self.cert.issuer == self.cert.subject

    @property
    def leaf_chain(self) -> tuple[x509.Certificate, ...]:
        """What a leaf of this CA sends after itself so that peers trusting only the root can build the path."""
        return () if self.is_root else (self.cert, *self.parents)

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
        return IssuedCertificate(cert=cert, key=key, chain=self.leaf_chain)

    def issue_intermediate(
        self,
        common_name: str,
        *,
        lifetime_days: int = INTERMEDIATE_LIFETIME_DAYS,
        now: datetime | None = None,
        path_length: int = 0,
    ) -> CertificateAuthority:
        """A subordinate CA signed by this one (default pathlen 0: it may only sign leaves)."""
        start = _utc(now) - CLOCK_SKEW
        end = min(start + timedelta(days=lifetime_days), self.cert.not_valid_after_utc)
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            _ca_builder(_ca_name(common_name), key, path_length, start, end)
            .issuer_name(self.cert.subject)
            .add_extension(self._authority_key_identifier(), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return CertificateAuthority(cert=cert, key=key, parents=self.leaf_chain)

    def _authority_key_identifier(self) -> x509.AuthorityKeyIdentifier:
        try:
            ski = self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        except x509.ExtensionNotFound:
            return x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key())
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski.value)


def _ca_name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _DEV_ORG),
        ]
    )


def _ca_builder(
    name: x509.Name, key: ec.EllipticCurvePrivateKey, path_length: int | None, start: datetime, end: datetime
) -> x509.CertificateBuilder:
    public_key = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
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
    )


def create_ca(
    common_name: str = "cs-gateway dev root CA (機構 J-LIS stand-in)",
    *,
    lifetime_days: int = ROOT_LIFETIME_DAYS,
    now: datetime | None = None,
    path_length: int | None = 0,
) -> CertificateAuthority:
    """A self-signed EC P-256 CA. Default pathlen 0 (signs leaves only); a root over an
    issuing intermediate needs ``path_length=1`` (see create_hierarchy)."""
    start = _utc(now) - CLOCK_SKEW
    key = ec.generate_private_key(ec.SECP256R1())
    name = _ca_name(common_name)
    cert = (
        _ca_builder(name, key, path_length, start, start + timedelta(days=lifetime_days))
        .issuer_name(name)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CertificateAuthority(cert=cert, key=key)


def create_hierarchy(
    trust_domain: str = "hirosaki.jukinet.test",
    *,
    now: datetime | None = None,
) -> tuple[CertificateAuthority, CertificateAuthority]:
    """(root, issuing intermediate): the root (pathlen 1) stands for 機構; the intermediate
    (pathlen 0) is this municipality's CS network CA and issues every leaf.

    Both names carry a random generation tag, so that two dev hierarchies (e.g. the old and the
    new root during a CA rotation) never share a subject name: path building, CRL issuer
    matching and revoke's issuer check stay unambiguous.
    """
    tag = secrets.token_hex(4)
    root = create_ca(f"cs-gateway dev root CA G-{tag} (機構 J-LIS stand-in)", now=now, path_length=1)
    issuing = root.issue_intermediate(f"cs-gateway dev issuing CA G-{tag} ({trust_domain})", now=now)
    return root, issuing


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def stage_file(path: Path, data: bytes, mode: int) -> Path:
    """Write `data` (fsynced, `mode`) to a temporary file beside `path`; os.replace it in place later."""
    path = Path(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    staged = Path(name)
    try:
        os.fchmod(fd, mode)  # independent of the umask
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return staged


def replace_staged(pairs: Sequence[tuple[Path, Path]]) -> None:
    """os.replace each (staged, target) in order, then fsync the folders (the renames survive a crash)."""
    try:
        for staged, target in pairs:
            os.replace(staged, target)
    finally:
        for staged, _ in pairs:
            staged.unlink(missing_ok=True)
    for folder in {Path(target).parent for _, target in pairs}:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_file(path: Path, data: bytes, mode: int, *, overwrite: bool) -> None:
    """Write `data` with `mode`: exclusive create, or atomic replace (os.replace)."""
    path = Path(path)
    if overwrite:
        replace_staged([(stage_file(path, data, mode), path)])
        return
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def write_key_pem(path: Path, key: ec.EllipticCurvePrivateKey, *, overwrite: bool = False) -> None:
    """Write an unencrypted PKCS8 PEM private key, mode 0600."""
    write_file(Path(path), _key_pem(key), 0o600, overwrite=overwrite)


def write_cert_pem(path: Path, cert: x509.Certificate, *, overwrite: bool = False) -> None:
    """Write a PEM certificate, mode 0644."""
    write_chain_pem(path, (cert,), overwrite=overwrite)


def write_chain_pem(path: Path, certs: Sequence[x509.Certificate], *, overwrite: bool = False) -> None:
    """Write PEM certificates in order (leaf first), mode 0644."""
    write_file(Path(path), _pem(certs), 0o644, overwrite=overwrite)


def load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path} is not an EC private key")
    return key


def load_ca_files(cert_path: Path, key_path: Path) -> CertificateAuthority:
    """A CA from its PEM certificate file (first certificate; the rest are its parents) and key."""
    certs = x509.load_pem_x509_certificates(Path(cert_path).read_bytes())
    key = load_key(key_path)
    if key.public_key() != certs[0].public_key():
        raise ValueError(f"{key_path} does not match {cert_path}")
    parents = tuple(c for c in certs[1:] if c.issuer != c.subject)
    return CertificateAuthority(cert=certs[0], key=key, parents=parents)


@dataclass(frozen=True)
class DevPki:
    """Where init_dev_pki put the CAs, the per-role certificates and the CRL."""

    directory: Path
    trust_domain: str

    @classmethod
    def open(cls, directory: Path, role: str = "cs") -> DevPki:
        """An existing PKI directory; the trust domain is read from `<role>.crt`'s SPIFFE ID."""
        directory = Path(directory)
        cert = x509.load_pem_x509_certificate((directory / f"{_known_role(role)}.crt").read_bytes())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        uris = san.get_values_for_type(x509.UniformResourceIdentifier)
        if len(uris) != 1:
            raise ValueError(f"{role}.crt must carry exactly one SPIFFE URI SAN")
        return cls(directory=directory, trust_domain=parse_spiffe_id(uris[0])[0])

    @property
    def ca_cert_path(self) -> Path:
        """The trust anchor bundle (root only): what peers pass as root_certificates."""
        return self.directory / CA_CERT_FILE

    @property
    def root_key_path(self) -> Path:
        return self.directory / ROOT_KEY_FILE

    @property
    def ca_key_path(self) -> Path:
        """The key of ca.crt, i.e. the root key (root.key)."""
        return self.root_key_path

    @property
    def intermediate_cert_path(self) -> Path:
        return self.directory / INTERMEDIATE_CERT_FILE

    @property
    def intermediate_key_path(self) -> Path:
        return self.directory / INTERMEDIATE_KEY_FILE

    @property
    def crl_path(self) -> Path:
        return self.directory / CRL_FILE

    @property
    def revoked_path(self) -> Path:
        return self.directory / REVOKED_FILE

    def cert_path(self, role: str) -> Path:
        """`<role>.crt`: the leaf followed by the intermediate."""
        return self.directory / f"{_known_role(role)}.crt"

    def key_path(self, role: str) -> Path:
        return self.directory / f"{_known_role(role)}.key"

    def load_ca(self) -> CertificateAuthority:
        """The ISSUING CA (the intermediate): issues leaves (e.g. expired ones in tests) and signs the CRL."""
        return load_ca_files(self.intermediate_cert_path, self.intermediate_key_path)

    def load_root(self) -> CertificateAuthority:
        """The root CA (機構 stand-in)."""
        return load_ca_files(self.ca_cert_path, self.root_key_path)


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
    """Create `directory` (0700): root, issuing intermediate, one leaf per role, an empty CRL."""
    from pki.crl import write_crl, write_revocations  # pki.crl imports this module

    pki = DevPki(directory=Path(directory), trust_domain=trust_domain)
    if not pki.directory.exists():
        pki.directory.mkdir(mode=0o700, parents=True)
        os.chmod(pki.directory, 0o700)  # mkdir's mode is filtered by the umask
    elif not pki.directory.is_dir():
        raise NotADirectoryError(f"{pki.directory} is not a directory")
    if not overwrite:
        targets = [
            pki.ca_cert_path,
            pki.root_key_path,
            pki.intermediate_cert_path,
            pki.intermediate_key_path,
            pki.crl_path,
            pki.revoked_path,
        ]
        targets += [p for role in ROLES for p in (pki.key_path(role), pki.cert_path(role))]
        existing = [p.name for p in targets if p.exists()]
        if existing:
            raise FileExistsError(
                f"refusing to overwrite the existing dev PKI in {pki.directory} "
                f"({', '.join(existing)} exist); pass overwrite=True (CLI: --overwrite)"
            )

    root, issuing = create_hierarchy(trust_domain, now=now)
    write_key_pem(pki.root_key_path, root.key, overwrite=overwrite)
    write_cert_pem(pki.ca_cert_path, root.cert, overwrite=overwrite)
    write_key_pem(pki.intermediate_key_path, issuing.key, overwrite=overwrite)
    write_cert_pem(pki.intermediate_cert_path, issuing.cert, overwrite=overwrite)
    start = _utc(now) - CLOCK_SKEW
    for role in ROLES:
        issued = issuing.issue(role, f"{role}-01", trust_domain=trust_domain, not_before=start)
        write_key_pem(pki.key_path(role), issued.key, overwrite=overwrite)
        write_chain_pem(pki.cert_path(role), (issued.cert, *issued.chain), overwrite=overwrite)
    write_revocations(pki.directory, {}, overwrite=overwrite)  # a new CA: nothing revoked yet
    write_crl(pki.directory, now=now)
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
