"""pki.crl and pki.lifecycle: revoke, write_crl, issue, rotate on a real dev PKI in tmp_path."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from pki.crl import issue, load_revocations, parse_reason, parse_serial, revoke, rotate, write_crl
from pki.dev_pki import CertificateAuthority, DevPki, create_hierarchy, init_dev_pki

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)


@pytest.fixture
def pki(tmp_path: Path) -> DevPki:
    return init_dev_pki(tmp_path / "dev", now=NOW)


def _crl(pki: DevPki) -> x509.CertificateRevocationList:
    return x509.load_pem_x509_crl(pki.crl_path.read_bytes())


def _leaf(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _crl_number(crl: x509.CertificateRevocationList) -> int:
    return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def test_revoke_by_certificate_file_records_and_signs_the_crl(pki: DevPki) -> None:
    leaf = _leaf(pki.cert_path("terminal"))
    record = revoke(pki.directory, pki.cert_path("terminal"), "key-compromise", now=NOW)
    assert record.serial == leaf.serial_number
    state = json.loads(pki.revoked_path.read_text(encoding="utf-8"))
    assert state == {
        format(leaf.serial_number, "x"): {
            "date": NOW.isoformat(),
            "reason": "key_compromise",
            "subject": leaf.subject.rfc4514_string(),
        }
    }
    crl = _crl(pki)
    assert crl.is_signature_valid(pki.load_ca().cert.public_key())
    entry = crl.get_revoked_certificate_by_serial_number(leaf.serial_number)
    assert entry is not None and entry.revocation_date_utc == NOW
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.key_compromise
    assert crl.last_update_utc == NOW and crl.next_update_utc == NOW + timedelta(days=7)


def test_revoke_by_serial_int_or_hex_string_finds_the_subject(pki: DevPki) -> None:
    cs = _leaf(pki.cert_path("cs"))
    jlis = _leaf(pki.cert_path("jlis"))
    revoke(pki.directory, cs.serial_number, "superseded", now=NOW)
    revoke(pki.directory, "0x" + format(jlis.serial_number, "X"), "cessationOfOperation", now=NOW)
    revocations = load_revocations(pki.directory)
    assert revocations[cs.serial_number].subject == cs.subject.rfc4514_string()
    assert revocations[jlis.serial_number].reason == x509.ReasonFlags.cessation_of_operation
    assert {e.serial_number for e in _crl(pki)} == {cs.serial_number, jlis.serial_number}


def test_unspecified_reason_is_listed_without_a_reason_code(pki: DevPki) -> None:
    serial = _leaf(pki.cert_path("atena")).serial_number
    revoke(pki.directory, serial, now=NOW)
    entry = _crl(pki).get_revoked_certificate_by_serial_number(serial)
    assert entry is not None
    with pytest.raises(x509.ExtensionNotFound):
        entry.extensions.get_extension_for_class(x509.CRLReason)


def test_revoking_twice_keeps_the_first_record(pki: DevPki) -> None:
    first = revoke(pki.directory, pki.cert_path("terminal"), "key_compromise", now=NOW)
    again = revoke(pki.directory, pki.cert_path("terminal"), "superseded", now=NOW + timedelta(hours=1))
    assert again == first
    assert len(_crl(pki)) == 1


def test_revoke_refuses_a_certificate_of_another_ca(pki: DevPki, tmp_path: Path) -> None:
    _, other = create_hierarchy()
    foreign = tmp_path / "foreign.crt"
    foreign.write_bytes(other.issue("terminal", "terminal-01", trust_domain=pki.trust_domain).cert_pem)
    with pytest.raises(ValueError, match="not issued"):
        revoke(pki.directory, foreign, "key_compromise")
    assert load_revocations(pki.directory) == {}


def test_revoke_refuses_a_certificate_forged_under_our_issuer_name(pki: DevPki, tmp_path: Path) -> None:
    _, other = create_hierarchy()
    impostor = CertificateAuthority(cert=pki.load_ca().cert, key=other.key)  # our name, another key
    forged = tmp_path / "forged.crt"
    forged.write_bytes(impostor.issue("terminal", "terminal-01", trust_domain=pki.trust_domain).cert_pem)
    with pytest.raises(ValueError, match="not signed"):
        revoke(pki.directory, forged, "key_compromise")


@pytest.mark.parametrize("bad", ["", "xyz", "0x", "-5", "0"])
def test_parse_serial_rejects_garbage(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_serial(bad)


def test_parse_serial_accepts_openssl_forms() -> None:
    assert parse_serial("0A:1b") == parse_serial("0x0a1B") == 0x0A1B


@pytest.mark.parametrize("bad", ["nonsense", "remove_from_crl"])
def test_parse_reason_rejects_unknown_and_delta_only_reasons(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_reason(bad)


def test_write_crl_numbers_grow_and_next_update_follows_the_argument(pki: DevPki) -> None:
    before = _crl_number(_crl(pki))
    write_crl(pki.directory, next_update_days=1, now=NOW + timedelta(days=2))
    crl = _crl(pki)
    assert _crl_number(crl) == before + 1
    assert crl.last_update_utc == NOW + timedelta(days=2)
    assert crl.next_update_utc == NOW + timedelta(days=3)
    assert not list(pki.directory.glob(".*.tmp"))
    with pytest.raises(ValueError):
        write_crl(pki.directory, next_update_days=0)


def test_issue_writes_host_files_with_chain_and_private_key(pki: DevPki) -> None:
    files = issue(pki.directory, "kizon-juki", "kizon-juki-02", days=3)
    assert files.cert_path == pki.directory / "kizon-juki-02.crt"
    assert files.spiffe_id == f"spiffe://{pki.trust_domain}/kizon-juki/kizon-juki-02"
    chain = x509.load_pem_x509_certificates(files.cert_path.read_bytes())
    assert chain[1] == pki.load_ca().cert and chain[0].serial_number == files.serial
    assert chain[0].not_valid_after_utc - chain[0].not_valid_before_utc == timedelta(days=3)
    key = serialization.load_pem_private_key(files.key_path.read_bytes(), None)
    assert key.public_key() == chain[0].public_key()
    assert stat.S_IMODE(files.key_path.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        issue(pki.directory, "kizon-juki", "kizon-juki-02")


def test_issue_honours_explicit_dates(pki: DevPki) -> None:
    files = issue(pki.directory, "terminal", "terminal-07", not_before=NOW, not_after=NOW + timedelta(hours=1))
    leaf = _leaf(files.cert_path)
    assert (leaf.not_valid_before_utc, leaf.not_valid_after_utc) == (NOW, NOW + timedelta(hours=1))


@pytest.mark.parametrize("host", ["ca", "root", "intermediate", "crl", "revoked", "cs", "terminal"])
def test_issue_refuses_hosts_that_would_overwrite_pki_files(pki: DevPki, host: str) -> None:
    with pytest.raises(ValueError, match="overwrite"):
        issue(pki.directory, "terminal", host)


def test_rotate_replaces_key_and_cert_keeping_identity_and_not_revoking(pki: DevPki) -> None:
    old_leaf = _leaf(pki.cert_path("cs"))
    old_key = pki.key_path("cs").read_bytes()
    old_inode = pki.cert_path("cs").stat().st_ino
    files = rotate(pki.directory, "cs")
    new_chain = x509.load_pem_x509_certificates(pki.cert_path("cs").read_bytes())
    new_leaf = new_chain[0]
    assert files.serial == new_leaf.serial_number != old_leaf.serial_number
    assert new_chain[1] == pki.load_ca().cert
    assert pki.key_path("cs").read_bytes() != old_key
    key = serialization.load_pem_private_key(pki.key_path("cs").read_bytes(), None)
    assert key.public_key() == new_leaf.public_key() != old_leaf.public_key()
    old_san = old_leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    new_san = new_leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert list(new_san) == list(old_san)
    assert new_leaf.subject == old_leaf.subject
    assert pki.cert_path("cs").stat().st_ino != old_inode  # replaced, not rewritten in place
    assert stat.S_IMODE(pki.key_path("cs").stat().st_mode) == 0o600
    assert load_revocations(pki.directory) == {}
    assert len(_crl(pki)) == 0
    assert not list(pki.directory.glob(".*.tmp"))


def test_rotate_refuses_unknown_roles(pki: DevPki) -> None:
    with pytest.raises(ValueError):
        rotate(pki.directory, "nobody")
