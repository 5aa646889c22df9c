"""The client for the Hacker News Algolia search API.

One fetch is bounded however the upstream behaves:
- in time: every attempt ends `connect + read` timeouts after it starts, and the whole fetch
  (retries and backoff included) at `Settings.upstream_worst_case_seconds`, however slowly the
  bytes arrive. Socket timeouts alone cannot do that: they bound each read, and an upstream that
  sends a byte every 0.25 s never trips them. A timer shuts the socket down at the deadline,
  which ends whatever read is blocked on it.
- in memory: the answer, inflated size included if it comes gzip-compressed, is read up to
  `max_body_bytes` and refused beyond.
- in where it goes: redirects are never followed (a 3xx is an error like any other non-200).

Retries (bounded, with backoff) cover connection failures and 5xx answers; a timeout is not
retried, so a hanging upstream costs one attempt's wait, not several. Every failure leaves
this module as one of two exceptions the HTTP layer maps to 502 or 504; nothing pretends an
outage is an empty result.
"""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
import zlib
from urllib.parse import urlencode, urlsplit

import certifi
import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
)

from . import metrics
from .stories import MalformedAnswer, Story, parse_stories

log = logging.getLogger(__name__)

RETRIED_STATUSES = frozenset({500, 502, 503, 504})
_READ_CHUNK = 64 * 1024


class UpstreamError(Exception):
    """The upstream answered badly or could not be reached (maps to 502)."""


class UpstreamTimeout(UpstreamError):
    """The upstream did not connect or answer in time (maps to 504)."""


class _Retryable(UpstreamError):
    """A failure worth another attempt: no connection, or a 5xx answer."""

    def __init__(self, message: str, final: UpstreamError) -> None:
        super().__init__(message)
        self.final = final  # what the caller gets if no attempt is left


class _Deadline:
    """Shuts down the socket of the attempt in progress when its time is up.

    Registered by the connection when it starts waiting for the answer (a pooled connection
    is reused without connecting again), cancelled before the connection goes back to the pool.
    """

    _current = threading.local()

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._over = False
        self.expired = False
        self._timer = threading.Timer(max(seconds, 0.0), self._expire)
        self._timer.daemon = True

    def __enter__(self) -> "_Deadline":
        _Deadline._current.value = self
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        _Deadline._current.value = None
        with self._lock:
            self._over = True
            self._socket = None
        self._timer.cancel()

    @classmethod
    def watch(cls, sock: socket.socket | None) -> None:
        deadline = getattr(cls._current, "value", None)
        if deadline is None or sock is None:
            return
        with deadline._lock:
            if deadline._over:
                return
            deadline._socket = sock
            if deadline.expired:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            if self._over:
                return
            self.expired = True
            if self._socket is not None:
                _shut(self._socket)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # wakes a read blocked on it in another thread
    except OSError:
        pass


class _WatchedHTTPConnection(HTTPConnection):
    def getresponse(self, *args, **kwargs):
        _Deadline.watch(self.sock)
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def getresponse(self, *args, **kwargs):
        _Deadline.watch(self.sock)
        return super().getresponse(*args, **kwargs)


