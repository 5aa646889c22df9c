"""A per-process, bounded cache of upstream answers per topic.

- Fresh for `ttl` seconds: served without asking the upstream.
- Concurrent misses for one topic are coalesced: one caller (the leader) fetches, the
  others wait for its result, so a burst on a new topic costs one upstream call.
- The last good answer is kept (LRU-bounded) after it goes stale, and is served, marked
  stale, when a refresh fails.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

from cachetools import LRUCache

V = TypeVar("V")


class CacheStatus(str, Enum):
    HIT = "hit"  # fresh entry, no upstream call
    MISS = "miss"  # fetched (by this caller or by a concurrent one it waited for)
    STALE = "stale"  # the fetch failed; an older good answer is served


@dataclass(frozen=True)
class _Entry(Generic[V]):
    value: V
    fetched_at: float


class _Flight:
    """One fetch in progress; followers wait on `done` and read its outcome."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value = None
        self.error: BaseException | None = None


class FollowerTimeout(Exception):
    """A coalesced caller gave up waiting for the leader's fetch."""


class TopicCache(Generic[V]):
    def __init__(
        self,
        ttl: float,
        max_topics: int,
        wait_timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._wait_timeout = wait_timeout
        self._clock = clock
        self._entries: LRUCache[str, _Entry[V]] = LRUCache(maxsize=max_topics)
        self._flights: dict[str, _Flight] = {}
        self._lock = threading.Lock()

    def get(self, key: str, fetch: Callable[[], V]) -> tuple[V, CacheStatus]:
        """The value for `key` and how it was obtained; raises fetch's error if no stale value."""
        with self._lock:
            entry = self._entries.get(key)
            if self._is_fresh(entry):
                return entry.value, CacheStatus.HIT
            flight = self._flights.get(key)
            leader = flight is None
            if leader:
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
        if entry is not None:
            return entry.value, CacheStatus.STALE
        raise error

    def peek(self, key: str) -> V | None:
        """The fresh value for `key`, or None; never fetches."""
        with self._lock:
            entry = self._entries.get(key)
            return entry.value if self._is_fresh(entry) else None

    def _is_fresh(self, entry: _Entry[V] | None) -> bool:
        return entry is not None and self._clock() - entry.fetched_at < self._ttl

    def _lead(self, key: str, flight: _Flight, fetch: Callable[[], V]) -> None:
        try:
            flight.value = fetch()
        except Exception as exc:  # handed to every waiter, re-raised by each
            flight.error = exc
        finally:
            with self._lock:
                if flight.error is None:
                    self._entries[key] = _Entry(flight.value, self._clock())
                del self._flights[key]
            flight.done.set()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
