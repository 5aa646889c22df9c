"""Structured JSON logs: one JSON object per line; access log on stdout, the rest on stderr.

`AccessLog` is the outermost WSGI layer of the served app (wsgi.py). A request only appends a
tuple to a bounded queue; one thread per worker process formats the lines and writes them in
batches. So logging costs a request about a microsecond, never a wait on a lock held while
another thread writes, and a stdout that cannot keep up drops lines (counted in
`access_log_lines_dropped_total`) instead of stalling requests.
"""

from __future__ import annotations

import atexit
import functools
import json
import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime, timezone

import orjson

# Attributes every LogRecord has; anything else was passed through `extra=` and is kept.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}

# Client-controlled text is cut to these many characters in a log line.
_MAX_FIELD = 1024

# Access log lines formatted and written at a time (see AccessLog.flush).
_BATCH_LINES = 64


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


def configure_app_logging(level: str) -> None:
    """JSON lines on stderr for the `backend` loggers (errors and upstream failures)."""
    logger = logging.getLogger("backend")
    logger.setLevel(level)
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.propagate = False


def json_logging_config(level: str) -> dict:
    """A logging.config dictionary: the server's own loggers (granian) in the same JSON shape."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json",
                                "stream": "ext://sys.stderr"}},
        "loggers": {
            "_granian": {"handlers": ["stderr"], "level": level, "propagate": False},
            "granian.access": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        },
    }


class AccessLog:
    """WSGI middleware: one JSON line per request on stdout (file descriptor `fd`)."""

    def __init__(self, app: Callable, fd: int = 1, max_pending: int = 10_000,
                 flush_interval: float = 0.05) -> None:
        self._app = app
        self._fd = fd
        self._max_pending = max_pending
        self._interval = flush_interval
        self._pending: deque = deque()
        self._write_lock = threading.Lock()
        self._writer_pid: int | None = None
        self._start_lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        started, now = time.perf_counter(), time.time()
        answer: list = []

        def capture(status, headers, exc_info=None):
            answer.append(status)
            answer.append(headers)
            return start_response(status, headers, exc_info)

        try:
            body = self._app(environ, capture)
        except BaseException:
            self._record(environ, now, started, "500", (), None)
            raise
        self._record(environ, now, started, answer[0] if answer else "500",
                     answer[1] if answer else (), body)
        return body

    def _record(self, environ, now, started, status, headers, body) -> None:
        if self._writer_pid != os.getpid():
            self._start_writer()
        if len(self._pending) >= self._max_pending:
            from . import metrics

            metrics.ACCESS_LOG_DROPPED.inc()
            return
        cache = size = None
        for name, value in headers:
            lowered = name.lower()
            if lowered == "x-cache":
                cache = value
            elif lowered == "content-length":
                size = value
        # deque.append is atomic: request threads never take a lock here.
        self._pending.append((now, time.perf_counter() - started, environ.get("REMOTE_ADDR"),
                              environ.get("HTTP_X_FORWARDED_FOR"), environ.get("REQUEST_METHOD"),
                              environ.get("PATH_INFO", ""), environ.get("QUERY_STRING"),
                              environ.get("SERVER_PROTOCOL"), status, size,
                              environ.get("HTTP_USER_AGENT"), cache))

    def _start_writer(self) -> None:
        # Once per process: a forked worker has the parent's object but not its thread.
        with self._start_lock:
            if self._writer_pid == os.getpid():
                return
            self._pending.clear()
            self._writer_pid = os.getpid()
            threading.Thread(target=self._run, name="access-log", daemon=True).start()
            # Lines still queued when the worker exits are written then; granian's workers
            # leave through multiprocessing, which runs its finalizers but not atexit.
            atexit.register(self.flush)
            try:
                from multiprocessing import util

                util.Finalize(self, self.flush, exitpriority=100)
            except Exception:  # pragma: no cover -- only an optimisation of the exit path
                pass

    def _run(self) -> None:
        while True:
            time.sleep(self._interval)
            self.flush()

    def flush(self) -> None:
        with self._write_lock:
            pending, pid = self._pending, os.getpid()
            while pending:
                lines = [_format(pending.popleft(), pid) for _ in range(min(len(pending), _BATCH_LINES))]
                lines.append(b"")
                _write_all(self._fd, b"\n".join(lines))
                # Formatting is Python work under the GIL, and the interpreter takes the GIL
                # back from a busy thread only every 5 ms (sys.getswitchinterval()): formatting
                # a whole flush (a thousand lines at 20,000 requests/s) in one go held every
                # request thread of the worker that long. A batch is about 0.2 ms of it; then
                # the GIL is handed over (sleep(0) releases it) before the next.
                time.sleep(0)


def _format(item: tuple, pid: int) -> bytes:
    (now, duration, remote, forwarded, method, path, query, protocol, status, size, agent, cache) = item
    code = status.split(" ", 1)[0]
    entry = {
        "time": _timestamp(now),
        "type": "access",
        "remote_addr": remote,
        # Behind a load balancer REMOTE_ADDR is the balancer; the client is in here.
        "forwarded_for": _cut(forwarded),
        "method": _cut(method),
        "path": _cut(_text(path)),
        "query": _cut(query) or None,
        "protocol": protocol,
        "status": int(code) if code.isdigit() else code,
        "bytes": int(size) if size is not None and size.isdigit() else None,
        "duration_ms": round(duration * 1000, 3),
        "user_agent": _cut(agent),
        "cache": cache,
        "pid": pid,
    }
    # orjson: a line costs a quarter of a microsecond instead of json's four, and formatting
    # is most of what the writer thread holds the GIL for (bench/bench_app.py, issue 22).
    try:
        return orjson.dumps(entry)
    except orjson.JSONEncodeError:
        # Text that is not Unicode (a lone surrogate: a server decoding bytes with
        # surrogateescape) has no UTF-8; json escapes it, and the line is still written.
        return json.dumps(entry).encode()


@functools.lru_cache(maxsize=4)
def _second(seconds: int) -> str:
    # Formatted once per second of log lines rather than once per line.
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def _timestamp(now: float) -> str:
    seconds = int(now)
    return f"{_second(seconds)}.{int((now - seconds) * 1000):03d}+00:00"


def _cut(value: str | None) -> str | None:
    return value[:_MAX_FIELD] if value is not None and len(value) > _MAX_FIELD else value


def _text(wsgi_string: str) -> str:
    """PEP 3333 carries the path as latin-1 bytes in a str; decode it as the UTF-8 it is."""
    try:
        return wsgi_string.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return wsgi_string


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except InterruptedError:
            continue
        except OSError:
            return  # stdout is gone; nothing better to do with a log line
        view = view[written:]
