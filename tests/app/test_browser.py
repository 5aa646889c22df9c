"""What a browser relies on: CORS (preflight included), nosniff, and errors it can read."""

from __future__ import annotations

import pytest

PREFLIGHT = {
    "Origin": "https://news.example",
    "Access-Control-Request-Method": "GET",
    "Access-Control-Request-Headers": "x-requested-with, content-type",
}


def test_a_cors_preflight_allows_get_and_the_requested_headers(client):
    response = client.options("/contents/rust", headers=PREFLIGHT)

    assert response.status_code in (200, 204)
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in [m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")]
    assert response.headers["Access-Control-Allow-Headers"] == "*"


def test_a_cors_preflight_calls_no_upstream(client, upstream):
    client.options("/contents/rust", headers=PREFLIGHT)

    assert upstream.call_count == 0


@pytest.mark.parametrize("path", ["/contents/rust", "/nope", "/contents/%20", "/healthz", "/openapi.json"])
def test_every_answer_forbids_content_sniffing(client, path):
    assert client.get(path).headers["X-Content-Type-Options"] == "nosniff"


def test_a_cache_hit_answered_in_front_of_flask_forbids_content_sniffing(client):
    client.get("/contents/rust")

    hit = client.get("/contents/rust")

    assert hit.headers["X-Cache"] == "hit"
    assert hit.headers["X-Content-Type-Options"] == "nosniff"


def test_a_request_with_a_body_is_refused_413_in_json_with_cors(client, upstream):
    response = client.get("/contents/rust", data=b"unexpected")

    assert response.status_code == 413
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.get_json()["message"] == "Content Too Large"
    assert upstream.call_count == 0


def test_a_request_target_over_8_kib_is_refused_414_in_json_with_cors(client):
    response = client.get("/contents/" + "x" * 9000)

    assert response.status_code == 414
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
