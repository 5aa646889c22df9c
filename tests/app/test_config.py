"""Settings come from environment variables and are validated with errors that say what to fix."""

from __future__ import annotations

import pytest

from backend import create_app
from backend.config import DEFAULT_UPSTREAM_URL, ConfigError, ServerSettings, Settings, read_service_settings


def test_defaults_apply_when_nothing_is_set():
    settings = Settings.from_env({})

    assert settings.upstream_url == DEFAULT_UPSTREAM_URL == "https://hn.algolia.com/api/v1/search"
    assert (settings.cache_ttl, settings.cache_max_topics, settings.upstream_retries) == (60, 10_000, 2)


def test_server_listens_on_port_8080_by_default():
    assert ServerSettings.from_env({}).port == 8080


def test_values_are_read_from_the_environment():
    settings = Settings.from_env({
        "UPSTREAM_URL": "http://127.0.0.1:9/search",
        "UPSTREAM_CONNECT_TIMEOUT_SECONDS": "0.25",
        "UPSTREAM_READ_TIMEOUT_SECONDS": "2",
        "UPSTREAM_RETRIES": "0",
        "CACHE_TTL_SECONDS": "30",
        "CACHE_REFRESH_AHEAD_SECONDS": "5",
        "CACHE_MAX_TOPICS": "5",
        "UPSTREAM_FAILURE_BACKOFF_SECONDS": "0",
        "LOG_LEVEL": "debug",
    })

    assert settings == Settings(
        upstream_url="http://127.0.0.1:9/search",
        upstream_connect_timeout=0.25,
        upstream_read_timeout=2.0,
        upstream_retries=0,
        cache_ttl=30.0,
        cache_refresh_ahead=5.0,
        cache_max_topics=5,
        upstream_failure_backoff=0.0,
        log_level="DEBUG",
    )


def test_refreshing_ahead_must_start_before_an_entry_expires():
    with pytest.raises(ConfigError) as error:
        Settings.from_env({"CACHE_TTL_SECONDS": "10", "CACHE_REFRESH_AHEAD_SECONDS": "10"})

    assert str(error.value) == (
        "CACHE_REFRESH_AHEAD_SECONDS=10 is invalid: expected less than CACHE_TTL_SECONDS (10)"
    )


def test_an_empty_variable_means_its_default():
    assert Settings.from_env({"CACHE_TTL_SECONDS": ""}).cache_ttl == 60


@pytest.mark.parametrize(
    ("name", "value", "accepted"),
    [
        ("UPSTREAM_URL", "ftp://example.com", "an http:// or https:// URL with a host"),
        ("UPSTREAM_URL", "https://", "an http:// or https:// URL with a host"),
        ("UPSTREAM_URL", "https://hn.algolia.com:99999/api", "an http:// or https:// URL with a host"),
        ("UPSTREAM_CONNECT_TIMEOUT_SECONDS", "0", "a number of seconds from 0.01 to 60"),
        ("UPSTREAM_READ_TIMEOUT_SECONDS", "soon", "a number of seconds from 0.01 to 60"),
        ("UPSTREAM_RETRIES", "6", "an integer from 0 to 5"),
        ("UPSTREAM_RETRIES", "1.5", "an integer from 0 to 5"),
        ("CACHE_TTL_SECONDS", "-1", "a number of seconds from 1 to 86400"),
        ("CACHE_MAX_TOPICS", "0", "an integer from 1 to 1000000"),
        ("CACHE_REFRESH_AHEAD_SECONDS", "-1", "a number of seconds from 0 to 86400"),
        ("UPSTREAM_FAILURE_BACKOFF_SECONDS", "-1", "a number of seconds from 0 to 3600"),
        ("LOG_LEVEL", "loud", "one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    ],
)
def test_a_bad_value_is_reported_with_the_variable_the_value_and_what_is_accepted(name, value, accepted):
    with pytest.raises(ConfigError) as error:
        Settings.from_env({name: value})

    assert str(error.value) == f"{name}={value!r} is invalid: expected {accepted}"


@pytest.mark.parametrize(
    ("name", "value"),
    [("PORT", "0"), ("PORT", "65536"), ("ADMIN_PORT", "70000"), ("LISTEN_ADDRESS", "localhost"),
     ("WEB_CONCURRENCY", "zero"), ("WORKER_THREADS", "0"), ("WORKER_THREADS", "257"),
     ("GRACEFUL_TIMEOUT_SECONDS", "-5"), ("HEADER_READ_TIMEOUT_SECONDS", "x"),
     ("HEADER_READ_TIMEOUT_SECONDS", "0.1")],
)
def test_a_bad_server_value_names_the_variable(name, value):
    with pytest.raises(ConfigError, match=f"^{name}="):
        ServerSettings.from_env({name: value})


def test_the_server_defaults_fit_a_two_cpu_pod():
    server = ServerSettings.from_env({})

    assert (server.port, server.admin_port, server.listen_address) == (8080, 8081, "0.0.0.0")
    assert (server.workers, server.threads, server.graceful_timeout) == (2, 32, 20)


def test_server_values_are_read_from_the_environment():
    assert ServerSettings.from_env({
        "PORT": "9000", "ADMIN_PORT": "9001", "LISTEN_ADDRESS": "127.0.0.1", "WEB_CONCURRENCY": "3",
        "WORKER_THREADS": "16", "HEADER_READ_TIMEOUT_SECONDS": "2.5", "GRACEFUL_TIMEOUT_SECONDS": "25",
        "LOG_LEVEL": "warning",
    }) == ServerSettings(port=9000, admin_port=9001, listen_address="127.0.0.1", workers=3, threads=16,
                         header_read_timeout=2.5, graceful_timeout=25, log_level="WARNING")


def test_the_admin_port_must_differ_from_the_public_port():
    with pytest.raises(ConfigError) as error:
        ServerSettings.from_env({"PORT": "9000", "ADMIN_PORT": "9000"})

    assert str(error.value) == "ADMIN_PORT=9000 is invalid: expected a port other than PORT (9000)"


def test_the_upstream_body_limit_is_read_and_bounded():
    assert Settings.from_env({"UPSTREAM_MAX_BODY_BYTES": "65536"}).upstream_max_body_bytes == 65536
    with pytest.raises(ConfigError, match="^UPSTREAM_MAX_BODY_BYTES='100' is invalid: expected an integer from 1024"):
        Settings.from_env({"UPSTREAM_MAX_BODY_BYTES": "100"})


def test_the_graceful_timeout_must_outlast_the_slowest_upstream_fetch():
    with pytest.raises(ConfigError, match=r"^GRACEFUL_TIMEOUT_SECONDS=20 must exceed the slowest upstream fetch \(33 s"):
        read_service_settings({"UPSTREAM_CONNECT_TIMEOUT_SECONDS": "5", "UPSTREAM_READ_TIMEOUT_SECONDS": "5"})


def test_the_app_factory_validates_the_environment(monkeypatch):
    monkeypatch.setenv("CACHE_MAX_TOPICS", "lots")

    with pytest.raises(ConfigError, match="CACHE_MAX_TOPICS='lots'"):
        create_app()
