"""The Prometheus metrics a single process records (the multi-worker view is in test_server)."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def delta():
    """Call with a sample name and labels before acting; the returned function gives the change."""

    def start(name, **labels):
        before = sample(name, **labels)
        return lambda: sample(name, **labels) - before

    return start


def test_requests_are_counted_by_route_template_method_and_status(client, delta):
    ok = delta("http_requests_total", route="/contents/<topic:topic>", method="GET", status="200")
    bad = delta("http_requests_total", route="/contents/<topic:topic>", method="GET", status="400")
    unmatched = delta("http_requests_total", route="unmatched", method="GET", status="404")

    client.get("/contents/a")
    client.get("/contents/b")
    client.get("/contents/%20")
    client.get("/nope")

    assert (ok(), bad(), unmatched()) == (2, 1, 1)


def test_request_latency_is_observed_per_route(client, delta):
    observed = delta("http_request_duration_seconds_count", route="/healthz")

    client.get("/healthz")

    assert observed() == 1


def test_cache_hits_and_misses_are_counted(client, delta):
    hits, misses = delta("cache_lookups_total", result="hit"), delta("cache_lookups_total", result="miss")

    for _ in range(3):
        client.get("/contents/rust")

    assert (hits(), misses()) == (2, 1)


def test_stale_answers_are_counted(app, client, upstream, delta, monkeypatch):
    stale = delta("cache_lookups_total", result="stale")
    client.get("/contents/rust")
    cache = app.extensions["contents"]._cache
    monkeypatch.setattr(cache, "_ttl", 0)  # everything cached is now expired
    upstream.set_mode("malformed")

    assert client.get("/contents/rust").headers["X-Cache"] == "stale"
    assert stale() == 1


def test_upstream_calls_are_counted_by_outcome(client, upstream, delta):
    ok, error, timeout = (delta("upstream_requests_total", outcome=o) for o in ("ok", "error", "timeout"))

    client.get("/contents/a")
    upstream.set_mode("malformed")
    client.get("/contents/b")
    upstream.set_mode("hang")
    client.get("/contents/c")

    assert (ok(), error(), timeout()) == (1, 1, 1)


def test_an_unknown_method_is_counted_as_other(client, delta):
    # A method no route takes matches no route: 405, counted as unmatched.
    other = delta("http_requests_total", route="unmatched", method="other", status="405")

    client.open("/contents/rust", method="BREW")

    assert other() == 1
    assert REGISTRY.get_sample_value(
        "http_requests_total", {"route": "unmatched", "method": "BREW", "status": "405"}) is None
