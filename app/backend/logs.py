"""Structured JSON logs: one JSON object per line, access log on stdout.

`JsonLogger` is gunicorn's logger class (see gunicorn.conf.py); `configure_app_logging`
gives the application's own logger the same shape.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime, timezone

from gunicorn import glogging

# Attributes every LogRecord has; anything else was passed through `extra=` and is kept.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class JsonLogger(glogging.Logger):
    """gunicorn's logger with JSON error lines and a JSON access line per request."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        entry = {
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "type": "access",
            "remote_addr": environ.get("REMOTE_ADDR"),
            # Behind a load balancer REMOTE_ADDR is the balancer; the client is in here.
            "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR"),
            "method": environ.get("REQUEST_METHOD"),
            "path": _text(environ.get("PATH_INFO", "")),
            "query": environ.get("QUERY_STRING") or None,
            "protocol": environ.get("SERVER_PROTOCOL"),
            "status": int(status) if str(status).isdigit() else status,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 3),
            "user_agent": environ.get("HTTP_USER_AGENT"),
            "cache": _header(resp, "X-Cache"),
            "pid": os.getpid(),
        }
        try:
            self.access_log.info(json.dumps(entry))
        except Exception:
            self.exception("could not write the access log line")


def _text(wsgi_string: str) -> str:
    """PEP 3333 carries the path as latin-1 bytes in a str; decode it as the UTF-8 it is."""
    try:
        return wsgi_string.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return wsgi_string


def _header(resp, name: str) -> str | None:
    for key, value in getattr(resp, "headers", ()):
        if key.lower() == name.lower():
            return value
    return None


def configure_app_logging(level: str) -> None:
    """JSON lines on stderr for the `backend` loggers (errors and upstream failures)."""
    logger = logging.getLogger("backend")
    logger.setLevel(level)
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.propagate = False
