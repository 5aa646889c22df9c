"""The per-topic cache: freshness, bounds, coalescing of concurrent misses, stale on error."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from backend import create_app
from backend.cache import CacheStatus, FollowerTimeout, TopicCache
from backend.config import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def failing():
    raise ConnectionError("upstream down")


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def cache(clock):
    return TopicCache(ttl=60, max_topics=2, wait_timeout=5, clock=clock)


def test_a_first_lookup_is_a_miss_that_fetches(cache):
    assert cache.get("rust", lambda: "fetched") == ("fetched", CacheStatus.MISS)


def test_a_fresh_entry_is_a_hit_without_fetching(cache, clock):
    cache.get("rust", lambda: "first")
    clock.now += 59

    assert cache.get("rust", failing) == ("first", CacheStatus.HIT)


def test_an_expired_entry_is_fetched_again(cache, clock):
    cache.get("rust", lambda: "first")
    clock.now += 60

    assert cache.get("rust", lambda: "second") == ("second", CacheStatus.MISS)


def test_the_last_good_value_is_served_stale_when_a_refresh_fails(cache, clock):
    cache.get("rust", lambda: "first")
    clock.now += 3600

    assert cache.get("rust", failing) == ("first", CacheStatus.STALE)


def test_a_failed_fetch_with_nothing_cached_raises_its_error(cache):
    with pytest.raises(ConnectionError):
        cache.get("rust", failing)


def test_the_least_recently_used_topic_is_evicted_beyond_the_bound(cache):
    cache.get("a", lambda: "a")
    cache.get("b", lambda: "b")
    cache.get("a", failing)  # a hit: "a" is now the most recently used
    cache.get("c", lambda: "c")

    assert len(cache) == 2
    assert cache.get("a", failing) == ("a", CacheStatus.HIT)
    with pytest.raises(ConnectionError):
        cache.get("b", failing)


def test_after_a_failure_the_error_is_repeated_without_fetching_during_the_backoff(clock):
    cache = TopicCache(ttl=60, max_topics=2, wait_timeout=5, failure_backoff=5, clock=clock)
    with pytest.raises(ConnectionError):
        cache.get("rust", failing)
    clock.now += 4.9

    with pytest.raises(ConnectionError):
        cache.get("rust", lambda: pytest.fail("fetched during the backoff"))


def test_after_a_failure_the_stale_value_is_served_without_fetching_during_the_backoff(clock):
    cache = TopicCache(ttl=60, max_topics=2, wait_timeout=5, failure_backoff=5, clock=clock)
    cache.get("rust", lambda: "first")
    clock.now += 60
    cache.get("rust", failing)
    clock.now += 4.9

    assert cache.get("rust", lambda: pytest.fail("fetched during the backoff")) == ("first", CacheStatus.STALE)


def test_after_the_backoff_the_topic_is_fetched_again(clock):
    cache = TopicCache(ttl=60, max_topics=2, wait_timeout=5, failure_backoff=5, clock=clock)
    with pytest.raises(ConnectionError):
        cache.get("rust", failing)
    clock.now += 5

    assert cache.get("rust", lambda: "recovered") == ("recovered", CacheStatus.MISS)


def _concurrently(n, call):
    with ThreadPoolExecutor(n) as pool:
        futures = [pool.submit(call) for _ in range(n)]
        return [f.result() for f in futures]


def test_concurrent_misses_for_one_topic_share_a_single_fetch(cache):
    calls = []
    release = threading.Event()

    def slow_fetch():
        calls.append(1)
        release.wait(5)
        return "value"

    # Release the leader only after the other callers have had time to queue behind it.
    threading.Timer(0.3, release.set).start()
    results = _concurrently(8, lambda: cache.get("rust", slow_fetch))

    assert len(calls) == 1
    assert results == [("value", CacheStatus.MISS)] * 8


def test_concurrent_misses_all_receive_the_single_fetch_error(cache):
    calls = []

    def slow_failure():
        calls.append(1)
        threading.Event().wait(0.3)
        raise ConnectionError("down")

    def lookup():
        try:
            cache.get("rust", slow_failure)
        except ConnectionError:
            return "raised"

    assert _concurrently(6, lookup) == ["raised"] * 6
    assert len(calls) == 1


def test_a_waiter_gives_up_after_its_wait_timeout(clock):
    cache = TopicCache(ttl=60, max_topics=2, wait_timeout=0.2, clock=clock)
    release = threading.Event()
    leader = threading.Thread(target=cache.get, args=("rust", lambda: release.wait(5)))
    leader.start()
    try:
        threading.Event().wait(0.05)  # let the leader register its fetch
        with pytest.raises(FollowerTimeout):
            cache.get("rust", lambda: "never called")
    finally:
        release.set()
        leader.join()


# Through the HTTP interface.


def test_a_repeated_topic_is_served_from_cache(client, upstream):
    first = client.get("/contents/rust")
    second = client.get("/contents/rust")

    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("miss", "hit")
    assert second.get_json() == first.get_json()
    assert upstream.call_count == 1


def test_concurrent_requests_for_a_new_topic_make_one_upstream_call(client, upstream):
    upstream.delay_seconds = 0.3

    statuses = _concurrently(8, lambda: client.get("/contents/rust").status_code)

    assert statuses == [200] * 8
    assert upstream.call_count == 1


def test_an_upstream_failure_after_expiry_serves_the_stale_answer_marked_stale(settings, upstream):
    client = create_app(Settings(**{**settings.__dict__, "cache_ttl": 1})).test_client()
    fresh = client.get("/contents/rust").get_json()
    upstream.set_mode("error")
    threading.Event().wait(1.05)

    response = client.get("/contents/rust")

    assert response.status_code == 200
    assert response.headers["X-Cache"] == "stale"
    assert response.get_json() == fresh
    assert upstream.call_count == 4  # the first fetch, then a failed one with its two retries


def test_during_an_upstream_outage_stale_answers_do_not_wait_for_the_upstream_again(settings, upstream):
    client = create_app(Settings(**{**settings.__dict__, "cache_ttl": 1, "upstream_failure_backoff": 30})).test_client()
    client.get("/contents/rust")
    upstream.set_mode("hang")
    threading.Event().wait(1.05)
    assert client.get("/contents/rust").headers["X-Cache"] == "stale"  # waited one read timeout

    started = time.monotonic()
    response = client.get("/contents/rust")

    assert response.headers["X-Cache"] == "stale"
    assert time.monotonic() - started < settings.upstream_read_timeout / 2
    assert upstream.call_count == 2


class Upstream:
    """A fetch that records its calls and can be held until the test releases it."""

    def __init__(self, value: str) -> None:
        self.value = value
        self.calls = 0
        self.release = threading.Event()
        self.release.set()
        self.finished = threading.Event()

    def __call__(self) -> str:
        self.calls += 1
        self.release.wait(5)
        self.finished.set()
        return self.value


@pytest.fixture
def ahead(clock):
    return TopicCache(ttl=60, max_topics=10, wait_timeout=5, refresh_ahead=10, clock=clock)


def test_a_hit_before_the_refresh_window_fetches_nothing(ahead, clock):
    ahead.get("rust", lambda: "first")
    clock.now += 49
    upstream = Upstream("second")

    assert ahead.get("rust", upstream) == ("first", CacheStatus.HIT)
    assert upstream.calls == 0


def test_a_hit_in_the_refresh_window_is_answered_at_once_and_refreshes_in_the_background(ahead, clock):
    ahead.get("rust", lambda: "first")
    clock.now += 51
    upstream = Upstream("second")
    upstream.release.clear()

    assert ahead.get("rust", upstream) == ("first", CacheStatus.HIT)
    upstream.release.set()
    assert upstream.finished.wait(5)
    clock.now += 1  # the refreshed entry is fresh from when it was fetched
    _wait_until(lambda: ahead.peek("rust") == "second")
    clock.now += 58
    assert ahead.get("rust", failing) == ("second", CacheStatus.HIT)


def test_many_hits_in_the_refresh_window_start_one_refresh(ahead, clock):
    ahead.get("rust", lambda: "first")
    clock.now += 55
    upstream = Upstream("second")
    upstream.release.clear()

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: ahead.get("rust", upstream), range(32)))
    upstream.release.set()

    assert set(answers) == {("first", CacheStatus.HIT)}
    assert upstream.finished.wait(5)
    assert upstream.calls == 1


def test_peek_refreshes_ahead_when_given_the_fetch(ahead, clock):
    ahead.get("rust", lambda: "first")
    clock.now += 55
    upstream = Upstream("second")

    assert ahead.peek("rust", refresh=upstream) == "first"
    assert upstream.finished.wait(5)
    _wait_until(lambda: ahead.peek("rust") == "second")


def test_a_failed_background_refresh_keeps_the_fresh_answer_and_is_not_retried_during_backoff(clock):
    cache = TopicCache(ttl=60, max_topics=10, wait_timeout=5, refresh_ahead=10, failure_backoff=5, clock=clock)
    cache.get("rust", lambda: "first")
    clock.now += 55
    attempts = []

    def broken():
        attempts.append(clock.now)
        raise ConnectionError("upstream down")

    assert cache.get("rust", broken) == ("first", CacheStatus.HIT)
    _wait_until(lambda: len(attempts) == 1 and not cache._flights)
    clock.now += 1
    assert cache.get("rust", broken) == ("first", CacheStatus.HIT)
    assert len(attempts) == 1


def test_refresh_ahead_is_off_by_default(cache, clock):
    cache.get("rust", lambda: "first")
    clock.now += 59
    upstream = Upstream("second")

    assert cache.get("rust", upstream) == ("first", CacheStatus.HIT)
    assert upstream.calls == 0


def _wait_until(condition, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)