class SearchClient:
    def __init__(
        self,
        url: str,
        connect_timeout: float,
        read_timeout: float,
        retries: int,
        pool_size: int = 16,
        max_body_bytes: int = 1_048_576,
        fetch_deadline: float | None = None,
    ) -> None:
        parts = urlsplit(url)
        self._path = parts.path or "/"
        self._base_query = parts.query
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._attempts = retries + 1
        self._max_body_bytes = max_body_bytes
        # Attempts and the backoff between them; the caller may give the exact bound it plans with.
        self._fetch_deadline = (
            fetch_deadline if fetch_deadline is not None
            else self._attempts * (connect_timeout + read_timeout + 1)
        )
        # One host, so one pool; block=False: a burst beyond pool_size opens extra connections
        # (closed after use) rather than queueing behind the pool.
        self._pool = urllib3.connection_from_url(
            url, maxsize=pool_size, block=False, retries=False,
            headers={"Accept": "application/json", "Accept-Encoding": "gzip"},
            **({"ca_certs": certifi.where()} if parts.scheme == "https" else {}),
        )
        self._pool.ConnectionCls = (
            _WatchedHTTPSConnection if parts.scheme == "https" else _WatchedHTTPConnection
        )

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
        # urlencode escapes the topic: `&`, `#` or `?` in it cannot add parameters.
        query = urlencode({"query": topic})
        target = f"{self._path}?{self._base_query}&{query}" if self._base_query else f"{self._path}?{query}"
        fetch_ends = time.monotonic() + self._fetch_deadline
        for attempt in range(self._attempts):
            if attempt:
                # 0.1 s, 0.2 s, ... (at most 1 s), jittered so workers do not retry in step.
                time.sleep(min(0.1 * 2 ** (attempt - 1), 1.0) + random.uniform(0, 0.05))
            remaining = fetch_ends - time.monotonic()
            if remaining <= 0:
                raise UpstreamTimeout(f"no answer within the fetch deadline ({self._fetch_deadline:g} s)")
            try:
                body = self._attempt(target, min(remaining, self._connect_timeout + self._read_timeout))
            except _Retryable as exc:
                if attempt + 1 == self._attempts:
                    raise exc.final from None
                continue
            return _parse(body)
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(self, target: str, seconds: float) -> bytes:
        """The body of one 200 answer, within `seconds` of starting; raises otherwise."""
        response = None
        with _Deadline(seconds) as deadline:
            try:
                response = self._pool.urlopen(
                    "GET", target, redirect=False, retries=False, preload_content=False,
                    timeout=urllib3.Timeout(connect=min(self._connect_timeout, seconds),
                                            read=min(self._read_timeout, seconds)),
                )
                status = response.status
                if status != 200:
                    message = f"upstream answered HTTP {status}"
                    if status in RETRIED_STATUSES:
                        raise _Retryable(message, UpstreamError(message))
                    raise UpstreamError(message)
                body = self._read_body(response)
                if deadline.expired:
                    # A shut-down socket reads as the end of the answer: what was read may
                    # look complete, or merely malformed, but it is cut short.
                    raise UpstreamTimeout(f"upstream did not answer within {seconds:g} s")
            except UpstreamError as exc:
                _discard(response)
                if deadline.expired and not isinstance(exc, UpstreamTimeout):
                    raise UpstreamTimeout(f"upstream did not answer within {seconds:g} s") from None
                raise
            except (HTTPError, OSError) as exc:
                _discard(response)
                if deadline.expired:
                    raise UpstreamTimeout(f"upstream did not answer within {seconds:g} s") from None
                raise _classify(exc) from None
        response.release_conn()
        return body

    def _read_body(self, response) -> bytes:
        limit = self._max_body_bytes
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise UpstreamError(f"upstream answer of {declared} bytes is over the {limit}-byte limit")
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("identity", "gzip"):
            raise UpstreamError(f"upstream answered in an encoding it was not offered: {encoding!r}")
        # Inflated here, at most `limit` bytes of output for any input: urllib3 is told not to.
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding == "gzip" else None
        parts, received, size = [], 0, 0
        while True:
            data = response.read1(_READ_CHUNK, decode_content=False)
            if not data:
                break
            received += len(data)
            if received > limit:
                raise UpstreamError(f"upstream answer is over the {limit}-byte limit")
            if inflater is not None:
                try:
                    data = inflater.decompress(data, limit + 1 - size)
                except zlib.error as exc:
                    raise UpstreamError(f"upstream answered corrupt gzip: {exc}") from None
            size += len(data)
            if size > limit:
                raise UpstreamError(f"upstream answer inflates to over the {limit}-byte limit")
            parts.append(data)
        if inflater is not None and not inflater.eof:
            raise UpstreamError("upstream answered truncated gzip")
        return b"".join(parts)


def _discard(response) -> None:
    """Closes a connection whose answer was not read to its end: it cannot be reused."""
    if response is not None:
        response.close()
        response.release_conn()


def _classify(exc: Exception) -> UpstreamError:
    if isinstance(exc, MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    # NewConnectionError subclasses ConnectTimeoutError: a refusal is not a timeout.
    if isinstance(exc, NewConnectionError):
        message = f"upstream unreachable: {exc}"
        return _Retryable(message, UpstreamError(message))
    if isinstance(exc, ConnectTimeoutError):
        message = f"upstream timed out connecting: {exc}"
        return _Retryable(message, UpstreamTimeout(message))
    if isinstance(exc, (ReadTimeoutError, TimeoutError)):
        return UpstreamTimeout(f"upstream timed out: {exc}")
    return UpstreamError(f"upstream exchange failed: {exc!r}")


def _parse(body: bytes) -> list[Story]:
    try:
        return parse_stories(body)
    except MalformedAnswer as exc:
        raise UpstreamError(f"upstream answered malformed JSON: {exc}") from None
