"""What of the upstream's answer becomes stories: each hit judged alone.

The answer must be a JSON object whose `hits` is a list, or it is malformed (502). Within the
list, a hit is answered only when it has an id, a title and a web link; any other hit (null, a
string, an id no client could store, a `javascript:` link) is left out and spoils nothing else.

- id: a string of 1 to MAX_ID_LENGTH characters, not blank, or a whole number from 0 to
  2**63 - 1 (the widest id a JSON client stores exactly as an integer, and far below the
  digit count past which Python refuses to turn an int into text). Never a boolean or a float.
- title: a non-blank string, passed on as written: clients render it as text (JSON escapes
  control characters; a title is never markup).
- url: a non-blank string that is an absolute http or https link with a host, and no control
  character or space in it. A `javascript:`, `data:` or `file:` link, or a relative one, is
  what a client would run or misread if it put the link in an `href`; Hacker News itself only
  links to web pages.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TypeGuard
from urllib.parse import urlsplit

MAX_ID_LENGTH = 64
MAX_INTEGER_ID = 2 ** 63 - 1
WEB_SCHEMES = ("http", "https")
# Controls, spaces and DEL: a link holding one is not what the upstream meant to link to.
_NOT_IN_A_LINK = re.compile(r"[\x00-\x20\x7f]")


class MalformedAnswer(ValueError):
    """The answer is not an object with a list of hits."""


@dataclass(frozen=True)
class Story:
    id: str
    title: str
    url: str


def parse_stories(body: bytes) -> list[Story]:
    """The stories of a search answer, in upstream order; MalformedAnswer when it has no hits list."""
    try:
        document = json.loads(body, parse_int=_integer)
    except RecursionError:  # nested deeper than the parser's recursion limit
        raise MalformedAnswer("JSON nested too deep") from None
    except ValueError as error:
        raise MalformedAnswer(f"not JSON ({type(error).__name__})") from None
    hits = document.get("hits") if isinstance(document, dict) else None
    if not isinstance(hits, list):
        raise MalformedAnswer("no list of hits")
    return [story for story in map(story_of, hits) if story is not None]


class _TooLarge:
    """An integer of the answer with more digits than any id: never an id, never a parse error."""


_TOO_LARGE = _TooLarge()


def _integer(digits: str) -> int | _TooLarge:
    # Python refuses to parse an int of over 4300 digits (a ValueError that would fail the whole
    # answer); no id has more than 19.
    return int(digits) if len(digits.lstrip("-")) <= 19 else _TOO_LARGE


def story_of(hit: object) -> Story | None:
    if not isinstance(hit, dict):
        return None
    story_id, title, url = _id(hit.get("objectID")), hit.get("title"), hit.get("url")
    if story_id is None or not _text(title) or not _web_link(url):
        return None
    return Story(id=story_id, title=title, url=url)


def _id(value: object) -> str | None:
    # bool is an int subclass: `true` is not an id.
    if type(value) is int:
        return str(value) if 0 <= value <= MAX_INTEGER_ID else None
    if isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH and value.strip():
        return value
    return None


def _text(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and value.strip() != ""


def _web_link(value: object) -> TypeGuard[str]:
    if not _text(value) or _NOT_IN_A_LINK.search(value):
        return False
    try:
        parts = urlsplit(value)
        host = parts.hostname  # parses the netloc: a bad port or bracket raises ValueError
    except ValueError:
        return False
    return parts.scheme.lower() in WEB_SCHEMES and bool(host)
