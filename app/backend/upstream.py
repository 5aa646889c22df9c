"""The client for the Hacker News Algolia search API.

Retries (bounded, with backoff) come from urllib3's Retry on a pooled requests Session, so
connection handling is the well-trodden one. Every failure leaves this module as one of two
exceptions the HTTP layer maps to 502 or 504; nothing pretends an outage is an empty result.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from . import metrics

log = logging.getLogger(__name__)

RETRIED_STATUSES = frozenset({500, 502, 503, 504})


class UpstreamError(Exception):
    """The upstream answered badly or could not be reached (maps to 502)."""


class UpstreamTimeout(UpstreamError):
    """The upstream did not connect or answer in time (maps to 504)."""


@dataclass(frozen=True)
class Story:
    id: str
    title: str
    url: str


class SearchClient:
    def __init__(
        self,
        url: str,
        connect_timeout: float,
        read_timeout: float,
        retries: int,
        pool_size: int = 16,
    ) -> None:
        self._url = url
        self._timeout = (connect_timeout, read_timeout)
        retry = Retry(
            total=retries,
            connect=retries,
            status=retries,
            # A read timeout is not retried: the upstream is up but slow, and repeating the
            # wait would hold the client for several read timeouts. False rather than 0 makes
            # it surface as requests' ReadTimeout instead of a generic ConnectionError.
            read=False,
            other=0,
            allowed_methods=frozenset({"GET"}),
            status_forcelist=RETRIED_STATUSES,
            backoff_factor=0.1,
            backoff_max=1.0,
            backoff_jitter=0.05,
            # Hand back the last 5xx response instead of raising, so the status is logged.
            raise_on_status=False,
            # A Retry-After of minutes would hold the request thread (and the client) that
            # long; the bounded backoff above is the only wait.
            respect_retry_after_header=False,
        )
        adapter = HTTPAdapter(max_retries=retry, pool_connections=1, pool_maxsize=pool_size)
        self._session = requests.Session()
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers["Accept"] = "application/json"

    def search(self, topic: str) -> list[Story]:
        """Stories for `topic`, in upstream order, keeping only those with an id, title and url."""
        started = time.perf_counter()
        outcome = "error"
        try:
            stories = self._search(topic)
            outcome = "ok"
            return stories
        except UpstreamTimeout as exc:
            outcome = "timeout"
            log.warning("upstream search failed: %s", exc, extra={"topic": topic})
            raise
        except UpstreamError as exc:
            log.warning("upstream search failed: %s", exc, extra={"topic": topic})
            raise
        finally:
            metrics.UPSTREAM_REQUESTS.labels(outcome=outcome).inc()
            metrics.UPSTREAM_LATENCY.observe(time.perf_counter() - started)

    def _search(self, topic: str) -> list[Story]:
        try:
            # `params` URL-encodes the topic: `&`, `#` or `?` in it cannot add parameters.
            response = self._session.get(self._url, params={"query": topic}, timeout=self._timeout)
        except requests.Timeout as exc:
            raise UpstreamTimeout(f"upstream timed out: {exc}") from exc
        except requests.RequestException as exc:
            raise UpstreamError(f"upstream unreachable: {exc}") from exc
        if response.status_code != 200:
            raise UpstreamError(f"upstream answered HTTP {response.status_code}")
        try:
            hits = response.json()["hits"]
            return [
                Story(id=str(hit["objectID"]), title=hit["title"], url=hit["url"])
                for hit in hits
                if _non_empty(hit.get("title")) and _non_empty(hit.get("url"))
                # A hit without an id cannot be answered; it does not spoil the others.
                and isinstance(hit.get("objectID"), (str, int))
            ]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise UpstreamError(f"upstream answered malformed JSON: {exc!r}") from exc


def _non_empty(value: object) -> bool:
    return isinstance(value, str) and value.strip() != ""
