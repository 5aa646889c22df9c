"""A per-process, bounded cache of upstream answers per topic.

- Fresh for `ttl` seconds: served without asking the upstream.
- Refreshed ahead: a hit in the last `refresh_ahead` seconds of an entry's freshness starts
  one background fetch and is answered from the still-fresh entry, so a popular topic is
  replaced before it expires and no caller waits on the upstream for it.
- Concurrent misses for one topic are coalesced: one caller (the leader) fetches, the
  others wait for its result, so a burst on a new topic costs one upstream call.
- The last good answer is kept (LRU-bounded) after it goes stale, and is served, marked
  stale, when a refresh fails.
- After a failed fetch the topic is not fetched again for `failure_backoff` seconds: callers
  get the stale answer (or the same error) at once, instead of each waiting out another
  upstream timeout, and a failing upstream is not hammered.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeGuard, TypeVar

from cachetools import LRUCache

V = TypeVar("V")


class CacheStatus(str, Enum):
    HIT = "hit"  # fresh entry, no upstream call
    MISS = "miss"  # fetched (by this caller or by a concurrent one it waited for)
    STALE = "stale"  # the fetch failed (now or within the backoff); an older good answer is served


@dataclass(frozen=True)
class _Entry(Generic[V]):
    value: V
    fetched_at: float


@dataclass(frozen=True)
class _Failure:
    error: Exception
    failed_at: float


class _Flight:
    """One fetch in progress; followers wait on `done` and read its outcome."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None  # the fetch's V, once done without error
        self.error: Exception | None = None


class FollowerTimeout(Exception):
    """A coalesced caller gave up waiting for the leader's fetch."""


class TopicCache(Generic[V]):
    def __init__(
        self,
        ttl: float,
        max_topics: int,
        wait_timeout: float,
        failure_backoff: float = 0.0,
        refresh_ahead: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._refresh_ahead = refresh_ahead
        self._wait_timeout = wait_timeout
        self._failure_backoff = failure_backoff
        self._clock = clock
        self._entries: LRUCache[str, _Entry[V]] = LRUCache(maxsize=max_topics)
        self._failures: LRUCache[str, _Failure] = LRUCache(maxsize=max_topics)
        self._flights: dict[str, _Flight] = {}
        self._lock = threading.Lock()

    def get(self, key: str, fetch: Callable[[], V]) -> tuple[V, CacheStatus]:
        """The value for `key` and how it was obtained; raises fetch's error if no stale value."""
        with self._lock:
            entry = self._entries.get(key)
            if self._is_fresh(entry):
                self._refresh_if_due(key, entry, fetch)
                return entry.value, CacheStatus.HIT
            failure = self._recent_failure(key)
            if failure is not None:
                return self._stale_or_raise(entry, failure.error)
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()

        if leader:
            self._lead(key, flight, fetch)
            error = flight.error
        elif flight.done.wait(self._wait_timeout):
            error = flight.error
        else:
            # Only reachable if the leader outlives the upstream's own timeouts; never
            # hold a request thread indefinitely.
            error = FollowerTimeout(f"gave up after waiting {self._wait_timeout}s for the fetch")

        if error is None:
            return flight.value, CacheStatus.MISS
        with self._lock:
            entry = self._entries.get(key)
        return self._stale_or_raise(entry, error)

    def peek(self, key: str, refresh: Callable[[], V] | None = None) -> V | None:
        """The fresh value for `key`, or None; never waits on a fetch. With `refresh`, a hit
        due for refreshing ahead starts it in the background, as `get` does."""
        with self._lock:
            entry = self._entries.get(key)
            if not self._is_fresh(entry):
                return None
            if refresh is not None:
                self._refresh_if_due(key, entry, refresh)
            return entry.value

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _refresh_if_due(self, key: str, entry: _Entry[V], fetch: Callable[[], V]) -> None:
        """Starts a background fetch of `key` if its entry is about to expire (lock held)."""
        if self._clock() - entry.fetched_at < self._ttl - self._refresh_ahead or key in self._flights:
            return
        if self._recent_failure(key) is not None:
            return
        flight = self._flights[key] = _Flight()
        threading.Thread(
            target=self._lead, args=(key, flight, fetch), name=f"refresh {key!r}", daemon=True
        ).start()

    def _recent_failure(self, key: str) -> _Failure | None:
        """The failed fetch of `key` still within its backoff, if any (lock held)."""
        failure = self._failures.get(key)
        if failure is not None and self._clock() - failure.failed_at < self._failure_backoff:
            return failure
        return None

    def _is_fresh(self, entry: _Entry[V] | None) -> TypeGuard[_Entry[V]]:
        return entry is not None and self._clock() - entry.fetched_at < self._ttl

    @staticmethod
    def _stale_or_raise(entry: _Entry[V] | None, error: Exception) -> tuple[V, CacheStatus]:
        if entry is not None:
            return entry.value, CacheStatus.STALE
        raise error

    def _lead(self, key: str, flight: _Flight, fetch: Callable[[], V]) -> None:
        try:
            flight.value = fetch()
        except Exception as exc:  # handed to every waiter, re-raised by each
            # The traceback would keep the failed fetch's frames alive while it is remembered.
            flight.error = exc.with_traceback(None)
        finally:
            with self._lock:
                if flight.error is None:
                    self._entries[key] = _Entry(flight.value, self._clock())
                    self._failures.pop(key, None)
                else:
                    self._failures[key] = _Failure(flight.error, self._clock())
                del self._flights[key]
            flight.done.set()
