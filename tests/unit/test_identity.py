"""Peer identity from client certificates: real certs generated in tmp_path."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import cs_gateway.security.identity as identity_module
from cs_gateway.security.identity import (
    IdentityError,
    PeerIdentity,
    identity_from_auth_context,
    identity_from_pem,
)
from pki.dev_pki import CertificateAuthority, DevPki, init_dev_pki
from pki.profiles import ROLES

TRUST_DOMAIN = "hirosaki.jukinet.test"
KNOWN_ROLES = frozenset(ROLES)


@pytest.fixture(scope="module")
def dev_pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return init_dev_pki(tmp_path_factory.mktemp("pki") / "dev", trust_domain=TRUST_DOMAIN)


@pytest.fixture(scope="module")
def ca(dev_pki: DevPki) -> CertificateAuthority:
    return dev_pki.load_ca()


def _cert_with_names(ca: CertificateAuthority, names: list[x509.GeneralName]) -> bytes:
    """A CA-signed client cert whose SAN holds exactly `names` (none: no SAN)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "odd-01")]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(ca.key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM)


def _cert_with_uris(ca: CertificateAuthority, *uris: str) -> bytes:
    return _cert_with_names(ca, [x509.UniformResourceIdentifier(u) for u in uris])


def _refusal(pem: bytes, known_roles: frozenset[str] = KNOWN_ROLES) -> str:
    with pytest.raises(IdentityError) as excinfo:
        identity_from_pem(pem, TRUST_DOMAIN, known_roles)
    return excinfo.value.reason


@pytest.mark.parametrize("role", ROLES)
def test_good_cert_yields_role_host_serial_and_fingerprint(dev_pki: DevPki, role: str) -> None:
    pem = dev_pki.cert_path(role).read_bytes()
    cert = x509.load_pem_x509_certificate(pem)
    peer = identity_from_pem(pem, TRUST_DOMAIN, KNOWN_ROLES)
    assert peer == PeerIdentity(
        role=role,
        host=f"{role}-01",
        spiffe_id=f"spiffe://{TRUST_DOMAIN}/{role}/{role}-01",
        serial=cert.serial_number,
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
    )
    assert peer.not_before.tzinfo is not None and peer.not_after.tzinfo is not None
    assert len(peer.fingerprint_sha256) == 64


def test_repeated_parse_of_same_pem_is_served_from_cache(dev_pki: DevPki) -> None:
    pem = dev_pki.cert_path("terminal").read_bytes()
    first = identity_from_pem(pem, TRUST_DOMAIN, KNOWN_ROLES)
    assert identity_from_pem(pem, TRUST_DOMAIN, KNOWN_ROLES) is first


def test_two_uri_sans_are_refused_multiple_uri_san(ca: CertificateAuthority) -> None:
    issued = ca.issue(
        "terminal",
        "terminal-05",
        trust_domain=TRUST_DOMAIN,
        extra_uris=(f"spiffe://{TRUST_DOMAIN}/jlis/jlis-01",),
    )
    assert _refusal(issued.cert_pem) == "MULTIPLE_URI_SAN"


def test_cert_without_san_is_refused_no_uri_san(ca: CertificateAuthority) -> None:
    assert _refusal(_cert_with_names(ca, [])) == "NO_URI_SAN"


def test_cert_with_only_dns_san_is_refused_no_uri_san(
    ca: CertificateAuthority,
) -> None:
    pem = _cert_with_names(ca, [x509.DNSName("terminal-01.example.test")])
    assert _refusal(pem) == "NO_URI_SAN"


def test_wrong_trust_domain_is_refused(ca: CertificateAuthority) -> None:
    issued = ca.issue("terminal", "terminal-06", trust_domain="aomori.jukinet.test")
    assert _refusal(issued.cert_pem) == "WRONG_TRUST_DOMAIN"


def test_trust_domain_must_match_exactly_not_by_suffix(
    ca: CertificateAuthority,
) -> None:
    pem = _cert_with_uris(ca, f"spiffe://evil.{TRUST_DOMAIN}/terminal/t-01")
    assert _refusal(pem) == "WRONG_TRUST_DOMAIN"


def test_role_outside_known_roles_is_refused_unknown_role(dev_pki: DevPki, ca: CertificateAuthority) -> None:
    pem = _cert_with_uris(ca, f"spiffe://{TRUST_DOMAIN}/intruder/intruder-01")
    assert _refusal(pem) == "UNKNOWN_ROLE"
    atena = dev_pki.cert_path("atena").read_bytes()
    assert _refusal(atena, KNOWN_ROLES - {"atena"}) == "UNKNOWN_ROLE"


@pytest.mark.parametrize(
    "uri",
    [
        f"http://{TRUST_DOMAIN}/terminal/terminal-01",
        f"https://{TRUST_DOMAIN}/terminal/terminal-01",
        f"SPIFFE://{TRUST_DOMAIN}/terminal/terminal-01",
        "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
    ],
)
def test_non_spiffe_uri_is_refused_not_spiffe(ca: CertificateAuthority, uri: str) -> None:
    assert _refusal(_cert_with_uris(ca, uri)) == "NOT_SPIFFE"


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/terminal",
        "/terminal/",
        "/terminal/terminal-01/extra",
        "/Terminal/terminal-01",
        "/terminal/terminal_01",
        "/terminal/terminal-01?x=1",
        "/terminal/terminal-01#frag",
        "/terminal/" + "a" * 64,
        "//terminal-01",
    ],
)
def test_malformed_spiffe_path_is_refused_bad_spiffe_path(ca: CertificateAuthority, path: str) -> None:
    pem = _cert_with_uris(ca, f"spiffe://{TRUST_DOMAIN}{path}")
    assert _refusal(pem) == "BAD_SPIFFE_PATH"


@pytest.mark.parametrize(
    "pem",
    [
        b"",
        b"not a certificate",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ],
)
def test_garbage_pem_is_refused_bad_certificate(pem: bytes) -> None:
    assert _refusal(pem) == "BAD_CERTIFICATE"


def test_auth_context_leaf_yields_identity(dev_pki: DevPki) -> None:
    pem = dev_pki.cert_path("kizon-juki").read_bytes()
    context = {"transport_security_type": [b"ssl"], "x509_pem_cert": [pem]}
    peer = identity_from_auth_context(context, TRUST_DOMAIN, KNOWN_ROLES)
    assert (peer.role, peer.host) == ("kizon-juki", "kizon-juki-01")


@pytest.mark.parametrize(
    "context",
    [
        {},
        {"transport_security_type": [b"ssl"]},
        {"x509_pem_cert": []},
        {"x509_pem_cert": [b""]},
    ],
)
def test_auth_context_without_x509_pem_cert_is_refused_no_certificate(
    context: dict[str, list[bytes]],
) -> None:
    with pytest.raises(IdentityError) as excinfo:
        identity_from_auth_context(context, TRUST_DOMAIN, KNOWN_ROLES)
    assert excinfo.value.reason == "NO_CERTIFICATE"


def test_identity_error_message_carries_the_reason() -> None:
    err = IdentityError("UNKNOWN_ROLE", "role 'x' is not known")
    assert err.reason == "UNKNOWN_ROLE"
    assert str(err).startswith("UNKNOWN_ROLE")


def test_identity_module_does_not_import_grpc() -> None:
    tree = ast.parse(Path(identity_module.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert "grpc" not in imported
