"""A local stand-in for the Hacker News Algolia search API, for tests and benchmarks.

It listens on 127.0.0.1 only and can answer normally, slowly, with a 500, with malformed
JSON, or not at all, so the backend's failure handling is exercised over real HTTP. For the
answers a hostile or broken upstream gives (a trickle, a gzip bomb, a redirect, a hang after
the headers), set `answer` to one of the functions below: it writes the raw HTTP answer itself.
"""

from __future__ import annotations

import gzip
import json
import sys
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MODES = ("normal", "error", "malformed", "hang")


def default_hits(query: str) -> list[dict]:
    """Algolia-shaped hits, including ones the backend must drop (no title, no url)."""
    return [
        {"objectID": "1", "title": f"{query} one", "url": "https://example.com/1"},
        {"objectID": "2", "title": None, "url": "https://example.com/2"},
        {"objectID": "3", "title": f"{query} three", "url": ""},
        {"objectID": "4", "title": f"{query} four", "url": "https://example.com/4"},
        {"objectID": "5", "story_title": "comment", "url": None},
    ]


class _QuietServer(ThreadingHTTPServer):
    # socketserver's default backlog of 5 drops connections from a burst of concurrent
    # misses, and each dropped SYN costs the client a 1 s retransmit: latency the real API,
    # with its deep backlog, would not add.
    request_queue_size = 128

    def handle_error(self, request, client_address) -> None:
        # A client that gave up (timed out) before the answer is expected in these tests.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def json_body(hits: list[dict]) -> bytes:
    return json.dumps({"hits": hits}).encode()


def http_answer(status: int, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    """The bytes of a whole HTTP/1.1 answer."""
    head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", "Content-Type: application/json"]
    head += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def sends(data: bytes) -> Callable:
    """Answers these exact bytes."""
    def answer(handler, stop: threading.Event) -> None:
        handler.wfile.write(data)
    return answer


def trickles(data: bytes, every_seconds: float) -> Callable:
    """Answers these bytes one at a time, `every_seconds` apart: a valid answer, slowly."""
    def answer(handler, stop: threading.Event) -> None:
        for i in range(len(data)):
            if stop.wait(every_seconds):
                return
            handler.wfile.write(data[i:i + 1])
    return answer


def sends_headers_then_hangs(content_length: int = 1000) -> Callable:
    def answer(handler, stop: threading.Event) -> None:
        handler.wfile.write(f"HTTP/1.1 200 OK\r\nContent-Length: {content_length}\r\n"
                            "Content-Type: application/json\r\n\r\n".encode())
        stop.wait(60)
    return answer


def gzip_bomb(inflated_bytes: int) -> bytes:
    """A valid gzip stream of `inflated_bytes` zeros: about a thousandth of that compressed."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1024 * 1024)
    parts = []
    for _ in range(inflated_bytes // len(chunk)):
        parts.append(compressor.compress(chunk))
    parts.append(compressor.compress(bytes(inflated_bytes % len(chunk))))
    parts.append(compressor.flush())
    return b"".join(parts)


def gzipped(body: bytes) -> bytes:
    return gzip.compress(body)


@dataclass
class FakeUpstream:
    """Context manager: `with FakeUpstream() as up: up.url` is the search endpoint."""

    mode: str = "normal"
    delay_seconds: float = 0.0
    hits: "callable" = default_hits
    requests: list[dict] = field(default_factory=list)
    # The status "error" mode answers, and headers added to every answer (e.g. Retry-After).
    error_status: int = 500
    extra_headers: dict[str, str] = field(default_factory=dict)
    # When set, writes the raw answer to every request itself: `answer(handler, stop_event)`.
    answer: "Callable | None" = None
    # When set, the delay for a topic (`topic_delay(topic)` seconds) instead of delay_seconds.
    topic_delay: "Callable[[str], float] | None" = None

    def __post_init__(self) -> None:
        self._queued_modes: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api/v1/search"

    @property
    def call_count(self) -> int:
        with self._lock:
            return len(self.requests)

    def set_mode(self, mode: str, delay_seconds: float | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} is not one of {MODES}")
        self.mode = mode
        if delay_seconds is not None:
            self.delay_seconds = delay_seconds

    def queue_modes(self, *modes: str) -> None:
        """Answer the next requests in these modes, one each, then fall back to `mode`."""
        for mode in modes:
            if mode not in MODES:
                raise ValueError(f"mode {mode!r} is not one of {MODES}")
        with self._lock:
            self._queued_modes.extend(modes)

    def _next_mode(self) -> str:
        with self._lock:
            return self._queued_modes.pop(0) if self._queued_modes else self.mode

    def __enter__(self) -> "FakeUpstream":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, port: int = 0) -> None:
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # The handler writes the headers and the body separately. With Nagle's algorithm
            # the body waits for the client's delayed ACK of the headers, about 40 ms on a
            # kept-alive connection, so the fake would answer slower than its configured delay.
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                with upstream._lock:
                    upstream.requests.append({"path": parts.path, "query": query})
                if upstream.answer is not None:
                    try:
                        upstream.answer(self, upstream._stop)
                    except ConnectionError:  # the client gave up, as it should
                        pass
                    self.close_connection = True
                    return
                mode = upstream._next_mode()
                if mode == "hang":
                    upstream._stop.wait(60)
                    return
                topic = query.get("query", [""])[0]
                delay = upstream.topic_delay(topic) if upstream.topic_delay else upstream.delay_seconds
                if delay:
                    upstream._stop.wait(delay)
                if mode == "error":
                    self._send(upstream.error_status, b'{"message":"upstream exploded"}')
                elif mode == "malformed":
                    self._send(200, b'{"hits": [')
                else:
                    topic = query.get("query", [""])[0]
                    body = json.dumps({"hits": upstream.hits(topic), "query": topic})
                    self._send(200, body.encode())

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in upstream.extra_headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        self._server = _QuietServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        # A short poll interval makes stop() (server.shutdown) take milliseconds, not 0.5 s.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
