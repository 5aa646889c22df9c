"""The Flask application: routes, hooks, and the WSGI layers in front of it."""

from __future__ import annotations

import time

from apiflask import APIFlask
from flask import g, request

from . import metrics
from .api import TopicConverter, bp, describe_contents
from .config import Settings
from .contents import ContentsService
from .edge import CORS_HEADERS, SECURITY_HEADERS, RequestLimits
from .hits import CacheHitMiddleware
from .logs import configure_app_logging

API_VERSION = "1.0.0"

# A CORS preflight may ask for any of these; the answer may be cached this long by browsers.
PREFLIGHT_HEADERS = (
    ("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"),
    # `*` covers any request header a script adds, for requests without credentials (this API
    # takes none).
    ("Access-Control-Allow-Headers", "*"),
    ("Access-Control-Max-Age", "600"),
)


def create_app(config: Settings | None = None) -> APIFlask:
    """The application; `config` defaults to settings read (and validated) from the environment."""
    settings = config if config is not None else Settings.from_env()
    configure_app_logging(settings.log_level)

    app = APIFlask(
        __name__,
        title="Hacker News contents",
        version=API_VERSION,
        spec_path="/openapi.json",
        # No Swagger UI: it loads its script from a CDN, unpinned and without integrity, into
        # the API's own origin. The OpenAPI document above is what tools read.
        docs_path=None,
    )
    app.config["SPEC_FORMAT"] = "json"
    # `/contents/a//b` is a topic with slashes in it, not a redirect (an HTML page) to
    # `/contents/a/b`.
    app.url_map.merge_slashes = False
    app.url_map.converters["topic"] = TopicConverter
    app.extensions["settings"] = settings
    service = app.extensions["contents"] = ContentsService(settings)
    app.register_blueprint(bp)
    # APIFlask hands the processor the spec as a dict (SPEC_FORMAT json); its hint also allows YAML text.
    app.spec_processor(describe_contents)  # type: ignore[arg-type]
    _instrument(app)
    # Flask's documented way to add WSGI middleware, though the stubs declare wsgi_app a method.
    app.wsgi_app = RequestLimits(CacheHitMiddleware(app.wsgi_app, service))  # type: ignore[method-assign]
    return app


def _instrument(app: APIFlask) -> None:
    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def finish(response):
        response.headers.update(CORS_HEADERS + SECURITY_HEADERS)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response.headers.update(PREFLIGHT_HEADERS)
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        started = g.get("started")
        if started is not None:
            metrics.HTTP_LATENCY.labels(route=route).observe(time.perf_counter() - started)
        metrics.HTTP_REQUESTS.labels(
            route=route, method=metrics.method_label(request.method), status=str(response.status_code)
        ).inc()
        return response
