"""RevocationChecker on real CRLs signed by the dev PKI's issuing CA (no grpc)."""

from __future__ import annotations

import ast
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

import cs_gateway.security.revocation as revocation_module
from cs_gateway.security.revocation import RevocationChecker
from pki.crl import build_crl, revoke, write_crl
from pki.dev_pki import DevPki, create_hierarchy, init_dev_pki

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def pki(tmp_path: Path) -> DevPki:
    return init_dev_pki(tmp_path / "dev", now=NOW)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _checker(pki: DevPki, clock: Clock, **kwargs: object) -> RevocationChecker:
    return RevocationChecker(pki.crl_path, pki.intermediate_cert_path, clock=clock, **kwargs)  # type: ignore[arg-type]


def _leaf(pki: DevPki, role: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pki.cert_path(role).read_bytes())


def test_unrevoked_certificate_is_accepted(pki: DevPki, clock: Clock) -> None:
    checker = _checker(pki, clock)
    assert checker.check(pki.cert_path("kizon-juki").read_bytes()) is None
    assert checker.check(_leaf(pki, "kizon-juki")) is None
    assert checker.check_serial(_leaf(pki, "kizon-juki").serial_number) is None


def test_revoked_serial_is_refused_and_others_are_not(pki: DevPki, clock: Clock) -> None:
    revoke(pki.directory, pki.cert_path("kizon-juki"), "key_compromise", now=NOW)
    checker = _checker(pki, clock)
    assert checker.check(pki.cert_path("kizon-juki").read_bytes()) == "REVOKED"
    assert checker.check_serial(_leaf(pki, "kizon-juki").serial_number) == "REVOKED"
    assert checker.check_serial(_leaf(pki, "terminal").serial_number) is None
    assert checker.status().revoked_count == 1


def test_issuers_may_be_given_as_certificates(pki: DevPki, clock: Clock) -> None:
    revoke(pki.directory, pki.cert_path("terminal"), now=NOW)
    checker = RevocationChecker(pki.crl_path, [pki.load_root().cert, pki.load_ca().cert], clock=clock)
    assert checker.check_serial(_leaf(pki, "terminal").serial_number) == "REVOKED"


def test_crl_replaced_on_disk_is_picked_up_without_restart(pki: DevPki, clock: Clock) -> None:
    checker = _checker(pki, clock)
    serial = _leaf(pki, "kizon-juki").serial_number
    assert checker.check_serial(serial) is None
    number = checker.status().crl_number
    revoke(pki.directory, serial, "key_compromise", now=NOW)  # write_crl: os.replace of crl.pem
    assert checker.check_serial(serial) == "REVOKED"
    assert checker.status().crl_number == (number or 0) + 1


def test_crl_rewritten_in_place_is_picked_up(pki: DevPki, clock: Clock, tmp_path: Path) -> None:
    checker = _checker(pki, clock)
    serial = _leaf(pki, "terminal").serial_number
    assert checker.check_serial(serial) is None
    other = init_dev_pki(tmp_path / "other", now=NOW)  # a differently sized CRL to copy over
    pki.crl_path.write_bytes(other.crl_path.read_bytes())  # same inode, different content
    assert checker.check_serial(serial) == "CRL_SIGNATURE_INVALID"


def test_stale_crl_is_refused_after_next_update_plus_grace(pki: DevPki, clock: Clock) -> None:
    serial = _leaf(pki, "kizon-juki").serial_number
    strict = _checker(pki, clock)
    lenient = _checker(pki, clock, grace=timedelta(hours=1))
    clock.now = NOW + timedelta(days=7)  # exactly next_update: still fine
    assert strict.check_serial(serial) is None
    clock.now = NOW + timedelta(days=7, seconds=1)
    assert strict.check_serial(serial) == "CRL_STALE"
    assert lenient.check_serial(serial) is None
    clock.now = NOW + timedelta(days=7, hours=1, seconds=1)
    assert lenient.check_serial(serial) == "CRL_STALE"
    write_crl(pki.directory, now=clock.now)  # a fresh CRL ends it
    assert strict.check_serial(serial) is None


def test_crl_from_the_future_is_refused(pki: DevPki, clock: Clock) -> None:
    write_crl(pki.directory, now=NOW + timedelta(days=1))
    assert _checker(pki, clock).check_serial(1) == "CRL_NOT_YET_VALID"


def test_crl_signed_by_another_ca_is_refused(pki: DevPki, clock: Clock) -> None:
    _, other = create_hierarchy()
    forged = build_crl(other, {}, this_update=NOW, next_update=NOW + timedelta(days=7), crl_number=99)
    pki.crl_path.write_bytes(forged.public_bytes(serialization.Encoding.PEM))
    assert _checker(pki, clock).check_serial(_leaf(pki, "kizon-juki").serial_number) == "CRL_SIGNATURE_INVALID"


def test_crl_with_our_issuer_name_but_another_key_is_refused(pki: DevPki, clock: Clock) -> None:
    _, other = create_hierarchy()
    forged = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(pki.load_ca().cert.subject)  # claims to be our issuing CA
        .last_update(NOW)
        .next_update(NOW + timedelta(days=7))
        .sign(other.key, hashes.SHA256())
    )
    pki.crl_path.write_bytes(forged.public_bytes(serialization.Encoding.PEM))
    assert _checker(pki, clock).check_serial(1) == "CRL_SIGNATURE_INVALID"


