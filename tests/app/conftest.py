"""Fixtures for the backend: a fake upstream, settings pointing at it, the app and its client."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

APP_DIR = Path(__file__).resolve().parents[2] / "app"
# `app/` is the image's build context, not a package: import `backend` the way gunicorn does.
sys.path.insert(0, str(APP_DIR))

from backend import create_app  # noqa: E402
from backend.config import Settings  # noqa: E402

from tests.support.fake_upstream import FakeUpstream  # noqa: E402


@pytest.fixture
def upstream():
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture
def settings(upstream) -> Settings:
    # Short timeouts keep failure tests fast; the retry count is the production default.
    # No failure backoff, so each request shows what one upstream exchange leads to; the
    # backoff has tests of its own.
    return Settings(
        upstream_url=upstream.url,
        upstream_connect_timeout=0.5,
        upstream_read_timeout=0.5,
        upstream_retries=2,
        cache_ttl=60,
        cache_max_topics=100,
        upstream_failure_backoff=0,
    )


@pytest.fixture
def app(settings):
    return create_app(settings)


@pytest.fixture
def client(app):
    return app.test_client()
