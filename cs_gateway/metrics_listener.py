"""The metrics endpoint: Prometheus's text format over plain HTTP on a listener of its own,
never on the mTLS port. Loopback by default; config.py refuses another address unless
``metrics.allow_non_loopback`` says so."""

from __future__ import annotations

import threading
import urllib.request
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@dataclass
class MetricsListener:
    httpd: WSGIServer
    thread: threading.Thread
    host: str

    @property
    def port(self) -> int:
        return int(self.httpd.server_port)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


def start_metrics_listener(address: str, registry: CollectorRegistry) -> MetricsListener:
    """Serve /metrics on ``address`` (HOST:PORT, port 0: any free one); OSError if it cannot bind."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    httpd, thread = start_http_server(int(port), addr=host, registry=registry)
    return MetricsListener(httpd=httpd, thread=thread, host=host)


def scrape(url: str, *, timeout: float = 10.0) -> Samples:
    """Every sample of a /metrics page: (name, sorted labels) -> value (for tests and benchmarks)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - a URL the gateway printed
        text = response.read().decode("utf-8")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when absent (a counter that never moved)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)
