"""Figures computed when Prometheus scrapes, not on the request path: the outbox's backlog and
the age of its oldest notice, the audit trail's length and the time spent appending to it, the
CRL's age and next update, and the days until each configured certificate expires."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .security.revocation import RevocationChecker
from .store.stats import read_stats


def _certificates(path: Path) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError):
        return []


class GatewayCollector(Collector):
    def __init__(
        self,
        *,
        store_path: Path,
        revocation: RevocationChecker | Sequence[RevocationChecker],
        certificates: dict[str, Path],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store_path = store_path
        # one CRL checker per issuing CA (default first); labelled by CRL file when there are several
        self._revocations = (revocation,) if isinstance(revocation, RevocationChecker) else tuple(revocation)
        self._certificates = certificates  # config key -> PEM file (a bundle: every certificate in it)
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        now = self._clock()
        yield from self._store(now)
        yield from self._crl(now)
        yield from self._certificate_expiry(now)

    def _store(self, now: datetime) -> Iterator[Metric]:
        stats = read_stats(self._store_path)
        if stats is None:
            return
        backlog = stats.outbox_backlog
        yield GaugeMetricFamily("cs_gateway_outbox_backlog", "Change notices not yet delivered", backlog)
        age = 0.0 if stats.oldest_notice_at is None else max(0.0, (now - stats.oldest_notice_at).total_seconds())
        yield GaugeMetricFamily(
            "cs_gateway_outbox_oldest_age_seconds", "Age of the oldest undelivered change notice (0: none)", age
        )
        entries = CounterMetricFamily("cs_gateway_audit_entries", "Entries appended to the audit trail")
        entries.add_metric([], stats.audit_entries)
        yield entries

    def _crl(self, now: datetime) -> Iterator[Metric]:
        labels = ("crl",) if len(self._revocations) > 1 else ()
        usable = GaugeMetricFamily(
            "cs_gateway_crl_usable", "1 when the CRL is loaded, correctly signed and fresh", labels=labels
        )
        ages = GaugeMetricFamily("cs_gateway_crl_age_seconds", "Seconds since the CRL's thisUpdate", labels=labels)
        left = GaugeMetricFamily(
            "cs_gateway_crl_next_update_seconds", "Seconds until the CRL's nextUpdate (negative: stale)", labels=labels
        )
        for checker in self._revocations:
            value = [str(checker.crl_path)] if labels else []
            status = checker.status()
            usable.add_metric(value, int(status.error is None))
            if status.this_update is not None:
                ages.add_metric(value, (now - status.this_update).total_seconds())
            if status.next_update is not None:
                left.add_metric(value, (status.next_update - now).total_seconds())
        yield usable
        if ages.samples:
            yield ages
        if left.samples:
            yield left

    def _certificate_expiry(self, now: datetime) -> Iterator[Metric]:
        days = GaugeMetricFamily(
            "cs_gateway_certificate_expiry_days",
            "Days until each configured certificate's notAfter (negative: expired)",
            labels=("file", "subject"),
        )
        for key, path in self._certificates.items():
            for cert in _certificates(path):
                left = (cert.not_valid_after_utc - now).total_seconds() / 86400
                days.add_metric([key, cert.subject.rfc4514_string()], round(left, 3))
        yield days
