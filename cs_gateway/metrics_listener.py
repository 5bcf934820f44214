"""The metrics endpoint: Prometheus's text format over plain HTTP on a listener of its own,
never on the mTLS port. Loopback by default; config.py refuses another address unless
``metrics.allow_non_loopback`` says so."""

from __future__ import annotations

import socket
import threading
import urllib.request
from dataclasses import dataclass
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.parser import text_string_to_metric_families

POLL_S = 0.1  # how soon the serving thread notices close(): the gateway's stop waits for it

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


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        """No access log on stderr (the gateway logs in JSON)."""


def start_metrics_listener(address: str, registry: CollectorRegistry) -> MetricsListener:
    """Serve /metrics on ``address`` (HOST:PORT, port 0: any free one); OSError if it cannot bind.

    prometheus_client's start_http_server, but its serving thread polls every POLL_S instead
    of every 0.5 s, so that a gateway stops without waiting half a second for it."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    family, _, _, _, sockaddr = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]

    class Server(ThreadingWSGIServer):
        address_family = family

    httpd = make_server(sockaddr[0], int(port), make_wsgi_app(registry), Server, handler_class=_Quiet)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": POLL_S}, daemon=True)
    thread.start()
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
