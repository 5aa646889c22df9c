"""An upstream that misbehaves on purpose or by accident: every case ends in a clear 502 or
504 (JSON), within the fetch's deadline and with bounded memory; none is served as results."""

from __future__ import annotations

import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import pytest

from backend import create_app
from backend.config import Settings
from tests.support.fake_upstream import (
    FakeUpstream,
    gzip_bomb,
    gzipped,
    http_answer,
    json_body,
    sends,
    sends_headers_then_hangs,
    trickles,
)

STORIES = [{"objectID": "1", "title": "one", "url": "https://example.com/1"}]


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return gzip_bomb(64 * 1024 * 1024)  # 64 MiB of zeros in about 64 KiB


def test_an_answer_trickling_in_ends_at_the_attempt_deadline_with_504(client, upstream, settings):
    # Every read gets a byte well within the read timeout: only a whole-answer deadline ends it.
    upstream.answer = trickles(http_answer(200, json_body(STORIES)), every_seconds=0.05)

    started = time.monotonic()
    response = client.get("/contents/rust")
    elapsed = time.monotonic() - started

    assert response.status_code == 504
    assert elapsed < settings.upstream_connect_timeout + settings.upstream_read_timeout + 0.5
    assert upstream.call_count == 1  # a timeout is not retried


def test_an_upstream_hanging_after_its_headers_is_a_504_timeout(client, upstream):
    upstream.answer = sends_headers_then_hangs()

    response = client.get("/contents/rust")

    assert response.status_code == 504
    assert response.get_json()["message"] == "the upstream search API timed out"


def test_a_gzip_bomb_is_refused_502_without_inflating_it(client, upstream, bomb):
    upstream.answer = sends(http_answer(200, bomb, {"Content-Encoding": "gzip"}))

    tracemalloc.start()
    try:
        response = client.get("/contents/rust")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert response.status_code == 502
    assert peak < 16 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB while refusing the answer"


def test_a_gzip_answer_within_the_limit_is_served(client, upstream):
    upstream.answer = sends(http_answer(200, gzipped(json_body(STORIES)), {"Content-Encoding": "gzip"}))

    assert client.get("/contents/rust").get_json() == {
        "outcome": [{"id": "1", "title": "one", "url": "https://example.com/1"}]}


def test_an_answer_over_the_body_limit_is_refused_502_and_not_cached(settings, upstream):
    client = create_app(Settings(**{**settings.__dict__, "upstream_max_body_bytes": 64 * 1024})).test_client()
    many = [{"objectID": str(i), "title": f"story {i}", "url": f"https://example.com/{i}"} for i in range(5000)]
    upstream.hits = lambda q: many  # about 350 KB of valid JSON

    assert client.get("/contents/rust").status_code == 502
    assert client.get("/contents/rust").status_code == 502
    assert upstream.call_count == 2  # refused each time: neither retried nor cached


def test_an_answer_without_a_length_over_the_body_limit_is_refused_502(settings, upstream):
    client = create_app(Settings(**{**settings.__dict__, "upstream_max_body_bytes": 64 * 1024})).test_client()
    body = json_body([{"objectID": str(i), "title": "t", "url": "https://u"} for i in range(5000)])
    # No Content-Length: the body runs until the connection closes.
    upstream.answer = sends(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" + body)

    assert client.get("/contents/rust").status_code == 502


def test_a_redirect_is_not_followed(client, upstream):
    with FakeUpstream() as elsewhere:
        upstream.answer = sends(http_answer(302, b"", {"Location": elsewhere.url + "?query=rust"}))

        response = client.get("/contents/rust")

        assert response.status_code == 502
        assert elsewhere.call_count == 0


def test_deeply_nested_json_is_a_502_not_a_500(client, upstream):
    depth = 100_000
    upstream.answer = sends(http_answer(200, b'{"hits": ' + b"[" * depth + b"]" * depth + b"}"))

    response = client.get("/contents/rust")

    assert response.status_code == 502
    assert response.get_json()["message"] == "the upstream search API failed"


def test_a_boolean_object_id_is_not_an_id(client, upstream):
    upstream.hits = lambda q: [
        {"objectID": True, "title": "boolean id", "url": "https://example.com/true"},
        {"objectID": 7, "title": "number id", "url": "https://example.com/7"},
    ]

    assert client.get("/contents/rust").get_json() == {
        "outcome": [{"id": "7", "title": "number id", "url": "https://example.com/7"}]}


def test_a_4xx_answer_with_hits_is_not_served(client, upstream):
    upstream.answer = sends(http_answer(404, json_body(STORIES)))

    assert client.get("/contents/rust").status_code == 502


def test_same_topic_followers_wait_out_the_leaders_retries(client, upstream, settings):
    # Each attempt takes 0.4 s: the two failed ones, their backoff and the good one together
    # take about three times the read timeout. Followers must get the leader's answer.
    upstream.delay_seconds = 0.4
    upstream.queue_modes("error", "error")
    assert 3 * 0.4 > settings.upstream_read_timeout

    def lookup(_):
        return client.get("/contents/rust").status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(lookup, range(6)))

    assert statuses == [200] * 6
    assert upstream.call_count == 3


def test_a_hit_answered_in_front_of_flask_refreshes_ahead(settings, upstream):
    app = create_app(Settings(**{**settings.__dict__, "cache_ttl": 1, "cache_refresh_ahead": 0.9}))
    client = app.test_client()
    client.get("/contents/rust")
    time.sleep(0.15)  # now within the last 0.9 s of the entry's freshness

    response = client.get("/contents/rust")

    assert response.headers["X-Cache"] == "hit"
    deadline = time.monotonic() + 5
    while upstream.call_count < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert upstream.call_count == 2, "the hit did not start a background refresh"
