"""The client certificate profile on certificates made here (one defect each), and the denial
bound's windows on a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cs_gateway.security import certificate_profile as profile
from cs_gateway.security.denial_bound import AUDIT, CUT_OFF, SUPPRESSED, DenialBound, address_of
from cs_gateway.security.identity import PeerIdentity
from pki.dev_pki import create_hierarchy
from pki.off_profile import issue_leaf

ROOT, ISSUING = create_hierarchy()
NOT_A_CA = x509.BasicConstraints(ca=False, path_length=None)


def _leaf(key: object, *, basic: x509.BasicConstraints | None = NOT_A_CA) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "t")]))
        .issuer_name(ISSUING.cert.subject)
        .public_key(key.public_key())  # type: ignore[attr-defined]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    )
    if basic is not None:
        builder = builder.add_extension(basic, critical=True)
    return builder.sign(ISSUING.key, hashes.SHA256())


@pytest.mark.parametrize(
    ("defect", "rule"),
    [
        ("none", None),
        ("ca-true", profile.CA_CERTIFICATE),
        ("no-client-auth", profile.NO_CLIENT_AUTH),
        ("rsa-1024", profile.RSA_TOO_SHORT),
        ("sha1", profile.WEAK_SIGNATURE),
    ],
)
def test_each_defect_has_its_rule(defect: str, rule: str | None) -> None:
    leaf = issue_leaf(ISSUING, "kizon-juki", "h", trust_domain="t.test", defect=defect)  # type: ignore[arg-type]
    assert profile.profile_violation(leaf.cert) == rule


def test_keys_outside_p256_p384_and_rsa_2048_are_refused() -> None:
    assert profile.profile_violation(_leaf(ec.generate_private_key(ec.SECP384R1()))) is None
    assert profile.profile_violation(_leaf(rsa.generate_private_key(public_exponent=65537, key_size=2048))) is None
    assert profile.profile_violation(_leaf(ec.generate_private_key(ec.SECP521R1()))) == profile.KEY_TYPE
    assert profile.profile_violation(_leaf(ed25519.Ed25519PrivateKey.generate())) == profile.KEY_TYPE


def test_a_leaf_without_basic_constraints_is_refused() -> None:
    assert profile.profile_violation(_leaf(ec.generate_private_key(ec.SECP256R1()), basic=None)) == (
        profile.NO_BASIC_CONSTRAINTS
    )


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def _identity(fingerprint: str) -> PeerIdentity:
    moment = datetime.now(UTC)
    return PeerIdentity("kizon-juki", "h", "spiffe://t/kizon-juki/h", 1, fingerprint, moment, moment)


def test_the_bound_audits_up_to_the_limit_then_cuts_off_until_the_window_ends() -> None:
    clock = Clock()
    bound = DenialBound(per_identity=3, per_address=100, window_s=10, clock=clock)
    peer, me = "ipv4:10.0.0.1:4000", _identity("a" * 64)
    assert [bound.on_denial(peer, me)[0] for _ in range(3)] == [AUDIT] * 3
    verdict, episode = bound.on_denial(peer, me)
    assert verdict == CUT_OFF and episode is not None and episode.kind == "identity"
    assert bound.cutting and bound.cut_off("ipv4:10.0.0.1:4001", me)  # another connection: still cut off
    assert not bound.cut_off("ipv4:10.0.0.1:4002", _identity("b" * 64))  # another certificate is not
    assert bound.ended() == []
    clock.now = 10.0
    (ended,) = bound.ended()
    assert ended.suppressed == 1 and not bound.cutting
    assert bound.on_denial(peer, me)[0] == AUDIT  # a new window


def test_the_address_bound_counts_every_certificate_from_it() -> None:
    clock = Clock()
    bound = DenialBound(per_identity=100, per_address=4, window_s=10, clock=clock)
    verdicts = [bound.on_denial(f"ipv6:[::1]:{p}", _identity(f"{p:064x}"))[0] for p in range(6)]
    assert verdicts == [AUDIT] * 4 + [CUT_OFF, SUPPRESSED]
    assert bound.cut_off("ipv6:[::1]:9", None)
    assert address_of("ipv6:[::1]:5000") == "ipv6:[::1]"
