"""The HTTP routes: the public contract, the probes and the metrics scrape."""

from __future__ import annotations

from apiflask import APIBlueprint, abort
from flask import Response, current_app, request
from werkzeug.routing import BaseConverter

from . import metrics
from .cache import CacheStatus, FollowerTimeout
from .contents import MAX_TOPIC_LENGTH, TOPIC_PATTERN, ContentsService, topic_is_valid
from .schemas import Contents, Status
from .upstream import UpstreamError, UpstreamTimeout

bp = APIBlueprint("api", __name__, tag="Contents")


class TopicConverter(BaseConverter):
    """Everything after `/contents/`, slashes included; Werkzeug's `path` refuses a leading one."""

    regex = "(?s:.+)"  # newlines too: any text is a topic, once URL-decoded
    part_isolating = False


_ERROR_ANSWERS = {
    400: f"The path is not UTF-8, or the topic is empty, blank (only spaces, control, format or other "
    f"invisible characters) or longer than "
    f"{MAX_TOPIC_LENGTH} characters.",
    502: "The upstream search API failed (error status, malformed answer, unreachable) "
    "and no earlier answer for the topic is cached.",
    504: "The upstream search API did not answer in time and no earlier answer is cached.",
}


@bp.get("/contents/<topic:topic>")
@bp.output(Contents, description="Hacker News stories for the topic, in upstream order.")
@bp.doc(summary="Search Hacker News stories for a topic", responses=_ERROR_ANSWERS)
def contents(topic: str):
    if not topic_is_valid(topic):
        _reject_topic(topic)
    service: ContentsService = current_app.extensions["contents"]
    try:
        body, status = service.lookup(topic)
    # Failures are logged once per upstream exchange (upstream.py), not once per request:
    # during an outage every request would otherwise log one.
    except (UpstreamTimeout, FollowerTimeout):
        metrics.CACHE_LOOKUPS.labels(result=CacheStatus.MISS.value).inc()
        abort(504, message="the upstream search API timed out")
    except UpstreamError:
        metrics.CACHE_LOOKUPS.labels(result=CacheStatus.MISS.value).inc()
        abort(502, message="the upstream search API failed")
    metrics.CACHE_LOOKUPS.labels(result=status.value).inc()
    response = Response(body, mimetype="application/json")
    response.headers["X-Cache"] = status.value
    return response


def describe_contents(spec: dict) -> dict:
    """Adds what APIFlask cannot infer from the route: the topic's bounds and X-Cache."""
    operation = spec["paths"]["/contents/{topic}"]["get"]
    for parameter in operation["parameters"]:
        if parameter["name"] == "topic":
            parameter["description"] = "Search terms; URL-encode it (a `/` is allowed)."
            parameter["schema"].update(minLength=1, maxLength=MAX_TOPIC_LENGTH, pattern=TOPIC_PATTERN)
    operation["responses"]["200"]["headers"] = {
        "X-Cache": {
            "description": "`hit` (fresh cache), `miss` (fetched now) or `stale` (the upstream "
            "failed; the last good answer is served).",
            "required": True,
            "schema": {"type": "string", "enum": [s.value for s in CacheStatus]},
        }
    }
    return spec


@bp.get("/contents/", strict_slashes=False)
@bp.doc(hide=True)
def empty_topic():
    # `/contents/` never reaches the route above (a path parameter is never empty), so the
    # empty topic is answered here with the same 400 a blank one gets. Werkzeug also routes a
    # topic made only of slashes (`/contents/%2F`) here: that one is a topic like any other.
    topic = request.path[len("/contents/"):]
    if topic:
        return contents(topic)
    _reject_topic("")


def _reject_topic(topic: str) -> None:
    abort(400, message=f"topic must be 1 to {MAX_TOPIC_LENGTH} characters, not all blank",
          detail={"topic": {"length": len(topic), "value": topic[:MAX_TOPIC_LENGTH]}})


@bp.get("/healthz")
@bp.output(Status, description="The process is alive.")
@bp.doc(tags=["Probes"], summary="Liveness probe")
def healthz():
    return {"status": "alive"}


@bp.get("/readyz")
@bp.output(Status, description="The app can serve requests. The upstream is not called: "
           "an upstream outage is served from cache or answered 502/504, never by unreadiness. "
           "The workload's probes use the admin port's /healthz and /readyz instead.")
@bp.doc(tags=["Probes"], summary="Readiness probe")
def readyz():
    return {"status": "ready"}