def test_crl_signed_by_the_root_instead_of_the_issuing_ca_is_refused(pki: DevPki, clock: Clock) -> None:
    root = pki.load_root()
    crl = build_crl(root, {}, this_update=NOW, next_update=NOW + timedelta(days=7), crl_number=5)
    pki.crl_path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    assert _checker(pki, clock).check_serial(1) == "CRL_SIGNATURE_INVALID"  # root not in the issuer bundle


def test_missing_crl_is_refused_then_accepted_once_it_appears(pki: DevPki, clock: Clock) -> None:
    data = pki.crl_path.read_bytes()
    pki.crl_path.unlink()
    checker = _checker(pki, clock)
    assert checker.check_serial(1) == "CRL_UNAVAILABLE"
    assert checker.check(pki.cert_path("cs").read_bytes()) == "CRL_UNAVAILABLE"
    pki.crl_path.write_bytes(data)
    assert checker.check_serial(1) is None


@pytest.mark.parametrize("content", [b"", b"garbage", b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"])
def test_unparsable_crl_is_refused(pki: DevPki, clock: Clock, content: bytes) -> None:
    pki.crl_path.write_bytes(content)
    assert _checker(pki, clock).check_serial(1) == "CRL_UNAVAILABLE"


def test_missing_issuer_bundle_is_refused(pki: DevPki, clock: Clock, tmp_path: Path) -> None:
    checker = RevocationChecker(pki.crl_path, tmp_path / "nope.crt", clock=clock)
    assert checker.check_serial(1) == "CRL_UNAVAILABLE"


def test_der_crl_is_accepted(pki: DevPki, clock: Clock) -> None:
    revoke(pki.directory, pki.cert_path("atena"), now=NOW)
    crl = x509.load_pem_x509_crl(pki.crl_path.read_bytes())
    pki.crl_path.write_bytes(crl.public_bytes(serialization.Encoding.DER))
    assert _checker(pki, clock).check_serial(_leaf(pki, "atena").serial_number) == "REVOKED"


def test_delta_crl_is_refused(pki: DevPki, clock: Clock) -> None:
    ca = pki.load_ca()
    delta = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        .last_update(NOW)
        .next_update(NOW + timedelta(days=1))
        .add_extension(x509.DeltaCRLIndicator(1), critical=True)
        .sign(ca.key, hashes.SHA256())
    )
    pki.crl_path.write_bytes(delta.public_bytes(serialization.Encoding.PEM))
    assert _checker(pki, clock).check_serial(1) == "CRL_UNSUPPORTED"


def test_certificate_of_another_issuer_is_not_covered(pki: DevPki, clock: Clock) -> None:
    _, other = create_hierarchy()
    foreign = other.issue("kizon-juki", "kizon-juki-01", trust_domain=pki.trust_domain)
    checker = _checker(pki, clock)
    assert checker.check(foreign.cert) == "CRL_ISSUER_MISMATCH"
    assert checker.check(b"not a certificate") == "BAD_CERTIFICATE"


def test_unchanged_crl_is_not_reparsed(pki: DevPki, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    checker = _checker(pki, clock)
    assert checker.check_serial(1) is None
    loads: list[int] = []
    real = x509.load_pem_x509_crl

    def counting(data: bytes) -> x509.CertificateRevocationList:
        loads.append(1)
        return real(data)

    monkeypatch.setattr(revocation_module.x509, "load_pem_x509_crl", counting)
    for _ in range(1000):
        assert checker.check_serial(1) is None
    assert loads == []
    os.utime(pki.crl_path, ns=(1, 1))  # a changed mtime means "reload"
    assert checker.check_serial(1) is None
    assert loads == [1]


def test_stat_interval_limits_stats_but_a_new_crl_is_seen_after_it(
    pki: DevPki, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticks = [100.0]
    monkeypatch.setattr(revocation_module.time, "monotonic", lambda: ticks[0])
    checker = _checker(pki, clock, stat_interval=0.5)
    serial = _leaf(pki, "terminal").serial_number
    assert checker.check_serial(serial) is None
    revoke(pki.directory, serial, now=NOW)
    assert checker.check_serial(serial) is None  # within the interval: not looked at yet
    ticks[0] += 0.5
    assert checker.check_serial(serial) == "REVOKED"


def test_revocation_module_does_not_import_grpc() -> None:
    tree = ast.parse(Path(revocation_module.__file__).read_text(encoding="utf-8"))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name == "grpc" or name.startswith("grpc.") for name in names)


def test_negative_grace_or_interval_is_rejected(pki: DevPki) -> None:
    with pytest.raises(ValueError):
        RevocationChecker(pki.crl_path, pki.intermediate_cert_path, grace=timedelta(seconds=-1))
    with pytest.raises(ValueError):
        RevocationChecker(pki.crl_path, pki.intermediate_cert_path, stat_interval=-1)
