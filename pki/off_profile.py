"""Leaves that the dev PKI would never issue, for tests and cs-gateway-probe: a CA:TRUE leaf,
a leaf without clientAuth, an RSA-1024 key, a SHA-1 signature, a leaf that expires in seconds.

Each one is otherwise a perfectly plausible client certificate of this trust domain (one SPIFFE
URI SAN, signed by the CA given), so that the only reason to refuse it is the one named. Key
material is made at call time and never written anywhere by this module.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pki.dev_pki import CertificateAuthority, spiffe_id

Defect = Literal["ca-true", "no-client-auth", "rsa-1024", "sha1", "none"]
DEFECTS: tuple[Defect, ...] = ("ca-true", "no-client-auth", "rsa-1024", "sha1")

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class OffProfileLeaf:
    cert: x509.Certificate
    key: PrivateKey
    chain: tuple[x509.Certificate, ...]

    @property
    def cert_pem(self) -> bytes:
        """Leaf followed by the issuer's chain (what a TLS client sends)."""
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (self.cert, *self.chain))

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def issue_leaf(
    issuer: CertificateAuthority,
    role: str,
    host: str,
    *,
    trust_domain: str,
    defect: Defect = "none",
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> OffProfileLeaf:
    """A client leaf signed by `issuer` with exactly one `defect` (or none: a good leaf from any CA,
    e.g. the root or a sibling intermediate)."""
    now = datetime.now(UTC)
    start = not_before or now - timedelta(minutes=5)
    end = not_after or now + timedelta(days=1)
    key: PrivateKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=1024)
        if defect == "rsa-1024"
        else ec.generate_private_key(ec.SECP256R1())
    )
    if defect == "ca-true":
        basic = x509.BasicConstraints(ca=True, path_length=0)
        usage = x509.KeyUsage(True, False, False, False, False, True, True, False, False)
    else:
        basic = x509.BasicConstraints(ca=False, path_length=None)
        ec_key = not isinstance(key, rsa.RSAPrivateKey)
        usage = x509.KeyUsage(True, False, not ec_key, False, ec_key, False, False, False, False)
    builder = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [x509.NameAttribute(NameOID.COMMON_NAME, host), x509.NameAttribute(NameOID.ORGANIZATION_NAME, role)]
            )
        )
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(basic, critical=True)
        .add_extension(usage, critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(spiffe_id(trust_domain, role, host))]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(issuer._authority_key_identifier(), critical=False)
    )
    if defect != "no-client-auth":
        # Without the extension at all: TLS libraries take a leaf without EKU as good for any
        # purpose (BoringSSL refuses a leaf whose EKU lists serverAuth only, in the handshake).
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    if defect == "sha1":
        cert = _sign_sha1_with_openssl(builder, issuer, key, end)
    else:
        cert = builder.sign(issuer.key, hashes.SHA256())
    return OffProfileLeaf(cert=cert, key=key, chain=issuer.leaf_chain)


def _sign_sha1_with_openssl(
    builder: x509.CertificateBuilder, issuer: CertificateAuthority, key: PrivateKey, end: datetime
) -> x509.Certificate:
    """cryptography refuses to sign with SHA-1 (it is broken), so the openssl CLI signs: a CSR
    carrying the leaf's extensions, signed by the issuer with ecdsa-with-SHA1. The issuer's key
    goes to a private temporary folder (0700, removed at once)."""
    draft = builder.sign(issuer.key, hashes.SHA256())  # the extensions and names, as for any leaf
    csr = x509.CertificateSigningRequestBuilder().subject_name(draft.subject)
    for extension in draft.extensions:
        if not isinstance(extension.value, x509.AuthorityKeyIdentifier):
            csr = csr.add_extension(extension.value, critical=extension.critical)
    request = csr.sign(key, hashes.SHA256())
    days = max(1, (end - datetime.now(UTC)).days)
    with tempfile.TemporaryDirectory(prefix="off-profile-") as tmp:
        folder = Path(tmp)
        (folder / "ca.crt").write_bytes(issuer.cert_pem)
        fd = os.open(folder / "ca.key", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "wb") as sink:
            sink.write(
                issuer.key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
        (folder / "leaf.csr").write_bytes(request.public_bytes(serialization.Encoding.PEM))
        subprocess.run(  # fixed argument vector, no shell
            [
                "openssl", "x509", "-req", "-in", str(folder / "leaf.csr"),
                "-CA", str(folder / "ca.crt"), "-CAkey", str(folder / "ca.key"),
                "-sha1", "-days", str(days), "-set_serial", f"0x{x509.random_serial_number():x}",
                "-copy_extensions", "copyall", "-out", str(folder / "leaf.crt"),
            ],
            check=True, capture_output=True, timeout=30,
        )  # fmt: skip
        return x509.load_pem_x509_certificate((folder / "leaf.crt").read_bytes())
