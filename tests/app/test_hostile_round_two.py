"""The second round of hostile input (issue 23): single bad hits, undecodable paths, topics that
are invisible, and links a browser would run. Each case failed on the code before it."""

from __future__ import annotations

import json
import unicodedata
from urllib.parse import unquote_to_bytes

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from backend.contents import topic_is_valid
from tests.support.fake_upstream import http_answer, sends

GOOD = {"objectID": "1", "title": "one", "url": "https://example.com/1"}
EXPECTED = [{"id": "1", "title": "one", "url": "https://example.com/1"}]
PROPERTIES = hypothesis_settings(max_examples=200, deadline=None,
                                 suppress_health_check=[HealthCheck.function_scoped_fixture])


class Huge(int):
    """An integer JSON writes out in full, whatever its size (json.dumps would refuse it)."""


def _encode(value) -> str:
    if isinstance(value, Huge):
        return "1" + "0" * 5000
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(key)}:{_encode(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_encode(item) for item in value) + "]"
    return json.dumps(value)


def answering(upstream, document) -> None:
    # The fake closes the connection after each raw answer, so it says so, as a server must;
    # otherwise the client would reuse a connection already closed and count it a failure.
    upstream.answer = sends(http_answer(200, _encode(document).encode(), {"Connection": "close"}))


# --- one bad hit spoils nothing ---------------------------------------------------------------------

@pytest.mark.parametrize("bad_hit", [
    None, "a string", 42, 1.5, True, [], [GOOD],
    {"objectID": Huge(), "title": "huge id", "url": "https://example.com/h"},
    {"objectID": Huge(), "title": "huge id", "url": "https://example.com/h", "points": Huge()},
    {"objectID": -1, "title": "negative id", "url": "https://example.com/n"},
    {"objectID": 2 ** 63, "title": "id over 64 bits", "url": "https://example.com/b"},
    {"objectID": "x" * 65, "title": "id too long", "url": "https://example.com/l"},
    {"objectID": "", "title": "empty id", "url": "https://example.com/e"},
    {"objectID": " ", "title": "blank id", "url": "https://example.com/b"},
    {"objectID": 1.0, "title": "float id", "url": "https://example.com/f"},
    {"objectID": None, "title": "null id", "url": "https://example.com/0"},
    {"objectID": {"nested": 1}, "title": "object id", "url": "https://example.com/o"},
    {"title": "no id", "url": "https://example.com/x"},
], ids=lambda hit: hit["title"] if isinstance(hit, dict) else repr(hit))
def test_one_bad_hit_is_left_out_and_the_others_are_answered(client, upstream, bad_hit):
    answering(upstream, {"hits": [bad_hit, GOOD]})

    response = client.get("/contents/python")

    assert response.status_code == 200
    assert response.get_json() == {"outcome": EXPECTED}


@PROPERTIES
@given(bad_hits=st.lists(st.recursive(
    st.none() | st.booleans() | st.integers() | st.just(Huge()) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["objectID", "title", "url", "other"]), children, max_size=4),
    max_leaves=8), max_size=5))
def test_any_mix_of_malformed_hits_still_answers_the_good_one(client, upstream, bad_hits):
    # A fresh topic each time: nothing comes from the cache.
    answering(upstream, {"hits": [*bad_hits, GOOD]})
    topic = f"mixed{upstream.call_count}"

    response = client.get(f"/contents/{topic}")

    assert response.status_code == 200
    outcome = response.get_json()["outcome"]
    assert outcome[-1] == EXPECTED[0]
    for story in outcome:
        assert set(story) == {"id", "title", "url"}
        assert all(isinstance(value, str) and value.strip() for value in story.values())


@pytest.mark.parametrize("document", [{"hits": "not a list"}, {"hits": {"0": GOOD}}, {"hits": None}, [GOOD], "hits"],
                         ids=repr)
def test_hits_that_are_not_a_list_are_a_malformed_answer_not_an_empty_one(client, upstream, document):
    answering(upstream, document)

    response = client.get("/contents/python")

    assert response.status_code == 502


def test_an_integer_id_is_answered_as_its_decimal_text(client, upstream):
    answering(upstream, {"hits": [{**GOOD, "objectID": 2 ** 63 - 1}]})

    assert client.get("/contents/python").get_json()["outcome"][0]["id"] == str(2 ** 63 - 1)


# --- links a browser would run -------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)", "file:///etc/passwd", "//example.com/no-scheme", "https://", "http:///path-only",
    "ftp://example.com/file", "example.com/relative", "https://exa mple.com/space-in-host",
    "https://example.com/\x00nul", "https://example.com/\nnewline",
], ids=repr)
def test_a_hit_whose_url_is_not_an_http_or_https_link_is_left_out(client, upstream, url):
    answering(upstream, {"hits": [{"objectID": "2", "title": "hostile", "url": url}, GOOD]})

    assert client.get("/contents/python").get_json() == {"outcome": EXPECTED}


