"""Certificate profiles, one per SPIFFE role that may appear in a peer certificate."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

_KEY_USAGE_FLAGS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)


@dataclass(frozen=True)
class CertificateProfile:
    """How leaf certificates for one role are issued."""

    role: str
    description: str
    is_server: bool
    is_client: bool
    lifetime_days: int = 365
    key_type: str = "EC P-256"
    key_usage: frozenset[str] = frozenset({"digital_signature", "key_agreement"})

    def __post_init__(self) -> None:
        if not (self.is_server or self.is_client):
            raise ValueError(f"profile {self.role!r} must be a TLS server, client or both")
        if self.key_type != "EC P-256":
            raise ValueError(f"profile {self.role!r}: only EC P-256 keys are supported")
        if self.lifetime_days <= 0:
            raise ValueError(f"profile {self.role!r} needs a positive lifetime")
        unknown = self.key_usage - set(_KEY_USAGE_FLAGS)
        if unknown:
            raise ValueError(f"profile {self.role!r}: unknown key usage {sorted(unknown)}")

    @property
    def extended_key_usages(self) -> tuple[x509.ObjectIdentifier, ...]:
        """serverAuth and/or clientAuth, in that order."""
        usages: list[x509.ObjectIdentifier] = []
        if self.is_server:
            usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
        if self.is_client:
            usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
        return tuple(usages)

    def generate_key(self) -> ec.EllipticCurvePrivateKey:
        """A fresh EC P-256 private key."""
        return ec.generate_private_key(ec.SECP256R1())

    def x509_key_usage(self) -> x509.KeyUsage:
        """The KeyUsage extension value for this profile."""
        flags = {name: name in self.key_usage for name in _KEY_USAGE_FLAGS}
        return x509.KeyUsage(**flags, encipher_only=False, decipher_only=False)


ROLE_PROFILES: dict[str, CertificateProfile] = {
    p.role: p
    for p in (
        # The gateway itself: serves clients and also calls the prefecture server.
        CertificateProfile("cs", "CS (コミュニケーションサーバー)", is_server=True, is_client=True),
        CertificateProfile("kizon-juki", "既存住基システム", is_server=False, is_client=True),
        CertificateProfile("terminal", "統合端末", is_server=False, is_client=True),
        CertificateProfile("prefecture", "都道府県サーバー", is_server=True, is_client=True),
        CertificateProfile("jlis", "機構 (J-LIS)", is_server=True, is_client=True),
        # In-house system: has a valid cert but the gateway must always refuse it.
        CertificateProfile("atena", "宛名管理システム", is_server=False, is_client=True),
    )
}

ROLES: tuple[str, ...] = tuple(ROLE_PROFILES)
