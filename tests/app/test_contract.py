"""The public contract of GET /contents/<topic>, through Flask's test client."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from backend.contents import MAX_TOPIC_LENGTH


def test_answers_only_stories_with_title_and_url_in_upstream_order(client):
    response = client.get("/contents/rust")

    assert response.status_code == 200
    assert response.get_json() == {
        "outcome": [
            {"id": "1", "title": "rust one", "url": "https://example.com/1"},
            {"id": "4", "title": "rust four", "url": "https://example.com/4"},
        ]
    }


def test_id_is_the_algolia_object_id_as_a_string(client, upstream):
    upstream.hits = lambda q: [{"objectID": 42, "title": "t", "url": "https://u"}]

    assert client.get("/contents/x").get_json() == {"outcome": [{"id": "42", "title": "t", "url": "https://u"}]}


def test_blank_titles_and_urls_are_dropped(client, upstream):
    upstream.hits = lambda q: [
        {"objectID": "1", "title": "  ", "url": "https://u"},
        {"objectID": "2", "title": "t", "url": " "},
        {"objectID": "3", "title": "t", "url": 7},
    ]

    assert client.get("/contents/x").get_json() == {"outcome": []}


def test_hits_without_an_object_id_are_dropped(client, upstream):
    upstream.hits = lambda q: [
        {"title": "no id", "url": "https://u/1"},
        {"objectID": None, "title": "null id", "url": "https://u/2"},
        {"objectID": "3", "title": "kept", "url": "https://u/3"},
    ]

    assert client.get("/contents/x").get_json() == {"outcome": [{"id": "3", "title": "kept", "url": "https://u/3"}]}


def test_allows_any_origin(client):
    assert client.get("/contents/rust").headers["Access-Control-Allow-Origin"] == "*"


def test_answers_json(client):
    assert client.get("/contents/rust").mimetype == "application/json"


def test_sends_the_topic_as_the_url_encoded_query_parameter(client, upstream):
    topic = "c&tags=story#frag?x=1 + ü"

    client.get("/contents/" + quote(topic, safe=""))

    (sent,) = upstream.requests
    assert sent["path"] == "/api/v1/search"
    assert sent["query"] == {"query": [topic]}


def test_a_topic_may_contain_a_slash(client, upstream):
    assert client.get("/contents/ci%2Fcd").status_code == 200
    assert upstream.requests[0]["query"] == {"query": ["ci/cd"]}


def test_a_topic_may_start_with_a_slash(client, upstream):
    assert client.get("/contents//r/programming").status_code == 200
    assert upstream.requests[0]["query"] == {"query": ["/r/programming"]}


def test_a_topic_may_contain_a_newline(client, upstream):
    assert client.get("/contents/two%0Alines").status_code == 200
    assert upstream.requests[0]["query"] == {"query": ["two\nlines"]}


def test_a_topic_of_the_maximum_length_is_accepted(client):
    assert client.get("/contents/" + "a" * MAX_TOPIC_LENGTH).status_code == 200


@pytest.mark.parametrize(
    "path",
    ["/contents/", "/contents", "/contents/%20%20", "/contents/" + "a" * (MAX_TOPIC_LENGTH + 1)],
    ids=["empty", "empty-no-slash", "blank", "too-long"],
)
def test_rejects_an_empty_blank_or_over_long_topic_with_400_json(client, upstream, path):
    response = client.get(path)

    assert response.status_code == 400
    assert "topic must be 1 to 200 characters" in response.get_json()["message"]
    assert upstream.call_count == 0


def test_unknown_path_is_404_json(client):
    response = client.get("/nope")

    assert response.status_code == 404
    assert response.get_json()["message"] == "Not Found"


def test_wrong_method_is_405_json_with_allow_header(client):
    response = client.post("/contents/rust")

    assert response.status_code == 405
    assert response.get_json()["message"] == "Method Not Allowed"
    assert "GET" in response.headers["Allow"]


def test_an_unexpected_error_is_500_json_without_traceback(app, client, monkeypatch):
    def explode(topic):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(app.extensions["contents"], "lookup", explode)

    response = client.get("/contents/rust")

    assert response.status_code == 500
    assert response.get_json()["message"] == "Internal Server Error"
    assert "secret internals" not in response.get_data(as_text=True)


def test_liveness_probe_answers_200(client):
    assert client.get("/healthz").get_json() == {"status": "alive"}


def test_readiness_does_not_call_the_upstream(client, upstream):
    upstream.set_mode("hang")

    response = client.get("/readyz")

    assert response.get_json() == {"status": "ready"}
    assert upstream.call_count == 0


def test_serves_an_openapi_3_document_describing_contents(client):
    spec = client.get("/openapi.json").get_json()

    assert spec["openapi"].startswith("3.")
    operation = spec["paths"]["/contents/{topic}"]["get"]
    assert {"200", "400", "502", "504"} <= set(operation["responses"])


def test_serves_no_interactive_docs_page(client):
    # Swagger UI would load an unpinned script from a CDN into the API's origin; the OpenAPI
    # document is served instead, for any viewer to read.
    response = client.get("/docs")

    assert response.status_code == 404
    assert response.get_json()["message"] == "Not Found"