@pytest.mark.parametrize("url", ["https://example.com/a?b=c#d", "http://example.com", "HTTPS://EXAMPLE.COM/x",
                                 "https://例え.jp/パス", "https://[2001:db8::1]:8443/x"])
def test_web_links_are_answered_as_the_upstream_wrote_them(client, upstream, url):
    answering(upstream, {"hits": [{"objectID": "2", "title": "fine", "url": url}]})

    assert client.get("/contents/python").get_json()["outcome"] == [{"id": "2", "title": "fine", "url": url}]


def test_control_characters_in_a_title_are_passed_on_json_escaped(client, upstream):
    # Documented: titles are text for the client to render as text; JSON escapes what it must.
    answering(upstream, {"hits": [{**GOOD, "title": "a\x07b\u202ec"}]})

    response = client.get("/contents/python")

    assert response.get_json()["outcome"][0]["title"] == "a\x07b\u202ec"
    assert b"\\u0007" in response.data


# --- the path's bytes ---------------------------------------------------------------------------------------

def get_raw(client, path: str):
    """GET with PATH_INFO as a WSGI server hands it over: the percent-decoded bytes, as latin-1
    text. (Werkzeug's test client would decode `%FF` to U+FFFD itself.)"""
    raw = unquote_to_bytes(path)
    return client.get("/", environ_overrides={"PATH_INFO": raw.decode("latin-1")})


@pytest.mark.parametrize("path", ["/contents/%FF", "/contents/caf%E9", "/contents/%C3", "/contents/ok%ED%A0%80",
                                  "/contents/%F4%90%80%80", "/contents/%C0%AF", "/healthz%FF", "/%80"])
def test_a_path_that_is_not_utf8_once_decoded_is_answered_400(client, upstream, path):
    response = get_raw(client, path)

    assert response.status_code == 400
    assert response.get_json()["detail"] == {"error": "the request path is not UTF-8 once percent-decoded"}
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert upstream.call_count == 0


def test_two_undecodable_paths_never_share_a_cache_entry(client, upstream):
    answering(upstream, {"hits": [GOOD]})

    get_raw(client, "/contents/%FF")
    get_raw(client, "/contents/%FE")

    assert upstream.call_count == 0


@PROPERTIES
@given(raw=st.binary(min_size=1, max_size=12))
def test_any_topic_bytes_are_answered_400_exactly_when_they_are_not_utf8(client, upstream, raw):
    answering(upstream, {"hits": [GOOD]})
    try:
        raw.decode("utf-8")
        valid = True
    except UnicodeDecodeError:
        valid = False

    response = get_raw(client, "/contents/" + "".join(f"%{byte:02X}" for byte in raw))

    if not valid:
        assert response.status_code == 400
    else:
        assert response.status_code != 400 or not topic_is_valid(raw.decode("utf-8"))


# --- topics that are invisible ---------------------------------------------------------------------------

INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\u3164", "\u2800", "\u115f", "\u1160", "\uffa0", "\u180e",
             "\u034f", "\ufe0f", "\U000e0020", "\u00ad", "\u061c", "\u2061", "\u2066", "\u202e", "\U000e0100"]


@pytest.mark.parametrize("character", INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
def test_a_topic_made_only_of_an_invisible_character_is_blank(client, upstream, character):
    response = client.get(f"/contents/{character * 3}")

    assert response.status_code == 400
    assert upstream.call_count == 0


@PROPERTIES
@given(st.text(st.characters(categories=("Cc", "Cf", "Zs", "Zl", "Zp")), min_size=1, max_size=10))
def test_a_topic_of_format_control_and_space_characters_only_is_blank(topic):
    assert not topic_is_valid(topic)


@PROPERTIES
@given(blank=st.text(st.sampled_from(INVISIBLE + [" ", "\t"]), max_size=5),
       visible=st.characters(categories=("L", "N", "P", "S")).filter(
           lambda c: c not in INVISIBLE and unicodedata.category(c) != "Co"))
def test_one_visible_character_among_invisible_ones_makes_a_topic(blank, visible):
    assert topic_is_valid(blank + visible + blank)


@pytest.mark.parametrize("slashes", ["/", "//", "///"])
def test_a_topic_made_only_of_slashes_is_searched_like_any_other(client, upstream, slashes):
    # Werkzeug routes `/contents//` to the empty-topic rule; the topic there is "/", not "".
    answering(upstream, {"hits": [GOOD]})

    response = get_raw(client, "/contents/" + "%2F" * len(slashes))

    assert response.status_code == 200
    assert upstream.requests[-1]["query"]["query"] == [slashes]
