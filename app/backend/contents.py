"""Topic lookups: the upstream search behind the topic cache, answered as ready JSON bytes.

Caching the serialised body (not the stories) keeps a cache hit down to a dictionary
lookup, which is what most requests are.
"""

from __future__ import annotations

import json
import re

from .cache import CacheStatus, TopicCache
from .config import Settings
from .upstream import SearchClient

MAX_TOPIC_LENGTH = 200
# A topic must contain a character outside this set: controls, spaces and the Unicode blanks.
# Spelled out rather than as `\s`, whose meaning differs between Python and the ECMA regex
# dialect of the OpenAPI document, which states the same rule with TOPIC_PATTERN.
_BLANK = r"\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
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
