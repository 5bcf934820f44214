"""Dev PKI: real certificates generated in tmp_path."""

from __future__ import annotations

import ipaddress
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from pki.dev_pki import DevPki, create_ca, create_hierarchy, init_dev_pki, spiffe_id
from pki.profiles import ROLE_PROFILES, ROLES

TRUST_DOMAIN = "hirosaki.jukinet.test"
SERVER_ROLES = [r for r in ROLES if ROLE_PROFILES[r].is_server]
CLIENT_ONLY_ROLES = [r for r in ROLES if not ROLE_PROFILES[r].is_server]


@pytest.fixture(scope="module")
def dev_pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return init_dev_pki(tmp_path_factory.mktemp("pki") / "dev")


def _cert(pki: DevPki, role: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pki.cert_path(role).read_bytes())


def _chain(pki: DevPki, role: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pki.cert_path(role).read_bytes())


def _ca_cert(pki: DevPki) -> x509.Certificate:
    """The root: the only certificate in the trust anchor bundle ca.crt."""
    return x509.load_pem_x509_certificate(pki.ca_cert_path.read_bytes())


def _intermediate(pki: DevPki) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pki.intermediate_cert_path.read_bytes())


def _san(cert: x509.Certificate) -> x509.SubjectAlternativeName:
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value


def test_spiffe_id_is_trust_domain_role_host() -> None:
    assert spiffe_id("td.test", "cs", "cs-01") == "spiffe://td.test/cs/cs-01"


def test_roles_cover_every_peer_and_atena_is_client_only() -> None:
    assert set(ROLES) == {"cs", "kizon-juki", "terminal", "prefecture", "jlis", "atena"}
    assert ROLE_PROFILES["cs"].is_server and ROLE_PROFILES["cs"].is_client
    assert not ROLE_PROFILES["atena"].is_server and ROLE_PROFILES["atena"].is_client


@pytest.mark.parametrize("role", ROLES)
def test_every_role_cert_is_signed_by_the_issuing_intermediate(dev_pki: DevPki, role: str) -> None:
    cert = _cert(dev_pki, role)
    cert.verify_directly_issued_by(_intermediate(dev_pki))  # raises if not


@pytest.mark.parametrize("role", ROLES)
def test_role_cert_file_holds_leaf_then_intermediate_and_no_root(dev_pki: DevPki, role: str) -> None:
    chain = _chain(dev_pki, role)
    assert [c.subject for c in chain] == [_cert(dev_pki, role).subject, _intermediate(dev_pki).subject]
    assert chain[1] == _intermediate(dev_pki)
    assert _ca_cert(dev_pki) not in chain


def test_trust_bundle_holds_the_root_only(dev_pki: DevPki) -> None:
    bundle = x509.load_pem_x509_certificates(dev_pki.ca_cert_path.read_bytes())
    assert bundle == [_ca_cert(dev_pki)]


def test_root_is_self_signed_ca_over_one_level_of_intermediates(dev_pki: DevPki) -> None:
    root = _ca_cert(dev_pki)
    root.verify_directly_issued_by(root)
    bc = root.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 1
    ku = root.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.key_cert_sign and ku.crl_sign and not ku.digital_signature


def test_intermediate_is_signed_by_the_root_and_only_signs_leaves(dev_pki: DevPki) -> None:
    intermediate = _intermediate(dev_pki)
    intermediate.verify_directly_issued_by(_ca_cert(dev_pki))
    assert intermediate.subject != intermediate.issuer
    bc = intermediate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 0
    ku = intermediate.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign and not ku.value.digital_signature
    aki = intermediate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    root_ski = _ca_cert(dev_pki).extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == root_ski.digest
    assert intermediate.not_valid_after_utc <= _ca_cert(dev_pki).not_valid_after_utc
    assert TRUST_DOMAIN in intermediate.subject.rfc4514_string()


def test_init_writes_an_empty_crl_signed_by_the_intermediate(dev_pki: DevPki) -> None:
    crl = x509.load_pem_x509_crl(dev_pki.crl_path.read_bytes())
    assert crl.issuer == _intermediate(dev_pki).subject
    assert crl.is_signature_valid(_intermediate(dev_pki).public_key())
    assert len(crl) == 0
    assert crl.next_update_utc is not None and crl.last_update_utc is not None
    assert crl.next_update_utc - crl.last_update_utc == timedelta(days=7)
    assert dev_pki.revoked_path.read_text(encoding="utf-8").strip() == "{}"


