"""Topic lookups: the upstream search behind the topic cache, answered as ready JSON bytes.

Caching the serialised body (not the stories) keeps a cache hit down to a dictionary
lookup, which is what most requests are.
"""

from __future__ import annotations

import json
import re
import unicodedata

from .cache import CacheStatus, TopicCache
from .config import Settings
from .upstream import SearchClient

MAX_TOPIC_LENGTH = 200
# Characters that show nothing by themselves besides Unicode's controls, format characters
# (zero-width space, word joiner, bidi marks, tags, ...) and spaces: the Hangul fillers, the
# Braille blank, the combining grapheme joiner and the variation selectors.
_SHOWN_AS_NOTHING = (0x034F, 0x115F, 0x1160, *range(0x180B, 0x1810), 0x2800, 0x3164, *range(0xFE00, 0xFE10),
                     0xFFA0, *range(0xE0100, 0xE01F0))
_BLANK_CATEGORIES = ("Cc", "Cf", "Zs", "Zl", "Zp")
# Where Unicode puts controls, format characters and spaces at all: the BMP, plane 1 and the
# tags of plane 14 (the database of the Python that runs the service decides which they are).
_PLANES_WITH_BLANKS = (range(0x0, 0x20000), range(0xE0000, 0xE1000))


def _blank_class() -> str:
    """The blank characters as the body of a regex character class, in ranges: text that Python
    and an ECMA (OpenAPI, with Unicode mode for the plane 1 and 14 ones) read the same way."""
    blank = sorted({code for plane in _PLANES_WITH_BLANKS for code in plane
                    if unicodedata.category(chr(code)) in _BLANK_CATEGORIES} | set(_SHOWN_AS_NOTHING))
    ranges, start = [], blank[0]
    for previous, code in zip(blank, blank[1:] + [None]):
        if code != previous + 1:
            ranges.append((start, previous))
            start = code
    return "".join(_spelled(low) if low == high else f"{_spelled(low)}-{_spelled(high)}" for low, high in ranges)


def _spelled(code: int) -> str:
    # \uXXXX means the same in both dialects; beyond the BMP they share no escape (Python has
    # \U0001XXXX, ECMA \u{1XXXX}), so those characters stand as themselves.
    return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)


_BLANK = _blank_class()
# A topic must contain a character outside the blanks. Spelled out rather than as `\s`, whose
# meaning differs between Python and the ECMA regex dialect of the OpenAPI document, which
# states the same rule with TOPIC_PATTERN.
TOPIC_PATTERN = f"[^{_BLANK}]"
_MEANINGFUL = re.compile(TOPIC_PATTERN)


def topic_is_valid(topic: str) -> bool:
    return len(topic) <= MAX_TOPIC_LENGTH and _MEANINGFUL.search(topic) is not None


class ContentsService:
    def __init__(self, settings: Settings, pool_size: int = 16) -> None:
        self._client = SearchClient(
            settings.upstream_url,
            connect_timeout=settings.upstream_connect_timeout,
            read_timeout=settings.upstream_read_timeout,
            retries=settings.upstream_retries,
            pool_size=pool_size,
            max_body_bytes=settings.upstream_max_body_bytes,
            fetch_deadline=settings.upstream_worst_case_seconds,
        )
        self._cache: TopicCache[bytes] = TopicCache(
            ttl=settings.cache_ttl,
            max_topics=settings.cache_max_topics,
            # Followers wait as long as the leader's fetch may take (its deadline, retries
            # included) and a second more: they get its answer, never a 504 of their own while
            # it still retries. They never wait much longer: the fetch ends at its deadline.
            wait_timeout=settings.upstream_worst_case_seconds + 1,
            failure_backoff=settings.upstream_failure_backoff,
            refresh_ahead=settings.cache_refresh_ahead,
        )

    def lookup(self, topic: str) -> tuple[bytes, CacheStatus]:
        """The JSON body for `topic`; raises UpstreamError/FollowerTimeout with nothing cached."""
        return self._cache.get(topic, lambda: self._fetch(topic))

    def fresh(self, topic: str) -> bytes | None:
        """The cached body for `topic` if it is fresh; never waits on the upstream (a body
        about to expire is refreshed in the background)."""
        return self._cache.peek(topic, refresh=lambda: self._fetch(topic))

    def _fetch(self, topic: str) -> bytes:
        stories = self._client.search(topic)
        outcome = [{"id": s.id, "title": s.title, "url": s.url} for s in stories]
        return json.dumps({"outcome": outcome}, ensure_ascii=False).encode()
