"""The backend service: Hacker News stories for a topic, over HTTP.

`GET /contents/<topic>` answers `{"outcome": [{"id", "title", "url"}, ...]}` from the Hacker
News Algolia search API, with probes (`/healthz`, `/readyz`), Prometheus metrics
(`/metrics`), the OpenAPI document (`/openapi.json`) and interactive docs (`/docs`).

Run it locally, from `app/`:

    gunicorn --config gunicorn.conf.py backend.wsgi:app

Environment variables (all optional; a bad value stops start-up with an error naming it):

    PORT                              8080     listen on 0.0.0.0:PORT
    UPSTREAM_URL                      https://hn.algolia.com/api/v1/search
    UPSTREAM_CONNECT_TIMEOUT_SECONDS  1.0      per attempt
    UPSTREAM_READ_TIMEOUT_SECONDS     3.0      per attempt; a read timeout is not retried
    UPSTREAM_RETRIES                  2        retries on connection errors and 5xx (0-5)
    UPSTREAM_FAILURE_BACKOFF_SECONDS  5        after a failed fetch, the topic is answered
                                               from cache (stale) or with the same error,
                                               without calling the upstream, for this long
    CACHE_TTL_SECONDS                 60       freshness of a cached topic
    CACHE_MAX_TOPICS                  10000    topics kept per worker (LRU)
    LOG_LEVEL                         INFO     DEBUG, INFO, WARNING, ERROR or CRITICAL
    WEB_CONCURRENCY                   2        gunicorn worker processes
    GUNICORN_THREADS                  8        threads per worker
    GUNICORN_TIMEOUT                  30       seconds before a stuck worker is restarted
    GUNICORN_GRACEFUL_TIMEOUT         20       seconds in-flight requests get on SIGTERM
    GUNICORN_KEEPALIVE                5        seconds an idle keep-alive connection is kept
    PROMETHEUS_MULTIPROC_DIR          /tmp/prometheus   metrics shared by the workers
"""

from __future__ import annotations

import time

from apiflask import APIFlask
from flask import g, request

from . import metrics
from .api import bp, describe_contents
from .config import Settings
from .contents import ContentsService
from .hits import CacheHitMiddleware
from .logs import configure_app_logging

__all__ = ["create_app"]

API_VERSION = "1.0.0"


def create_app(config: Settings | None = None) -> APIFlask:
    """The application; `config` defaults to settings read (and validated) from the environment."""
    settings = config if config is not None else Settings.from_env()
    configure_app_logging(settings.log_level)

    app = APIFlask(
        __name__,
        title="Hacker News contents",
        version=API_VERSION,
        spec_path="/openapi.json",
        docs_path="/docs",
    )
    app.config.update(
        SPEC_FORMAT="json",
    )
    # `/contents/a//b` is a topic with slashes in it, not a redirect (an HTML page) to
    # `/contents/a/b`.
    app.url_map.merge_slashes = False
    app.extensions["settings"] = settings
    service = app.extensions["contents"] = ContentsService(settings)
    app.register_blueprint(bp)
    app.spec_processor(describe_contents)
    _instrument(app)
    app.wsgi_app = CacheHitMiddleware(app.wsgi_app, service)
    return app


def _instrument(app: APIFlask) -> None:
    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def finish(response):
        response.headers["Access-Control-Allow-Origin"] = "*"
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        started = g.get("started")
        if started is not None:
            metrics.HTTP_LATENCY.labels(route=route).observe(time.perf_counter() - started)
        metrics.HTTP_REQUESTS.labels(
            route=route, method=request.method, status=str(response.status_code)
        ).inc()
        return response
