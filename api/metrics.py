"""Prometheus metrics of one app: request counts, latency histograms, index size (prometheus_client)."""
from __future__ import annotations

from typing import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

# Extractive answers take tens of milliseconds; uploads take seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _IndexSize:
    """Documents and chunks of the live index, read at scrape time."""

    def __init__(self, sizes: Callable[[], tuple[int, int] | None]):
        self._sizes = sizes

    def collect(self):
        sizes = self._sizes()
        if sizes is None:
            return
        docs = GaugeMetricFamily("rag_index_documents", "Documents in the live index")
        docs.add_metric([], sizes[0])
        chunks = GaugeMetricFamily("rag_index_chunks", "Chunks in the live index")
        chunks.add_metric([], sizes[1])
        yield docs
        yield chunks


class Metrics:
    """A registry per app, so that several apps (tests) never share counters."""

    def __init__(self, index_sizes: Callable[[], tuple[int, int] | None]):
        self.registry = CollectorRegistry()
        self.requests = Counter("rag_http_requests", "HTTP requests", ["method", "route", "status"],
                                registry=self.registry)
        self.latency = Histogram("rag_http_request_duration_seconds", "HTTP request latency",
                                 ["method", "route"], buckets=BUCKETS, registry=self.registry)
        self.registry.register(_IndexSize(index_sizes))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
