"""Prometheus metrics, correct under several worker processes.

When PROMETHEUS_MULTIPROC_DIR is set (backend/serve.py sets it), every worker writes its
samples to files there and the admin listener's /metrics aggregates all of them, so a scrape
sees the whole pod. Without it (tests, a single process) the default registry is used.

Every label takes values from a fixed set: a series lives as long as the process (and its file
on the tmpfs), so a label fed from the request (a method, a path) would let any client add
series without end.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# Cache hits answer in about a millisecond, misses in tens to hundreds of milliseconds.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

# Methods the API knows of; any other token a client sends is counted as "other".
METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


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


ACCESS_LOG_DROPPED = Counter(
    "access_log_lines_dropped_total",
    "Access log lines dropped because stdout could not keep up (the queue was full).",
)