@pytest.mark.parametrize("role", ROLES)
def test_every_role_cert_has_exactly_one_spiffe_uri_san(dev_pki: DevPki, role: str) -> None:
    uris = _san(_cert(dev_pki, role)).get_values_for_type(x509.UniformResourceIdentifier)
    assert uris == [spiffe_id(TRUST_DOMAIN, role, f"{role}-01")]


@pytest.mark.parametrize("role", ROLES)
def test_leaf_is_ec_p256_non_ca_with_critical_key_usage(dev_pki: DevPki, role: str) -> None:
    cert = _cert(dev_pki, role)
    public_key = cert.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    assert public_key.curve.name == "secp256r1"
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and not bc.value.ca
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and not ku.value.key_cert_sign
    cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    assert [a.value for a in names] == [f"{role}-01"]
    orgs = cert.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
    assert [a.value for a in orgs] == [role]


@pytest.mark.parametrize("role", ROLES)
def test_extended_key_usage_follows_the_profile(dev_pki: DevPki, role: str) -> None:
    eku = _cert(dev_pki, role).extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    profile = ROLE_PROFILES[role]
    assert (ExtendedKeyUsageOID.SERVER_AUTH in eku.value) == profile.is_server
    assert (ExtendedKeyUsageOID.CLIENT_AUTH in eku.value) == profile.is_client


@pytest.mark.parametrize("role", SERVER_ROLES)
def test_server_roles_carry_localhost_and_loopback_sans(dev_pki: DevPki, role: str) -> None:
    san = _san(_cert(dev_pki, role))
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    ips = san.get_values_for_type(x509.IPAddress)
    assert ipaddress.ip_address("127.0.0.1") in ips
    assert ipaddress.ip_address("::1") in ips


@pytest.mark.parametrize("role", CLIENT_ONLY_ROLES)
def test_client_only_roles_carry_no_server_sans(dev_pki: DevPki, role: str) -> None:
    san = _san(_cert(dev_pki, role))
    assert san.get_values_for_type(x509.DNSName) == []
    assert san.get_values_for_type(x509.IPAddress) == []


@pytest.mark.parametrize("role", ROLES)
def test_role_key_matches_role_cert(dev_pki: DevPki, role: str) -> None:
    key = serialization.load_pem_private_key(dev_pki.key_path(role).read_bytes(), password=None)
    assert key.public_key() == _cert(dev_pki, role).public_key()


def test_private_key_files_are_mode_0600_and_directory_0700(dev_pki: DevPki) -> None:
    key_files = [dev_pki.root_key_path, dev_pki.intermediate_key_path, *(dev_pki.key_path(r) for r in ROLES)]
    for path in key_files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert path.read_bytes().startswith(b"-" * 5 + b"BEGIN PRIVATE KEY" + b"-" * 5)  # spelt apart for the key scan
    assert stat.S_IMODE(dev_pki.directory.stat().st_mode) == 0o700


def test_leaf_serials_are_random_and_distinct(dev_pki: DevPki) -> None:
    serials = {_cert(dev_pki, r).serial_number for r in ROLES}
    assert len(serials) == len(ROLES)
    assert all(s.bit_length() > 64 for s in serials)


def test_init_refuses_to_overwrite_an_existing_ca_key(tmp_path: Path) -> None:
    pki = init_dev_pki(tmp_path / "dev")
    before = pki.ca_cert_path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        init_dev_pki(tmp_path / "dev")
    assert pki.ca_cert_path.read_bytes() == before


def test_init_with_overwrite_replaces_the_ca_and_keeps_key_modes(
    tmp_path: Path,
) -> None:
    first = init_dev_pki(tmp_path / "dev")
    old_ca = _ca_cert(first)
    second = init_dev_pki(tmp_path / "dev", overwrite=True)
    new_ca = _ca_cert(second)
    assert new_ca.serial_number != old_ca.serial_number
    _cert(second, "cs").verify_directly_issued_by(_intermediate(second))
    _intermediate(second).verify_directly_issued_by(new_ca)
    assert json.loads(second.revoked_path.read_text(encoding="utf-8")) == {}
    assert stat.S_IMODE(second.key_path("cs").stat().st_mode) == 0o600
    assert not list(second.directory.glob(".*.tmp"))


