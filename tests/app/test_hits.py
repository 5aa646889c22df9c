"""Fresh cache hits are answered in front of Flask, and clients cannot tell the difference."""

from __future__ import annotations

from prometheus_client import REGISTRY
from werkzeug.test import Client
from werkzeug.wrappers import Response

ROUTE = "/contents/<topic:topic>"


def through_flask_only(app):
    return Client(app.wsgi_app._app, Response)


def test_a_hit_answers_exactly_what_flask_answers_for_it(app, client):
    client.get("/contents/rust")

    fast = client.get("/contents/rust")
    slow = through_flask_only(app).get("/contents/rust")

    assert fast.headers["X-Cache"] == slow.headers["X-Cache"] == "hit"
    assert (fast.status, sorted(fast.headers.items()), fast.data) == (
        slow.status, sorted(slow.headers.items()), slow.data)


def test_a_non_ascii_topic_is_a_hit_on_its_second_request(client, upstream):
    client.get("/contents/%C3%BCber")

    assert client.get("/contents/%C3%BCber").headers["X-Cache"] == "hit"
    assert upstream.call_count == 1


def test_hits_are_counted_under_the_flask_route(client):
    def count():
        return REGISTRY.get_sample_value(
            "http_requests_total", {"route": ROUTE, "method": "GET", "status": "200"}) or 0

    client.get("/contents/rust")
    before = count()
    client.get("/contents/rust")

    assert count() - before == 1


def test_an_expired_entry_goes_through_flask_and_is_fetched_again(app, client, upstream, monkeypatch):
    client.get("/contents/rust")
    monkeypatch.setattr(app.extensions["contents"]._cache, "_ttl", 0)

    assert client.get("/contents/rust").headers["X-Cache"] == "miss"
    assert upstream.call_count == 2


def test_other_methods_on_a_cached_topic_are_left_to_flask(client):
    client.get("/contents/rust")

    assert client.post("/contents/rust").status_code == 405
    head = client.head("/contents/rust")
    assert (head.status_code, head.data) == (200, b"")
