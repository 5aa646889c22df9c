"""How the service answers when the upstream misbehaves and nothing is cached."""

from __future__ import annotations

import socket
import time

from backend import create_app
from backend.config import Settings


def test_an_upstream_4xx_is_answered_502_without_retry(client, upstream):
    upstream.set_mode("error")
    upstream.error_status = 429

    assert client.get("/contents/rust").status_code == 502
    assert upstream.call_count == 1


def test_upstream_500_is_retried_then_answered_502_json(client, upstream):
    upstream.set_mode("error")

    response = client.get("/contents/rust")

    assert response.status_code == 502
    assert response.get_json()["message"] == "the upstream search API failed"
    assert upstream.call_count == 3  # the first attempt and UPSTREAM_RETRIES=2 retries


def test_a_transient_upstream_500_is_hidden_by_a_retry(client, upstream):
    upstream.queue_modes("error")

    response = client.get("/contents/rust")

    assert response.status_code == 200
    assert upstream.call_count == 2


def test_a_retry_after_header_does_not_stretch_the_wait(client, upstream):
    upstream.set_mode("error")
    upstream.error_status = 503
    upstream.extra_headers = {"Retry-After": "30"}

    started = time.monotonic()
    assert client.get("/contents/rust").status_code == 502
    assert time.monotonic() - started < 5
    assert upstream.call_count == 3


def test_malformed_upstream_json_is_answered_502_without_retry(client, upstream):
    upstream.set_mode("malformed")

    response = client.get("/contents/rust")

    assert response.status_code == 502
    assert upstream.call_count == 1


def test_upstream_json_without_hits_is_answered_502(client, upstream):
    upstream.hits = lambda q: None  # valid JSON, wrong shape: {"hits": null}

    assert client.get("/contents/rust").status_code == 502


def test_a_hanging_upstream_is_answered_504_after_one_read_timeout(client, upstream, settings):
    upstream.set_mode("hang")

    started = time.monotonic()
    response = client.get("/contents/rust")
    elapsed = time.monotonic() - started

    assert response.status_code == 504
    assert response.get_json()["message"] == "the upstream search API timed out"
    assert upstream.call_count == 1  # read timeouts are not retried
    assert settings.upstream_read_timeout <= elapsed < settings.upstream_read_timeout + 1


def test_an_unreachable_upstream_is_answered_502(settings):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    unreachable = Settings(**{**settings.__dict__, "upstream_url": f"http://127.0.0.1:{port}/search"})

    response = create_app(unreachable).test_client().get("/contents/rust")

    assert response.status_code == 502


def test_a_failure_is_not_cached_as_an_empty_result(client, upstream):
    upstream.queue_modes("malformed")
    assert client.get("/contents/rust").status_code == 502

    response = client.get("/contents/rust")

    assert response.status_code == 200
    assert len(response.get_json()["outcome"]) == 2
