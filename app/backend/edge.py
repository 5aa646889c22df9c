"""The outermost WSGI layer: limits every request must respect, and the headers every answer shares.

The server (granian) reads at most 64 KiB of request line and headers and answers anything
larger itself, with an empty 431 (see serve.py). Below that, the limits are enforced here, so
the answer is the service's own: JSON, with CORS (a browser script can read why it failed)
and nosniff, like every other answer.

- request target (path and query) over MAX_TARGET_BYTES: 414
- header bytes over MAX_HEADER_BYTES: 431
- a request body of any size: 413. No route takes one, and refusing it before any code could
  read it means no thread ever waits on a client that sends its body slowly.
- a path that is not UTF-8 once percent-decoded (`/contents/%FF`): 400. Decoded with
  replacement characters, as Werkzeug would, different bytes would become one topic, searched
  and cached as text the client never sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from . import metrics

MAX_TARGET_BYTES = 8 * 1024
MAX_HEADER_BYTES = 16 * 1024

# Every answer of the service carries these (the fast path and Flask add them too).
CORS_HEADERS = (("Access-Control-Allow-Origin", "*"),)
SECURITY_HEADERS = (("X-Content-Type-Options", "nosniff"),)

_REASONS = {
    400: "Bad Request",
    413: "Content Too Large",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
}


def json_error(status: int, message: str, error: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """A status line, headers and body for an error answered outside Flask."""
    body = json.dumps({"detail": {"error": error}, "message": message}).encode()
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        *CORS_HEADERS,
        *SECURITY_HEADERS,
    ]
    return f"{status} {message}", headers, body


class RequestLimits:
    def __init__(self, app: Callable) -> None:
        self._app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        refusal = _refusal(environ)
        if refusal is None:
            return self._app(environ, start_response)
        status, error = refusal
        status_line, headers, body = json_error(status, _REASONS[status], error)
        metrics.HTTP_REQUESTS.labels(
            route="unmatched", method=metrics.method_label(environ.get("REQUEST_METHOD", "")),
            status=str(status),
        ).inc()
        start_response(status_line, headers)
        return [body]


def _refusal(environ: dict) -> tuple[int, str] | None:
    target = len(environ.get("PATH_INFO", "")) + len(environ.get("QUERY_STRING", ""))
    if target > MAX_TARGET_BYTES:
        return 414, f"the request target is over {MAX_TARGET_BYTES} bytes"
    header_bytes = 0
    for key, value in environ.items():
        if key[:5] == "HTTP_":
            header_bytes += len(key) + len(value)
    if header_bytes > MAX_HEADER_BYTES:
        return 431, f"the request headers are over {MAX_HEADER_BYTES} bytes"
    if environ.get("CONTENT_LENGTH", "") not in ("", "0") or "HTTP_TRANSFER_ENCODING" in environ:
        return 413, "this API takes no request body"
    if decoded_path(environ.get("PATH_INFO", "")) is None:
        return 400, "the request path is not UTF-8 once percent-decoded"
    return None


def decoded_path(path: str) -> str | None:
    """The text of a WSGI path (PEP 3333 carries its percent-decoded bytes as latin-1), or None
    when those bytes are not UTF-8."""
    try:
        return path.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None