def test_load_ca_returns_the_issuing_intermediate_whose_leaves_carry_the_chain(dev_pki: DevPki) -> None:
    ca = dev_pki.load_ca()
    assert ca.cert == _intermediate(dev_pki) and not ca.is_root
    issued = ca.issue("terminal", "terminal-99", trust_domain=TRUST_DOMAIN)
    reloaded = x509.load_pem_x509_certificate(issued.cert_pem)  # the first PEM block: the leaf
    reloaded.verify_directly_issued_by(_intermediate(dev_pki))
    assert x509.load_pem_x509_certificates(issued.cert_pem) == [issued.cert, _intermediate(dev_pki)]
    assert x509.load_pem_x509_certificates(issued.leaf_pem) == [issued.cert]
    assert serialization.load_pem_private_key(issued.key_pem, None) is not None


def test_load_root_returns_the_root_ca(dev_pki: DevPki) -> None:
    root = dev_pki.load_root()
    assert root.is_root and root.cert == _ca_cert(dev_pki) and root.leaf_chain == ()
    assert dev_pki.ca_key_path == dev_pki.root_key_path


def test_open_reads_the_trust_domain_from_the_cs_certificate(tmp_path: Path) -> None:
    init_dev_pki(tmp_path / "dev", trust_domain="aomori.jukinet.test")
    assert DevPki.open(tmp_path / "dev").trust_domain == "aomori.jukinet.test"


def test_create_hierarchy_chains_leaves_to_the_root() -> None:
    root, issuing = create_hierarchy("td.test")
    issued = issuing.issue("kizon-juki", "kizon-juki-01", trust_domain="td.test")
    assert issued.chain == (issuing.cert,)
    issued.cert.verify_directly_issued_by(issuing.cert)
    issuing.cert.verify_directly_issued_by(root.cert)


def test_self_signed_ca_leaves_carry_no_chain() -> None:
    issued = create_ca("flat").issue("terminal", "terminal-01", trust_domain="td.test")
    assert issued.chain == () and issued.cert_pem == issued.leaf_pem


def test_issue_with_past_not_after_yields_an_expired_cert(dev_pki: DevPki) -> None:
    now = datetime.now(UTC)
    issued = dev_pki.load_ca().issue(
        "terminal",
        "terminal-02",
        trust_domain=TRUST_DOMAIN,
        not_after=now - timedelta(days=1),
    )
    assert issued.cert.not_valid_after_utc < now
    assert issued.cert.not_valid_before_utc < issued.cert.not_valid_after_utc


def test_issue_with_future_not_before_yields_a_not_yet_valid_cert(
    dev_pki: DevPki,
) -> None:
    now = datetime.now(UTC)
    issued = dev_pki.load_ca().issue(
        "terminal",
        "terminal-03",
        trust_domain=TRUST_DOMAIN,
        not_before=now + timedelta(days=1),
    )
    assert issued.cert.not_valid_before_utc > now


def test_issue_extra_uris_produce_a_second_uri_san(dev_pki: DevPki) -> None:
    issued = dev_pki.load_ca().issue("cs", "cs-02", trust_domain=TRUST_DOMAIN, extra_uris=("spiffe://x/cs/y",))
    uris = _san(issued.cert).get_values_for_type(x509.UniformResourceIdentifier)
    assert len(uris) == 2


def test_issue_merges_passed_sans_with_server_defaults(dev_pki: DevPki) -> None:
    issued = dev_pki.load_ca().issue(
        "prefecture",
        "prefecture-02",
        trust_domain=TRUST_DOMAIN,
        dns_names=("pref.example.test", "localhost"),
        ip_addresses=("10.0.0.5",),
    )
    san = _san(issued.cert)
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "pref.example.test"]
    assert ipaddress.ip_address("10.0.0.5") in san.get_values_for_type(x509.IPAddress)


@pytest.mark.parametrize(("role", "host"), [("nobody", "nobody-01"), ("cs", "CS_01"), ("cs", "")])
def test_issue_rejects_unknown_role_or_bad_host(dev_pki: DevPki, role: str, host: str) -> None:
    with pytest.raises(ValueError):
        dev_pki.load_ca().issue(role, host, trust_domain=TRUST_DOMAIN)


def test_issue_rejects_naive_datetimes(dev_pki: DevPki) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        dev_pki.load_ca().issue("cs", "cs-03", trust_domain=TRUST_DOMAIN, not_after=datetime(2030, 1, 1))


def test_create_ca_honours_now_and_lifetime() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    ca = create_ca(now=now, lifetime_days=10)
    assert ca.cert.not_valid_before_utc <= now
    assert ca.cert.not_valid_after_utc <= now + timedelta(days=10)
    assert ca.cert.not_valid_after_utc > now + timedelta(days=9)
