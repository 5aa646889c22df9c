"""Prometheus metrics, correct under several gunicorn worker processes.

When PROMETHEUS_MULTIPROC_DIR is set (gunicorn.conf.py sets it), every worker writes its
samples to files there and /metrics aggregates all of them, so a scrape sees the whole pod
whichever worker answers. Without it (tests, a single process) the default registry is used.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

# Cache hits answer in about a millisecond, misses in tens to hundreds of milliseconds.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["route"],
    buckets=_LATENCY_BUCKETS,
)
UPSTREAM_REQUESTS = Counter(
    "upstream_requests_total",
    "Searches sent to the upstream API (retries included in one), by outcome.",
    ["outcome"],
)
UPSTREAM_LATENCY = Histogram(
    "upstream_request_duration_seconds",
    "Time an upstream search took, retries included.",
    buckets=_LATENCY_BUCKETS,
)
CACHE_LOOKUPS = Counter(
    "cache_lookups_total",
    "Topic cache lookups, by result: hit, miss (fetched upstream) or stale (served after a failed fetch).",
    ["result"],
)


def render() -> tuple[bytes, str]:
    """The exposition text for a scrape, and its content type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST
