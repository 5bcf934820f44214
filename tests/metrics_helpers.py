"""Scrape a gateway's /metrics over a real HTTP connection and read samples from it."""

from __future__ import annotations

from cs_gateway.metrics_listener import Samples
from cs_gateway.metrics_listener import sample as value
from cs_gateway.metrics_listener import scrape as scrape_url

__all__ = ["metric", "scrape", "value", "with_name"]


def scrape(host: str, port: int) -> Samples:
    return scrape_url(f"http://{host}:{port}/metrics")


def with_name(samples: Samples, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {labels: v for (n, labels), v in samples.items() if n == name}


def metric(url: str, name: str) -> float:
    """The unlabelled sample ``name`` of the /metrics page at ``url`` (AssertionError if not exported)."""
    samples = scrape_url(url, timeout=5)
    if (name, ()) not in samples:
        raise AssertionError(f"{name} not exported")
    return samples[(name, ())]
