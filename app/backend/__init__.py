"""The backend service: Hacker News stories for a topic, over HTTP.

`GET /contents/<topic>` answers `{"outcome": [{"id", "title", "url"}, ...]}` from the Hacker
News Algolia search API, with probes (`/healthz`, `/readyz`), Prometheus metrics
(`/metrics`), the OpenAPI document (`/openapi.json`) and interactive docs (`/docs`).

Run it locally, from `app/`:

    gunicorn --config gunicorn.conf.py backend.wsgi:app

Configuration (environment variables), endpoints, errors, cache and metrics are described
in app/README.md.
"""

from __future__ import annotations

import time

from apiflask import APIFlask
from flask import g, request

from . import metrics
from .api import TopicConverter, bp, describe_contents
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
    app.config["SPEC_FORMAT"] = "json"
    # `/contents/a//b` is a topic with slashes in it, not a redirect (an HTML page) to
    # `/contents/a/b`.
    app.url_map.merge_slashes = False
    app.url_map.converters["topic"] = TopicConverter
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
