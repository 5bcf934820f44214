"""The gateway's Prometheus metrics: the instruments the request path updates, each a cached
labelled child (one dict lookup and one locked add per event; ``.labels()`` runs once per
method and outcome), and the registry they live in, one per gateway.

Figures that can be read from elsewhere (outbox backlog, audit entries, CRL and certificate
dates) are not kept up to date on every call: metrics_collector.py computes them at scrape
time. The HTTP listener is metrics_listener.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import grpc
from prometheus_client import CollectorRegistry, Counter, Histogram

# Batches hold 1 .. 512 jobs (SqliteStore's max_batch).
BATCH_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
COMMIT_SECONDS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
OTHER_METHOD = "other"  # every method the gateway does not serve (no label per caller-chosen name)


class RpcOutcomes:
    """The outcome counter of one method: ``ok()`` after a call succeeded, ``ended(context)``
    after it raised (the status the call ended with, read from the context)."""

    def __init__(self, counter: Counter, method: str) -> None:
        self._counter = counter
        self._method = method
        self._children: dict[str, Callable[[], None]] = {}
        self.ok: Callable[[], None] = self._child("OK")

    def _child(self, code: str) -> Callable[[], None]:
        inc = self._children.get(code)
        if inc is None:
            inc = self._children[code] = self._counter.labels(self._method, code).inc
        return inc

    def ended(self, context: grpc.aio.ServicerContext, error: BaseException) -> None:
        code = context.code()
        if isinstance(code, grpc.StatusCode):
            name = code.name
        elif isinstance(error, (GeneratorExit, asyncio.CancelledError)):
            name = "CANCELLED"
        else:
            name = "UNKNOWN"
        self._child(name)()


class GatewayMetrics:
    """Counters and histograms of one gateway, in a registry of its own (several gateways may
    run in one test process)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self._rpcs = Counter(
            "cs_gateway_rpcs",
            "RPCs handled, by full method name and the gRPC status they ended with",
            ("method", "code"),
            registry=self.registry,
        )
        self._refusals = Counter(
            "cs_gateway_refusals",
            "Refusals by reason: guard rules (identity:, revocation:, network:, policy:), request "
            "refusals (MESSAGE_TOO_LARGE, MALFORMED_REQUEST) and the updates' format and logic checks",
            ("reason",),
            registry=self.registry,
        )
        self._refusal_children: dict[str, Callable[[], None]] = {}
        self._batch_size = Histogram(
            "cs_gateway_store_batch_size",
            "Jobs (updates and audit-only entries) per committed batch of the store's writer",
            buckets=BATCH_SIZE_BUCKETS,
            registry=self.registry,
        )
        self._commit_seconds = Histogram(
            "cs_gateway_store_batch_commit_seconds",
            "Seconds of each committed batch's COMMIT in the store's writer process (the wait for the disk)",
            buckets=COMMIT_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self._observe_size = self._batch_size.observe
        self._observe_seconds = self._commit_seconds.observe

    def rpc_outcomes(self, method: str) -> RpcOutcomes:
        return RpcOutcomes(self._rpcs, method)

    def refusal(self, reason: str) -> None:
        inc = self._refusal_children.get(reason)
        if inc is None:
            inc = self._refusal_children[reason] = self._refusals.labels(reason).inc
        inc()

    def batch_committed(self, size: int, seconds: float) -> None:
        """The store's per-batch hook (SqliteStore(on_batch=...))."""
        self._observe_size(size)
        self._observe_seconds(seconds)
