"""The scrape-time figures: CRL age and next update (also once stale), certificate expiry, and
the store's figures when the store cannot be read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from cs_gateway.metrics_collector import GatewayCollector
from cs_gateway.security.revocation import RevocationChecker
from pki.dev_pki import DevPki


def _samples(collector: GatewayCollector) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry()
    registry.register(collector)
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _collector(pki: DevPki, tmp_path: Path, now: datetime) -> GatewayCollector:
    directory = pki.directory
    checker = RevocationChecker(directory / "crl.pem", directory / "intermediate.crt", clock=lambda: now)
    return GatewayCollector(
        store_path=tmp_path / "absent.sqlite3",
        revocation=checker,
        certificates={"tls.cert": directory / "cs.crt", "tls.ca": directory / "ca.crt"},
        clock=lambda: now,
    )


def test_a_stale_crl_shows_as_unusable_with_a_negative_next_update(dev_pki: DevPki, tmp_path: Path) -> None:
    crl = x509.load_pem_x509_crl((dev_pki.directory / "crl.pem").read_bytes())
    assert crl.next_update_utc is not None
    later = crl.next_update_utc + timedelta(days=1)
    samples = _samples(_collector(dev_pki, tmp_path, later))
    assert samples[("cs_gateway_crl_usable", ())] == 0
    assert samples[("cs_gateway_crl_next_update_seconds", ())] == -86400
    age = (later - crl.last_update_utc).total_seconds()
    assert samples[("cs_gateway_crl_age_seconds", ())] == age


def test_certificate_expiry_in_days_for_each_configured_file(dev_pki: DevPki, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    samples = _samples(_collector(dev_pki, tmp_path, now))
    leaf, intermediate = x509.load_pem_x509_certificates((dev_pki.directory / "cs.crt").read_bytes())
    expected = round((leaf.not_valid_after_utc - now).total_seconds() / 86400, 3)
    key = ("cs_gateway_certificate_expiry_days", (("file", "tls.cert"), ("subject", leaf.subject.rfc4514_string())))
    assert samples[key] == expected
    files = {dict(labels)["file"] for name, labels in samples if name == "cs_gateway_certificate_expiry_days"}
    assert files == {"tls.cert", "tls.ca"}
    assert sum(1 for name, labels in samples if dict(labels).get("file") == "tls.cert") == 2  # leaf + intermediate
    assert intermediate.subject != leaf.subject


def test_an_unreadable_store_leaves_out_only_its_figures(dev_pki: DevPki, tmp_path: Path) -> None:
    samples = _samples(_collector(dev_pki, tmp_path, datetime.now(UTC)))
    names = {name for name, _labels in samples}
    assert "cs_gateway_outbox_backlog" not in names and "cs_gateway_audit_entries_total" not in names
    assert "cs_gateway_crl_usable" in names
