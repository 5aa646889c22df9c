"""Fresh cache hits for `GET /contents/<topic>`, answered in front of Flask.

Most requests are hits on popular topics. Flask's request machinery (context, routing,
hooks, response object) costs about ten times what answering a hit does, so this WSGI
middleware answers fresh hits itself and hands every other request to Flask unchanged.

It cannot disagree with Flask about what a valid topic is: only the Flask route fills the
cache, after validating the topic, so a topic it finds fresh was accepted there. The tests
check that both paths give the same status, headers and body.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from . import metrics
from .cache import CacheStatus
from .contents import ContentsService
from .edge import CORS_HEADERS, SECURITY_HEADERS, decoded_path

PREFIX = "/contents/"
ROUTE = "/contents/<topic:topic>"  # the Flask rule, so both paths share metric labels

_requests = metrics.HTTP_REQUESTS.labels(route=ROUTE, method="GET", status="200")
_latency = metrics.HTTP_LATENCY.labels(route=ROUTE)
_hits = metrics.CACHE_LOOKUPS.labels(result=CacheStatus.HIT.value)
_HEADERS = (
    ("Content-Type", "application/json"),
    ("X-Cache", CacheStatus.HIT.value),
    *CORS_HEADERS,
    *SECURITY_HEADERS,
)


class CacheHitMiddleware:
    def __init__(self, app: Callable, service: ContentsService) -> None:
        self._app = app
        self._service = service

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        started = time.perf_counter()
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") == "GET" and path.startswith(PREFIX):
            topic = decoded_path(path[len(PREFIX):])
            body = self._service.fresh(topic) if topic else None
            if body is not None:
                start_response("200 OK", [("Content-Length", str(len(body))), *_HEADERS])
                _hits.inc()
                _requests.inc()
                _latency.observe(time.perf_counter() - started)
                return [body]
        return self._app(environ, start_response)
