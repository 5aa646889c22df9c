"""Settings read from environment variables and validated once, at start-up.

A bad value stops the process with a message naming the variable, the value it had and
what is accepted, instead of surfacing later as a confusing runtime failure.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")

DEFAULT_UPSTREAM_URL = "https://hn.algolia.com/api/v1/search"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


# Whole values only, ASCII digits only: int() and float() alone would also take " 3", "3\n",
# "1_000", "1e3", "nan" or digits of other scripts ("\u0663").
_WHOLE_NUMBER = re.compile(r"[0-9]+", re.ASCII)
_DECIMAL_NUMBER = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+", re.ASCII)
# A URL as RFC 3986 writes it: printable ASCII, no spaces. urlsplit alone drops tabs and newlines
# silently, and a non-ASCII host may be a look-alike of the intended one.
_URL_CHARACTERS = re.compile(r"[!-~]+", re.ASCII)


class ConfigError(ValueError):
    """An environment variable holds a value the service cannot run with."""


def _read(
    env: Mapping[str, str],
    name: str,
    default: T,
    parse: Callable[[str], T],
    accepted: str,
    check: Callable[[T], bool] = lambda _: True,
) -> T:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = parse(raw)
    except ValueError:
        value = None
    if value is None or not check(value):
        raise ConfigError(f"{name}={raw!r} is invalid: expected {accepted}")
    return value


def _whole_number(raw: str) -> int:
    if not _WHOLE_NUMBER.fullmatch(raw):
        raise ValueError(raw)
    return int(raw)


def _decimal_number(raw: str) -> float:
    if not _DECIMAL_NUMBER.fullmatch(raw):
        raise ValueError(raw)
    return float(raw)


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    return _read(env, name, default, _whole_number, f"an integer from {low} to {high}",
                 lambda v: low <= v <= high)


def _seconds(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    return _read(env, name, default, _decimal_number, f"a number of seconds from {low} to {high}",
                 lambda v: low <= v <= high)


def _http_url(raw: str) -> str:
    if not _URL_CHARACTERS.fullmatch(raw):
        raise ValueError(raw)
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(raw)
    parts.port  # noqa: B018 -- raises ValueError for a port outside 0-65535 or not a number
    return raw


def _log_level(raw: str) -> str:
    # ASCII first: str.upper() maps look-alikes onto the names ("\u0131nfo" -> "INFO").
    level = raw.upper() if raw.isascii() else ""
    if level not in LOG_LEVELS:
        raise ValueError(raw)
    return level


def _log_level_from(env: Mapping[str, str], default: str) -> str:
    return _read(env, "LOG_LEVEL", default, _log_level, f"one of {', '.join(LOG_LEVELS)}")


@dataclass(frozen=True)
class Settings:
    """What the Flask application needs to run."""

    upstream_url: str = DEFAULT_UPSTREAM_URL
    upstream_connect_timeout: float = 1.0
    upstream_read_timeout: float = 3.0
    # Retries cover connection errors and 5xx only: a read timeout is not retried, so a
    # hanging upstream costs one read timeout, not (retries + 1) of them.
    upstream_retries: int = 2
    # Algolia allows 10,000 requests per hour per IP; a minute of freshness keeps even a
    # busy pod far below that for a realistic topic mix.
    cache_ttl: float = 60.0
    # A topic asked for in the last seconds of its freshness is refetched in the background,
    # so popular topics never expire in front of a caller (0 turns this off).
    cache_refresh_ahead: float = 10.0
    cache_max_topics: int = 10_000
    # After a failed fetch a topic is answered from what is known (stale answer or the same
    # error) for this long, instead of every request waiting out another upstream failure.
    upstream_failure_backoff: float = 5.0
    # An answer (inflated, if it came compressed) larger than this is refused: Algolia's are
    # tens of KB, and whatever is accepted is parsed in memory and cached in every worker.
    upstream_max_body_bytes: int = 1_048_576
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        cache_ttl = _seconds(env, "CACHE_TTL_SECONDS", cls.cache_ttl, 1, 86_400)
        refresh_ahead = _seconds(env, "CACHE_REFRESH_AHEAD_SECONDS", cls.cache_refresh_ahead, 0, 86_400)
        if refresh_ahead >= cache_ttl:
            raise ConfigError(
                f"CACHE_REFRESH_AHEAD_SECONDS={refresh_ahead:g} is invalid: expected less than "
                f"CACHE_TTL_SECONDS ({cache_ttl:g})"
            )
        return cls(
            upstream_url=_read(env, "UPSTREAM_URL", DEFAULT_UPSTREAM_URL, _http_url,
                               "an http:// or https:// URL with a host"),
            upstream_connect_timeout=_seconds(env, "UPSTREAM_CONNECT_TIMEOUT_SECONDS",
                                              cls.upstream_connect_timeout, 0.01, 60),
            upstream_read_timeout=_seconds(env, "UPSTREAM_READ_TIMEOUT_SECONDS",
                                           cls.upstream_read_timeout, 0.01, 60),
            upstream_retries=_int(env, "UPSTREAM_RETRIES", cls.upstream_retries, 0, 5),
            cache_ttl=cache_ttl,
            cache_refresh_ahead=refresh_ahead,
            cache_max_topics=_int(env, "CACHE_MAX_TOPICS", cls.cache_max_topics, 1, 1_000_000),
            upstream_failure_backoff=_seconds(env, "UPSTREAM_FAILURE_BACKOFF_SECONDS",
                                              cls.upstream_failure_backoff, 0, 3_600),
            upstream_max_body_bytes=_int(env, "UPSTREAM_MAX_BODY_BYTES", cls.upstream_max_body_bytes,
                                         1_024, 67_108_864),
            log_level=_log_level_from(env, cls.log_level),
        )

    @property
    def upstream_worst_case_seconds(self) -> float:
        """Longest one upstream fetch can take, retries and their backoff included: the fetch's
        deadline (upstream.py ends it there however slowly the bytes arrive)."""
        attempts = self.upstream_retries + 1
        return attempts * (self.upstream_connect_timeout + self.upstream_read_timeout) + attempts


def _ip_address(raw: str) -> str:
    return str(ipaddress.ip_address(raw))  # ValueError for anything but an IPv4/IPv6 literal


@dataclass(frozen=True)
class ServerSettings:
    """What the HTTP server needs (granian, started by backend/serve.py before any worker)."""

    port: int = 8080
    # Probes and metrics: a listener of their own, so they answer whatever the public port is
    # doing (a flood, slow clients). Not exposed by the Service.
    admin_port: int = 8081
    listen_address: str = "0.0.0.0"
    workers: int = 2
    # Python threads per worker: each request runs on one, and a request waiting on the
    # upstream holds one. 32 absorb 16 concurrent 2 s upstream waits without stalling hits
    # (8 do not: measured in bench/bench_app.py).
    threads: int = 32
    # A client has this long to send a request's headers (and an idle kept-alive connection is
    # closed after it): a slow client costs a socket for this long at most, never a thread.
    header_read_timeout: float = 10.0
    # On SIGTERM, in-flight requests get this long (below Kubernetes' default 30 s grace period).
    graceful_timeout: int = 20
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "ServerSettings":
        env = os.environ if env is None else env
        port = _int(env, "PORT", cls.port, 1, 65_535)
        admin_port = _int(env, "ADMIN_PORT", cls.admin_port, 1, 65_535)
        if admin_port == port:
            raise ConfigError(f"ADMIN_PORT={admin_port} is invalid: expected a port other than PORT ({port})")
        return cls(
            port=port,
            admin_port=admin_port,
            listen_address=_read(env, "LISTEN_ADDRESS", cls.listen_address, _ip_address,
                                 "an IPv4 or IPv6 address"),
            workers=_int(env, "WEB_CONCURRENCY", cls.workers, 1, 64),
            threads=_int(env, "WORKER_THREADS", cls.threads, 1, 256),
            header_read_timeout=_seconds(env, "HEADER_READ_TIMEOUT_SECONDS", cls.header_read_timeout, 0.5, 300),
            graceful_timeout=_int(env, "GRACEFUL_TIMEOUT_SECONDS", cls.graceful_timeout, 1, 3_600),
            log_level=_log_level_from(env, cls.log_level),
        )


def read_service_settings(env: Mapping[str, str] | None = None) -> tuple[ServerSettings, Settings]:
    """Both settings, and the rule between them; what the service checks before it starts.

    The Pulumi program runs this same function over the environment a stack gives the
    Deployment, so a stack the service would refuse is refused before anything is deployed.
    """
    server, app = ServerSettings.from_env(env), Settings.from_env(env)
    if server.graceful_timeout <= app.upstream_worst_case_seconds:
        raise ConfigError(
            f"GRACEFUL_TIMEOUT_SECONDS={server.graceful_timeout} must exceed the slowest upstream "
            f"fetch ({app.upstream_worst_case_seconds:g} s: UPSTREAM_RETRIES + 1 attempts of "
            "UPSTREAM_CONNECT_TIMEOUT_SECONDS + UPSTREAM_READ_TIMEOUT_SECONDS, and the backoff "
            "between them), or a shutdown cuts requests off mid-fetch"
        )
    return server, app
